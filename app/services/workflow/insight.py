"""Insight into the processes for the platform's staff: a version's heatmap (how many of its instances
reached each element and how long its user tasks took) and the user tasks' waiting times and
throughput per lane and organisation.

What an instance passed is read from its history (`instance_events`): every event that names an
element (a user task made ready, claimed, completed or withdrawn; a timer fired; a service call
failed or retried; an error; the end event the instance finished on) counts the instance once for
that element, every instance counts for the process's start events, and a call activity counts the
instances that reached any element of the process it calls (which runs in its caller's instance). Automatic
steps that went through without a trace in the history (a gateway, a script, a service call that succeeded the
first time) are counted from the instances' saved engine states (`engine.element_runs`: the elements whose tasks
completed, wait or failed), read for the newest `STATE_SAMPLE` instances of the version — all of them when there
are no more; the page says when it read fewer. Time spent is a user task's, from `human_tasks`: created (made
ready) to completed."""
from __future__ import annotations

import math
import statistics
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.engine.element_runs import element_runs
from app.extensions import db
from app.models import (
    Deployment,
    HumanTask,
    InstanceEvent,
    Organisation,
    OrgKind,
    ProcessInstance,
    ProcessVersion,
)
from app.models.task import OPEN_TASK_STATES
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import NotFound
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.workflow import catalogue

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
STATE_SAMPLE = 1000  # instances whose saved states the heatmap reads for the steps the history does not name
LEVELS = 4  # the heatmap's colours: 1 (few instances) .. LEVELS (the most); 0 none
PERIODS = (7, 30, 90, 365)  # the task statistics' periods, in days up to now
DEFAULT_PERIOD = 30
CLAIMS = ("task_claimed", "task_assigned")  # a task taken by someone: by themselves or a lead's assignment
NO_SUCH_VERSION = _l("There is no such version of this process.")


@dataclass(frozen=True)
class HeatElement:
    """One element of the diagram: how many instances reached it and, for a user task, the time from
    its being made ready to its completion over the tasks completed (seconds)."""

    element_id: str
    name: str
    name_language: str | None  # the language the name is written in; None: no name, the id stands for it
    instances: int
    completed: int  # user tasks completed there (the times' sample)
    median_seconds: float | None
    mean_seconds: float | None
    level: int  # 0..LEVELS, the colour on the diagram


@dataclass(frozen=True)
class Heatmap:
    process_id: str
    name: str
    version: int
    instances: int  # every instance of the version
    elements: list[HeatElement]  # most instances first, then by name
    states_read: int = 0  # instances whose engine state was read (the newest ones; all when == instances)


@dataclass(frozen=True)
class _Diagram:
    """What the heatmap reads of a process's file."""

    names: dict[str, tuple[str, str | None]]  # element id → (name, its language; None: the id)
    starts: list[str]  # the process's own start events
    calls: dict[str, str]  # call activity id → the process it calls


def _diagram(source: bytes, process_id: str, language: str) -> _Diagram:
    """Every element's name in `language` (else its English name, else its id), the start events and
    the call activities of one process of a deployed file."""
    root = ET.fromstring(source)  # the file passed the strict deployment check
    process = next((p for p in root.iter(f"{BPMN}process") if p.get("id") == process_id), None)
    if process is None:
        return _Diagram({}, [], {})
    names: dict[str, tuple[str, str | None]] = {}
    calls: dict[str, str] = {}
    for element in process.iter():
        element_id = element.get("id")
        if not element_id or not element.tag.startswith(BPMN):
            continue
        translated = next((p.get("value") for p in element.iter(f"{SPIFF}property")
                           if p.get("name") == f"name@{language}"), None) if language != "en" else None
        english = element.get("name")
        names[element_id] = (translated, language) if translated else (english, "en") if english else (element_id, None)
        if element.tag == f"{BPMN}callActivity" and element.get("calledElement"):
            calls[element_id] = element.get("calledElement", "")
    return _Diagram(names, [e.get("id", "") for e in process.findall(f"{BPMN}startEvent")], calls)


def _called_elements(process_id: str, seen: set[str]) -> set[str]:
    """The element ids of every deployed version of a called process and of the processes it calls in
    turn: a called process runs inside its caller's instance, and its history is the caller's."""
    if process_id in seen:
        return set()
    seen.add(process_id)
    found: set[str] = set()
    for (source,) in db.session.execute(
            select(Deployment.source).join(ProcessVersion, ProcessVersion.deployment_id == Deployment.id)
            .where(ProcessVersion.kind == "process", ProcessVersion.process_id == process_id)):
        inner = _diagram(bytes(source), process_id, "en")
        found |= set(inner.names)
        for called in inner.calls.values():
            found |= _called_elements(called, seen)
    return found


