"""One instance as its page shows it (`/instances/<id>`): the diagram's elements marked completed, active and
failed with the number of runs of those that ran more than once, the history as a timeline, the open tasks
with who they are offered to and who holds them, timers with their due times, the messages awaited,
incidents, and whether the history's hash chain holds.

Who sees it is `access.instance_visible` (another organisation's instance does not exist for them: 404).
The platform's staff (`instances.inspect`) read everything: the data each event carried, the messages'
names, the incidents' errors, the chain's verdict. A party to the deal reads the same page read-only
without the scripts' internals: no data keys or values, no errors' text, no message names, only the events
and elements its scope allows (`party_scope`: other parties' tasks left out, people outside its reach not
named). Runs come from the saved state (`engine.element_runs`: a loop leaves one completed task per pass),
never by restoring the workflow."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.engine.data_stores import keys as data_store_keys
from app.engine.element_runs import element_runs
from app.extensions import db
from app.models import (
    ExternalTask,
    HumanTask,
    InboxMessage,
    Incident,
    InstanceEvent,
    InstanceParty,
    InstanceWait,
    MessageWait,
    Organisation,
    ProcessInstance,
    ProcessVersion,
    User,
)
from app.models.task import OPEN_TASK_STATES
from app.services import clock
from app.services.context import lazy_gettext as _l
from app.services.context import moment
from app.services.errors import NotFound
from app.services.identity import policy
from app.services.identity.access import instance_visible
from app.services.identity.directory import Principal
from app.services.workflow import (
    data_stores,
    data_words,
    diagram_elements,
    event_words,
    history_chain,
    incident_reasons,
    labels,
)
from app.services.workflow.diagram_elements import Element, Named
from app.services.workflow.party_scope import scope_of
from app.services.workflow.queries import IN_TIME_ORDER
from app.services.workflow.runtime import runtime

NOT_FOUND = _l("There is no such process instance, or it is not one you may see.")
# What a party reads of the history: the deal's milestones and its tasks (its scope filters them).
PARTY_EVENTS = frozenset({"started", "completed", "cancelled", "task_ready", "task_claimed", "task_unclaimed",
                          "task_assigned", "task_reminded", "task_completed", "task_cancelled", "timer_fired", "message_received"})
SHORT = 200  # a value in the timeline is cut to this many characters
TIMELINE_ROWS = 500  # the latest steps shown of a long life (a loan's months of daily timers)
KEPT_ROWS = 50  # messages kept for the deal, oldest first
WAITING_STATUSES = ("running", "waiting", "error")


@dataclass(frozen=True)
class Change:
    key: str  # a data key (a code: shown translate="no", to the platform's staff only)
    value: str  # its value as JSON, cut to SHORT
    label: str | None = None  # the key's label in the reader's language, from the form that asked for it
    words: str | None = None  # the value in words: a choice's label, an amount as money (`data_words`)


@dataclass(frozen=True)
class TimelineRow:
    id: int
    at: datetime
    kind: str  # a code; the page shows `event_label`
    element_id: str | None  # links the row to the diagram (None: the instance as a whole)
    element_name: Named | None  # None: the instance as a whole
    who: str | None  # a person's name; None: the platform itself (no user)
    hidden_who: bool = False  # someone the reader may not name (another organisation's)
    changes: list[Change] = field(default_factory=list)  # the data the event carried (staff only)


@dataclass(frozen=True)
class OpenTask:
    id: int
    element_id: str
    title: Named
    lane: str | None  # a role code; the page shows `role_label`
    organisation: str | None  # the organisation offered the task
    state: str
    holder: str | None  # who claimed it (or was assigned it)
    hidden_holder: bool
    due_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Timer:
    element_id: str
    name: Named
    due_at: datetime | None


@dataclass(frozen=True)
class Wait:
    element_id: str
    name: Named


@dataclass(frozen=True)
class WorkerWait:
    """A step an external worker does, which the instance waits for (Camunda's external task)."""
    element_id: str
    name: Named
    topic: str | None  # a code: staff only
    worker: str | None  # the worker holding it (staff only); None: no worker holds it now
    locked_until: datetime | None
    retries: int | None  # tries left, once a worker said how many (staff only)


@dataclass(frozen=True)
class IncidentRow:
    id: int
    element_id: str | None
    element_name: Named | None
    kind: str | None  # staff only
    message: str | None  # staff only: the error's text
    attempts: int | None
    created_at: datetime
    resolved_at: datetime | None
    reason: str | None = None  # staff only: what failed and what to do, in the reader's language


@dataclass(frozen=True)
class KeptMessage:
    name: str  # a code: staff only
    received_at: datetime
    payload: list[Change]


@dataclass
class InstanceView:
    id: int
    process_id: str
    process_name: str
    version: int
    version_id: int
    status: str
    business_key: str | None
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    started_by: str | None
    internals: bool  # the reader is platform staff: data, errors and the chain are shown
    parties: list[tuple[str, str]]  # (party code, organisation name)
    markers: dict[str, str]  # element id -> completed | active | failed
    counts: dict[str, int]  # element id -> runs, for elements that ran more than once
    timeline: list[TimelineRow]  # the latest TIMELINE_ROWS
    timeline_total: int  # the rows the reader may read, of which the latest are shown
    tasks: list[OpenTask]
    timers: list[Timer]
    waits: list[Wait]  # where it waits now (messages, receive tasks, …)
    messages: list[str]  # the names of the messages awaited (codes: staff only)
    incidents: list[IncidentRow]
    may_repair: bool
    chain: history_chain.Verdict | None
    data: list[Change] | None  # the instance's data now, key by key (staff only)
    stores: list[Change] | None = None  # the data stores its diagram names, their values now (staff only)
    # messages for its business key that no instance has taken yet, kept in the inbox (staff only)
    kept: list[KeptMessage] | None = None
    # the key a message awaited must carry where its event gave it one, not the business key (staff only)
    message_keys: dict[str, str] | None = None
    workers: list[WorkerWait] = field(default_factory=list)  # steps external workers do, awaited


def _name(known: dict[str, Element], element_id: str | None, language: str) -> Named | None:
    return diagram_elements.named(known, element_id, language) if element_id else None


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= SHORT else text[:SHORT - 1] + "…"


# What an event keeps for the engine, not for a reader: ids of its own records and the task's own settings.
_INTERNAL = frozenset(("task_id", "title", "lane", "engine_task_id", "properties", "reason_key"))


def _said(details: dict[str, Any], key: str, value: Any, name_of: Any = None) -> Any:
    """An event's value as a person reads it: a reason in the reader's language (its element by name, as the repair
    page says it), a moment in the business time zone; anything else as kept."""
    if key == "reason" and isinstance(value, dict):
        element = (value.get("params") or {}).get("element")
        named = name_of(str(element)) if name_of is not None and element else None
        return incident_reasons.reason_text(details, named) or value.get("text") or _l("(no reason given)")
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        try:
            return moment(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value


def _task_id(details: dict[str, Any] | None) -> int | None:
    """The task a `task_completed` event is of (its form says what its data means)."""
    value = (details or {}).get("task_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _change(key: Any, value: Any, words: data_words.Glossary) -> Change:
    label, said = data_words.in_words(words, str(key), value)
    return Change(str(key), _short(value), label, said)


def _changes(kind: str, details: dict[str, Any], name_of: Any = None,
             words: data_words.Glossary | None = None) -> list[Change]:
    """The data an event carried, key by key (what a form submitted, what the instance started with, a
    message's payload, a failure's reason in the reader's language, its moments in the business time zone), each
    key with its label and each value in words where a form of the instance says them (`words`)."""
    if kind in ("task_completed", "started"):
        carried = details.get("data") or {}
    elif kind == "message_received":
        payload = details.get("payload")
        carried = {"message": details.get("name"), **(payload if isinstance(payload, dict) else {"payload": payload})}
    elif kind == "instance_migrated" and name_of is not None and isinstance(details.get("elements"), list):
        carried = {k: v for k, v in details.items() if k not in _INTERNAL}  # the steps it moved at, by name
        carried["elements"] = "、".join(name_of(str(e)) for e in details["elements"])
    else:  # a reason said in the reader's language stands for the failure's technical kind and English message
        hidden = _INTERNAL | ({"kind", "message"} if isinstance(details.get("reason"), dict) else frozenset())
        carried = {k: _said(details, k, v, name_of) for k, v in details.items() if k not in hidden}
        if name_of is not None and isinstance(carried.get("end_events"), list):  # where it ended, by name
            carried["end_events"] = "、".join(name_of(str(e)) for e in carried["end_events"])
    if kind not in ("task_completed", "started", "message_received"):  # the engine's own keys: attempt, reason...
        words = {**event_words.glossary(), **(words or {})}
    return [_change(k, v, words or {}) for k, v in sorted(carried.items()) if v is not None] \
        if isinstance(carried, dict) else [Change("data", _short(carried))]


def _instance(principal: Principal, instance_id: int) -> ProcessInstance:
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id,
                                                               instance_visible(principal)))
    if instance is None:
        raise NotFound(NOT_FOUND)
    return instance


def _people(ids: set[int | None]) -> dict[int, tuple[str, int]]:
    known = sorted(i for i in ids if i is not None)
    if not known:
        return {}
    return {r.id: (r.display_name or r.username, r.org_id) for r in db.session.execute(
        select(User.id, User.display_name, User.username, User.org_id).where(User.id.in_(known)))}


def view(principal: Principal, instance_id: int, language: str) -> InstanceView:
    """The instance as `principal` may read it; 404 when they may not see it."""
    instance = _instance(principal, instance_id)
    internals = policy.allowed(principal, "instances.inspect")
    scope = scope_of(principal, instance.id)
    version = db.session.execute(select(ProcessVersion.names, ProcessVersion.content_hash).where(
        ProcessVersion.id == instance.process_version_id)).one()
    own = diagram_elements.elements(instance.process_version_id, version.content_hash)  # what the diagram draws
    known = diagram_elements.elements_with_called(instance.process_version_id, version.content_hash, instance.pins)
    shown = (lambda kind, element: True) if internals else scope.shows_event

    events = db.session.execute(select(InstanceEvent.id, InstanceEvent.kind, InstanceEvent.element_id,
                                       InstanceEvent.at, InstanceEvent.actor_id, InstanceEvent.details)
                                .where(InstanceEvent.instance_id == instance.id).order_by(*IN_TIME_ORDER)).all()
    tasks = db.session.execute(select(HumanTask.id, HumanTask.element_id, HumanTask.title, HumanTask.properties,
                                      HumanTask.lane, HumanTask.org_id, HumanTask.state, HumanTask.claimed_by_id,
                                      HumanTask.due_at, HumanTask.created_at)
                               .where(HumanTask.instance_id == instance.id, HumanTask.state.in_(OPEN_TASK_STATES))
                               .order_by(HumanTask.id)).all()
    people = _people({e.actor_id for e in events} | {t.claimed_by_id for t in tasks} | {instance.started_by_id})

    def person(user_id: int | None) -> tuple[str | None, bool]:
        if user_id is None or user_id not in people:
            return None, False
        name, org_id = people[user_id]
        return (name, False) if scope.names_actor(org_id) else (None, True)

    glossary = data_words.of_instance(instance.id, language) if internals else {}
    asked = data_words.of_tasks([i for e in events if e.kind == "task_completed" and (i := _task_id(e.details))],
                                language) if internals else {}
    timeline = []
    for e in events:
        if not shown(e.kind, e.element_id) or (not internals and e.kind not in PARTY_EVENTS):
            continue
        who, hidden = person(e.actor_id)
        timeline.append(TimelineRow(e.id, e.at, e.kind, e.element_id if e.element_id in own else None,
                                    _name(known, e.element_id, language), who, hidden,
                                    _changes(e.kind, e.details or {},
                                             lambda i: diagram_elements.named(known, i, language).text,
                                             asked.get(_task_id(e.details) or 0, {}))
                                    if internals else []))

    bound = db.session.execute(select(InstanceParty.party, InstanceParty.org_id).where(
        InstanceParty.instance_id == instance.id).order_by(InstanceParty.party)).all()
    org_ids = sorted({t.org_id for t in tasks if t.org_id} | {org_id for _party, org_id in bound})
    orgs: dict[int, str] = dict(db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_(org_ids))).all()) if org_ids else {}  # type: ignore[arg-type]
    parties = [(party, orgs.get(org_id, "")) for party, org_id in bound]
    open_tasks = []
    for t in tasks:
        if not internals and t.element_id in scope.hidden_elements:
            continue
        holder, hidden = person(t.claimed_by_id)
        title = (diagram_elements.named(known, t.element_id, language) if t.element_id in known
                 else Named(t.element_id, labels.task_title(t.title, t.properties, language), None))
        open_tasks.append(OpenTask(t.id, t.element_id, title, t.lane,
                                   orgs.get(t.org_id) if t.org_id else None, t.state, holder, hidden, t.due_at,
                                   t.created_at))

    engine_state = _state(instance.id)
    runs = element_runs(engine_state, frozenset((instance.pins or {}).keys()))
    incidents = db.session.execute(select(Incident).where(Incident.instance_id == instance.id)
                                   .order_by(Incident.id)).scalars().all()
    open_failures = {i.element_id for i in incidents if i.resolved_at is None and i.element_id}
    markers: dict[str, str] = {}
    counts: dict[str, int] = {}
    for element_id, run in runs.items():
        if element_id not in own or (not internals and element_id in scope.hidden_elements):
            continue
        now = run.failed or run.active or element_id in open_failures
        state = "failed" if run.failed or element_id in open_failures else "active" if run.active else "completed"
        markers[element_id] = state
        if run.completed + (1 if now else 0) > 1:
            counts[element_id] = run.completed + (1 if now else 0)
    for element_id in open_failures:
        if element_id in own:
            markers[element_id] = "failed"

    waiting = [] if instance.status not in WAITING_STATUSES else list(db.session.scalars(
        select(InstanceWait.element_id).where(InstanceWait.instance_id == instance.id).order_by(InstanceWait.element_id)))
    waiting = [e for e in waiting if internals or e not in scope.hidden_elements]
    waiting_timers = [e for e in waiting if e in known and known[e].timer]
    # a timer in a called process is due when its own run says (not the instance's next wake-up, the earliest)
    everywhere = element_runs(engine_state) if any(e not in runs for e in waiting_timers) else runs
    timers = [Timer(e, diagram_elements.named(known, e, language),
                    _due(everywhere[e].due if e in everywhere else None) or instance.due_at)
              for e in waiting_timers]
    waits = [Wait(e, diagram_elements.named(known, e, language)) for e in waiting if e in known and known[e].message]
    workers = _workers(instance.id, known, language, internals, at=clock.now()) \
        if instance.status in WAITING_STATUSES else []
    workers = [w for w in workers if (internals or w.element_id not in scope.hidden_elements)
               and w.element_id not in open_failures]  # stopped on an incident: no worker is offered it
    return InstanceView(
        instance.id, instance.process_id, labels.process_title(version.names, instance.process_id, language),
        instance.version, instance.process_version_id, instance.status, instance.business_key,
        instance.created_at, instance.updated_at, instance.ended_at, person(instance.started_by_id)[0], internals,
        parties, markers, counts, timeline[-TIMELINE_ROWS:], len(timeline), open_tasks, timers, waits,
        list(instance.waiting_for or []) if internals else [],
        [IncidentRow(i.id, i.element_id, _name(known, i.element_id, language), i.kind if internals else None,
                     i.message if internals and not incident_reasons.in_its_own_words(i.details) else None,
                     i.attempts, i.created_at, i.resolved_at,
                     incident_reasons.reason_text(i.details, diagram_elements.named(known, i.element_id, language)
                                                  .text if i.element_id else None) if internals else None)
         for i in incidents],
        may_repair(principal), history_chain.verdict_of(instance.id) if internals else None,
        [_change(k, v, glossary) for k, v in sorted((instance.data or {}).items())] if internals else None,
        _stores(instance.process_version_id, instance.pins or {}) if internals else None,
        _kept(instance.business_key) if internals else None,
        _message_keys(instance) if internals else None, workers)


