"""The process catalogue: every deployed process and decision id, its versions (who deployed each,
when, from which file, its content hash), the instances running and finished on each version, and
the file of any version as it was deployed, and when its timer start events next start an instance. Read by
the platform's staff (`definitions.read`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import case, func, select

from app.engine import start_events
from app.extensions import db
from app.models import Deployment, ProcessInstance, ProcessVersion, TimerStart, User
from app.services.context import lazy_gettext as _l
from app.services.errors import NotFound
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.workflow import diagram_elements, labels, start_forms
from app.services.workflow.deployment import newest_versions
from app.services.workflow.runtime import runtime

RUNNING = ("running", "waiting", "error")  # as `deployment.list_processes` counts them: not ended yet
FINISHED = ("completed", "cancelled")
NO_SUCH_PROCESS = _l("There is no such process or decision.")


@dataclass(frozen=True)
class CatalogueEntry:
    """One process or decision id: its name, latest version, how many versions, its instances."""

    process_id: str
    kind: str  # process | decision
    name: str
    name_language: str | None  # the language the name is written in; None: no name, the id stands for it
    latest: int
    versions: int
    running: int
    finished: int


@dataclass(frozen=True)
class VersionEntry:
    """One deployed version of a process or decision."""

    version: int
    deployed_by: str | None  # the user's display name; None when deployed without a user (CLI, seed)
    deployed_at: datetime
    filename: str
    content_hash: str
    running: int
    finished: int


@dataclass(frozen=True)
class TimerStartEntry:
    """A timer start event of the newest version, and when it next starts an instance."""

    element: diagram_elements.Named
    next_at: datetime | None  # None: it starts no more
    remaining: int  # starts left counting the next; -1: no end
    interval: timedelta | None  # None: one start only
    started: int
    last_started_at: datetime | None
    last_instance_id: int | None
    last_error: dict[str, str] | None  # the last firing that started no instance: its due_at and why
    cron: str | None = None  # a Quartz cron of uneven gaps: each start at its next match (interval None)


@dataclass(frozen=True)
class StartEntry:
    """A start event of the newest version: what starts an instance there."""

    element: diagram_elements.Named
    kind: str  # none | message | signal | timer | conditional | other (`start_events.kinds`)
    name: str | None  # the message's or signal's name
    start_form: bool = False  # a none start event whose form a person fills on the start page (`start_page`)


@dataclass(frozen=True)
class ProcessEntry:
    process_id: str
    kind: str
    name: str
    name_language: str | None
    versions: list[VersionEntry]  # newest first
    timer_starts: list[TimerStartEntry] = field(default_factory=list)
    starts: list[StartEntry] = field(default_factory=list)  # the newest version's start events


def _title(kind: str, process_id: str, names: dict[str, str] | None, name: str | None,
           language: str) -> tuple[str, str | None]:
    """The name in `language`, else in English (a decision has only its DMN `name`), else the id; and
    the language it is written in (None: the id, a code)."""
    names = names or ({"en": name} if kind == "decision" and name else {})
    title = labels.process_title(names, process_id, language)
    return title, (language if names.get(language) == title else "en" if names.get("en") == title else None)


def _instance_counts():  # noqa: ANN202 - a subquery
    """Running and finished instances per process version id."""
    return (select(ProcessInstance.process_version_id.label("version_id"),
                   func.sum(case((ProcessInstance.status.in_(RUNNING), 1), else_=0)).label("running"),
                   func.sum(case((ProcessInstance.status.in_(FINISHED), 1), else_=0)).label("finished"))
            .group_by(ProcessInstance.process_version_id).subquery())


def catalogue(actor: Principal, language: str) -> list[CatalogueEntry]:
    """Every process, then every decision, by id: its latest version's name, the number of its versions
    and its instances running and finished over all versions."""
    policy.require(actor, "definitions.read")
    counts = _instance_counts()
    rows = db.session.execute(
        select(ProcessVersion.kind, ProcessVersion.process_id, ProcessVersion.version, ProcessVersion.names,
               ProcessVersion.name, func.coalesce(counts.c.running, 0), func.coalesce(counts.c.finished, 0))
        .outerjoin(counts, counts.c.version_id == ProcessVersion.id)
        .order_by(ProcessVersion.kind.desc(), ProcessVersion.process_id, ProcessVersion.version)).all()
    entries: dict[tuple[str, str], CatalogueEntry] = {}
    for kind, process_id, version, names, name, running, finished in rows:
        before = entries.get((kind, process_id))
        entries[(kind, process_id)] = CatalogueEntry(
            process_id, kind, *_title(kind, process_id, names, name, language), version,
            (before.versions if before else 0) + 1, (before.running if before else 0) + int(running),
            (before.finished if before else 0) + int(finished))
    return list(entries.values())


def _kind_of(process_id: str) -> str:
    kinds = set(db.session.scalars(select(ProcessVersion.kind).where(ProcessVersion.process_id == process_id)))
    if not kinds:
        raise NotFound(NO_SUCH_PROCESS)
    return "process" if "process" in kinds else "decision"


def process_entry(actor: Principal, process_id: str, language: str) -> ProcessEntry:
    """One process (or decision, when no process has the id) with its versions, newest first."""
    policy.require(actor, "definitions.read")
    kind = _kind_of(process_id)
    counts = _instance_counts()
    rows = db.session.execute(
        select(ProcessVersion.version, ProcessVersion.names, ProcessVersion.name, ProcessVersion.content_hash,
               Deployment.filename, Deployment.deployed_at, User.display_name, User.username,
               func.coalesce(counts.c.running, 0), func.coalesce(counts.c.finished, 0))
        .join(Deployment, Deployment.id == ProcessVersion.deployment_id)
        .outerjoin(User, User.id == Deployment.deployed_by_id)
        .outerjoin(counts, counts.c.version_id == ProcessVersion.id)
        .where(ProcessVersion.kind == kind, ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc())).all()
    versions = [VersionEntry(r.version, r.display_name or r.username, r.deployed_at, r.filename, r.content_hash,
                             int(r[8]), int(r[9])) for r in rows]
    return ProcessEntry(process_id, kind, *_title(kind, process_id, rows[0].names, rows[0].name, language), versions,
                        _timer_starts(process_id, language) if kind == "process" else [],
                        _starts(process_id, language) if kind == "process" else [])


def startable(actor: Principal) -> set[str]:
    """The processes whose newest version a person may start on its start page, for one who may: those whose
    none start event has a start form (`start_forms`). Each version is read once (versions do not change)."""
    if not start_forms.may_start_on_page(actor):
        return set()
    rows = db.session.execute(newest_versions("process", ProcessVersion.id, ProcessVersion.process_id,
                                              ProcessVersion.content_hash)).all()
    return {row.process_id for row in rows if _has_start_form(row.id, row.content_hash)}


@lru_cache(maxsize=4096)
def _has_start_form(version_id: int, content_hash: str) -> bool:  # the hash keys the cache (a test's fresh database)
    spec = runtime().specs.get_many([version_id])[version_id][0]
    forms = db.session.scalar(select(ProcessVersion.forms).where(ProcessVersion.id == version_id)) or {}
    return start_events.start_form(spec) in forms


def _starts(process_id: str, language: str) -> list[StartEntry]:
    version_id, content_hash, forms = db.session.execute(
        select(ProcessVersion.id, ProcessVersion.content_hash, ProcessVersion.forms).where(
            ProcessVersion.kind == "process", ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc()).limit(1)).one()
    spec = runtime().specs.get_many([version_id])[version_id][0]
    known = diagram_elements.elements(version_id, content_hash)
    with_form = start_events.start_form(spec) in (forms or {})
    return [StartEntry(diagram_elements.named(known, element_id, language), kind, name, kind == "none" and with_form)
            for element_id, kind, name in start_events.kinds(spec)]


def _timer_starts(process_id: str, language: str) -> list[TimerStartEntry]:
    rows = db.session.execute(
        select(TimerStart, ProcessVersion.content_hash).join(ProcessVersion, ProcessVersion.id == TimerStart.process_version_id)
        .where(TimerStart.process_id == process_id).order_by(TimerStart.element_id)).all()
    entries = []
    for row, content_hash in rows:
        known = diagram_elements.elements(row.process_version_id, content_hash)
        entries.append(TimerStartEntry(
            diagram_elements.named(known, row.element_id, language), row.next_at, row.remaining,
            timedelta(seconds=row.interval_seconds) if row.interval_seconds else None, row.started,
            row.last_started_at, row.last_instance_id, row.last_error, row.cron))
    return entries


def version_diagram(actor: Principal, process_id: str, version: int, language: str) -> bytes:
    """A process version's file to draw: each element named in the reader's language (its `name@zh`, else its
    name), as the instance page draws it; a decision's table with its name and headings so (`label@zh`); the file
    as deployed is `version_source`."""
    policy.require(actor, "definitions.read")
    if _kind_of(process_id) == "decision":  # a decision table: its name and its columns' headings so
        return diagram_elements.shown_decision(version_source(actor, process_id, version)[1], language)
    row = db.session.execute(select(ProcessVersion.id, ProcessVersion.content_hash).where(
        ProcessVersion.kind == "process", ProcessVersion.process_id == process_id,
        ProcessVersion.version == version)).first()
    if row is None:
        raise NotFound(NO_SUCH_PROCESS)
    return diagram_elements.shown_source(row.id, row.content_hash, language, internals=True)


def version_source(actor: Principal, process_id: str, version: int) -> tuple[str, bytes]:
    """The file a version was deployed from, as deployed: its name and bytes."""
    policy.require(actor, "definitions.read")
    kind = _kind_of(process_id)
    row = db.session.execute(
        select(Deployment.filename, Deployment.source)
        .join(ProcessVersion, ProcessVersion.deployment_id == Deployment.id)
        .where(ProcessVersion.kind == kind, ProcessVersion.process_id == process_id,
               ProcessVersion.version == version)).first()
    if row is None:
        raise NotFound(NO_SUCH_PROCESS)
    return row.filename, bytes(row.source)


def may_read(actor: Principal) -> bool:
    """Whether the header offers the catalogue."""
    return policy.allowed(actor, "definitions.read")