def _level(count: int, most: int) -> int:
    return 0 if count <= 0 or most <= 0 else max(1, math.ceil(count * LEVELS / most))


def heatmap(actor: Principal, process_id: str, version: int, language: str) -> Heatmap:
    """The version's elements with the instances that reached each and the time its user tasks took. A
    call activity counts the instances that reached any element of the process it calls."""
    policy.require(actor, "definitions.read")
    entry = catalogue.process_entry(actor, process_id, language)
    row = db.session.execute(
        select(ProcessVersion.id, Deployment.source).join(Deployment, Deployment.id == ProcessVersion.deployment_id)
        .where(ProcessVersion.kind == "process", ProcessVersion.process_id == process_id,
               ProcessVersion.version == version)).first()
    if row is None or entry.kind != "process":
        raise NotFound(NO_SUCH_VERSION)
    diagram = _diagram(bytes(row.source), process_id, language)
    total = db.session.scalar(select(func.count()).where(ProcessInstance.process_version_id == row.id)) or 0
    of_version = (select(InstanceEvent.instance_id).join(ProcessInstance, ProcessInstance.id == InstanceEvent.instance_id)
                  .where(ProcessInstance.process_version_id == row.id))
    reached: dict[str, int] = {str(element_id): int(count) for element_id, count in db.session.execute(
        select(InstanceEvent.element_id, func.count(InstanceEvent.instance_id.distinct()))
        .join(ProcessInstance, ProcessInstance.id == InstanceEvent.instance_id)
        .where(ProcessInstance.process_version_id == row.id,
               InstanceEvent.element_id.in_(list(diagram.names)))
        .group_by(InstanceEvent.element_id))}
    states = db.session.scalars(select(ProcessInstance.state).where(ProcessInstance.process_version_id == row.id)
                                .order_by(ProcessInstance.id.desc()).limit(STATE_SAMPLE)).all()
    called_processes = frozenset(diagram.calls.values())
    from_states: dict[str, int] = defaultdict(int)
    for state in states:
        for element_id, run in element_runs(state or "", called_processes).items():
            if element_id in diagram.names and (run.completed or run.active or run.failed):
                from_states[element_id] += 1
    for element_id, count in from_states.items():
        reached[element_id] = max(reached.get(element_id, 0), count)
    for start in diagram.starts:
        reached[start] = total
    for call, called in diagram.calls.items():
        inside = _called_elements(called, {process_id}) - set(diagram.names)
        if inside:
            reached[call] = db.session.scalar(
                select(func.count(InstanceEvent.instance_id.distinct()))
                .where(InstanceEvent.instance_id.in_(of_version.scalar_subquery()),
                       InstanceEvent.element_id.in_(sorted(inside)))) or 0
    spent: dict[str, list[float]] = defaultdict(list)
    for element_id, created, completed in db.session.execute(
            select(HumanTask.element_id, HumanTask.created_at, HumanTask.completed_at)
            .where(HumanTask.process_version_id == row.id, HumanTask.state == "completed",
                   HumanTask.completed_at.is_not(None))):
        if completed is not None:  # the query asks for it; said again for the type checker
            spent[element_id].append((completed - created).total_seconds())
    most = max(reached.values(), default=0)
    elements = [HeatElement(element_id, *diagram.names[element_id], count, len(spent.get(element_id, [])),
                            statistics.median(spent[element_id]) if spent.get(element_id) else None,
                            statistics.fmean(spent[element_id]) if spent.get(element_id) else None,
                            _level(count, most))
                for element_id, count in reached.items() if count > 0]
    elements.sort(key=lambda e: (-e.instances, e.name))
    return Heatmap(process_id, entry.name, version, total, elements, len(states))


# -- the user tasks' waiting times and throughput --------------------------------------------------

@dataclass(frozen=True)
class TaskFigures:
    """One lane (the role it stands for) in one organisation (None: the platform's own lanes, or a
    task without a lane) over the period."""

    lane: str | None
    org_id: int | None
    organisation: str | None
    opened: int  # made ready in the period
    completed: int  # completed in the period
    claim_median: float | None  # seconds from ready to claimed, tasks made ready in the period and claimed
    claim_p90: float | None
    done_median: float | None  # seconds from ready to completed, tasks completed in the period
    done_p90: float | None
    open_now: int
    oldest_open: float | None  # seconds the oldest open task has waited, now
    oldest_task_id: int | None = None  # that task: the page links to it (to follow it up, 催办)


@dataclass(frozen=True)
class TaskStatistics:
    days: int
    since: datetime
    until: datetime
    rows: list[TaskFigures]