def _workers(instance_id: int, known: dict[str, Element], language: str, internals: bool,
             at: datetime) -> list[WorkerWait]:
    """The steps of the instance external workers do, each with who holds it and until when (a lock that ran out:
    nobody), and the tries left (Camunda's retries); the topic, the worker and the tries to staff only."""
    rows = db.session.execute(select(ExternalTask.element_id, ExternalTask.topic, ExternalTask.worker_id,
                                     ExternalTask.lock_expires_at, ExternalTask.retries)
                              .where(ExternalTask.instance_id == instance_id).order_by(ExternalTask.id)).all()
    found = []
    for r in rows:
        held = r.worker_id is not None and r.lock_expires_at is not None and r.lock_expires_at > at
        found.append(WorkerWait(
            r.element_id, diagram_elements.named(known, r.element_id, language) if r.element_id in known
            else Named(r.element_id, r.element_id, "code"), r.topic if internals else None,
            r.worker_id if internals and held else None, r.lock_expires_at if held else None,
            r.retries if internals else None))
    return found


def _message_keys(instance: ProcessInstance) -> dict[str, str]:
    """The messages the instance waits for under a key of their own (`correlation_keys`), and that key."""
    rows = db.session.execute(select(MessageWait.name, MessageWait.business_key).where(
        MessageWait.instance_id == instance.id)).all()
    return {r.name: r.business_key for r in rows if r.business_key != (instance.business_key or "")}


def _stores(version_id: int, pins: dict[str, int]) -> list[Change]:
    """The data stores the instance's diagram (and the processes it calls) read or write, with their values
    now: shared by every instance that names them, so only the platform's staff read them here."""
    spec, subprocess_specs = runtime().specs.workflow_specs(version_id, pins)
    names = data_store_keys([spec, *subprocess_specs.values()])
    found = data_stores.values(names)
    return [Change(name, _short(found.get(name))) for name in names]


def _kept(business_key: str | None) -> list[KeptMessage]:
    """The messages of the deal's business key kept in the inbox because no instance waited for them
    (a provider's early callback, a message another stage sent): taken as soon as one waits."""
    if not business_key:
        return []
    rows = db.session.execute(select(InboxMessage.name, InboxMessage.received_at, InboxMessage.payload).where(
        InboxMessage.correlation_key == business_key, InboxMessage.delivered_at.is_(None))
        .order_by(InboxMessage.id).limit(KEPT_ROWS)).all()
    return [KeptMessage(r.name, r.received_at, _changes("message_received", {"payload": r.payload})) for r in rows]


def may_see(principal: Principal, instance_id: int) -> bool:
    """Whether `principal` may open the instance's page (a deal's page links to it only then)."""
    return db.session.scalar(select(ProcessInstance.id).where(ProcessInstance.id == instance_id,
                                                              instance_visible(principal))) is not None


def _state(instance_id: int) -> str:
    return db.session.scalar(select(ProcessInstance.state).where(ProcessInstance.id == instance_id)) or ""


def _due(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def may_repair(principal: Principal) -> bool:
    """Whether the page links to the instance's repair page (retry an incident, cancel)."""
    return policy.allowed(principal, "incidents.retry") or policy.allowed(principal, "instances.cancel")


def diagram(principal: Principal, instance_id: int, language: str) -> bytes:
    """The instance's version's file as the reader may see it: names in their language; for a party,
    without the scripts' internals (`diagram_elements.shown_source`)."""
    instance = _instance(principal, instance_id)
    content_hash = db.session.scalar(select(ProcessVersion.content_hash).where(
        ProcessVersion.id == instance.process_version_id)) or ""
    return diagram_elements.shown_source(instance.process_version_id, content_hash, language,
                                         policy.allowed(principal, "instances.inspect"))