def percentile(values: Iterable[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value at or above `share` of the values."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def task_statistics(actor: Principal, days: int = DEFAULT_PERIOD, at: datetime | None = None) -> TaskStatistics:
    """Per lane and organisation: the tasks opened and completed in the `days` up to `at` (now), the
    median and 90th percentile of their waits, the tasks open now and how long the oldest has waited."""
    policy.require(actor, "insight.read")
    until = at or now()
    since = until - timedelta(days=days)
    Key = tuple[str | None, int | None]
    opened: dict[Key, int] = defaultdict(int)
    completed: dict[Key, int] = defaultdict(int)
    claim_waits: dict[Key, list[float]] = defaultdict(list)
    done_waits: dict[Key, list[float]] = defaultdict(list)
    recent = db.session.execute(
        select(HumanTask.id, HumanTask.instance_id, HumanTask.lane, HumanTask.org_id, HumanTask.state,
               HumanTask.created_at, HumanTask.completed_at)
        .where((HumanTask.created_at >= since) | (HumanTask.completed_at >= since),
               HumanTask.created_at <= until)).all()
    claimed_at = _first_claims(since, until)
    for task in recent:
        key = (task.lane, task.org_id)
        if task.created_at >= since:
            opened[key] += 1
            if task.id in claimed_at:
                claim_waits[key].append((claimed_at[task.id] - task.created_at).total_seconds())
        if task.state == "completed" and task.completed_at is not None and since <= task.completed_at <= until:
            completed[key] += 1
            done_waits[key].append((task.completed_at - task.created_at).total_seconds())
    open_now = {(lane, org): (int(count), oldest) for lane, org, count, oldest in db.session.execute(
        select(HumanTask.lane, HumanTask.org_id, func.count(), func.min(HumanTask.created_at))
        .where(HumanTask.state.in_(OPEN_TASK_STATES)).group_by(HumanTask.lane, HumanTask.org_id))}
    oldest_ids = _oldest_open_tasks()
    keys = set(opened) | set(completed) | set(open_now)
    orgs = dict(db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({org for _, org in keys if org is not None}))).all())
    # the platform's own lanes (no organisation) by the platform's name, as its organisation's rows say it
    platform = db.session.scalar(select(Organisation.name).join(OrgKind, OrgKind.org_id == Organisation.id)
                                 .where(OrgKind.kind == "platform").order_by(Organisation.id).limit(1))
    rows = []
    for key in keys:
        count, oldest = open_now.get(key, (0, None))
        rows.append(TaskFigures(
            key[0], key[1], orgs.get(key[1]) if key[1] is not None else platform, opened.get(key, 0),
            completed.get(key, 0), _median(claim_waits[key]), percentile(claim_waits[key], 0.9),
            _median(done_waits[key]), percentile(done_waits[key], 0.9), count,
            (until - oldest).total_seconds() if oldest is not None else None, oldest_ids.get(key)))
    # the longest waiting first (what to follow up), then the groups with nothing open, by lane
    rows.sort(key=lambda r: (r.oldest_open is None, -(r.oldest_open or 0), r.lane or "~", r.organisation or "",
                             r.org_id or 0))
    return TaskStatistics(days, since, until, rows)


def _oldest_open_tasks() -> dict[tuple[str | None, int | None], int]:
    """The id of the open task that has waited longest in each lane and organisation."""
    oldest: dict[tuple[str | None, int | None], int] = {}
    ranked = select(HumanTask.id, HumanTask.lane, HumanTask.org_id, func.row_number().over(
        partition_by=(HumanTask.lane, HumanTask.org_id), order_by=(HumanTask.created_at, HumanTask.id)).label("n")
                    ).where(HumanTask.state.in_(OPEN_TASK_STATES)).subquery()
    for task_id, lane, org_id in db.session.execute(select(ranked.c.id, ranked.c.lane, ranked.c.org_id)
                                                    .where(ranked.c.n == 1)):
        oldest[(lane, org_id)] = task_id
    return oldest


def _first_claims(since: datetime, until: datetime) -> dict[int, datetime]:
    """When each task made ready in the period was first claimed (or assigned), by task id: the claim
    events of the instances that have such a task."""
    first: dict[int, datetime] = {}
    instances = select(HumanTask.instance_id).where(HumanTask.created_at >= since, HumanTask.created_at <= until)
    for at, details in db.session.execute(
            select(InstanceEvent.at, InstanceEvent.details)
            .where(InstanceEvent.instance_id.in_(instances.scalar_subquery()), InstanceEvent.kind.in_(CLAIMS))):
        task_id = (details or {}).get("task_id")
        if isinstance(task_id, int) and (task_id not in first or at < first[task_id]):
            first[task_id] = at
    return first


def may_read(actor: Principal) -> bool:
    """Whether the header offers the task statistics (and a process page its heatmap)."""
    return policy.allowed(actor, "insight.read")
