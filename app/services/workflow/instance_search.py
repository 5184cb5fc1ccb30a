"""Instance search for the platform's staff (`instances.inspect`): by process, version, status, business key
(its start or any part: the trigram index on PostgreSQL), party (an organisation bound to the deal), start
date and the element where it waits (`instance_waits`, written by every step) — from the tables alone,
never loading a workflow. Newest first, a page at a time, the total counted up to COUNT_CAP."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Table, exists, func, select

from app.extensions import db
from app.models import InstanceParty, InstanceWait, Organisation, ProcessVersion
from app.models.process import INSTANCE_STATUSES
from app.services import context
from app.services.context import lazy_gettext as _l
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.workflow import diagram_elements, labels
from app.services.workflow.step_store import INSTANCES, core

WAITS: Table = InstanceWait.__table__  # type: ignore[assignment]
PARTIES: Table = InstanceParty.__table__  # type: ignore[assignment]
PER_PAGE = 50
COUNT_CAP = 10_000  # a broad search says "more than 10,000" rather than counting every row
STATUSES = INSTANCE_STATUSES
STATUS_NAMES = {"running": _l("Running"), "waiting": _l("Waiting"), "completed": _l("Completed"),
                "error": _l("Stopped by an error"), "cancelled": _l("Cancelled")}
KEY_MATCHES = ("prefix", "contains")


@dataclass(frozen=True)
class Filters:
    process_id: str | None = None
    version: int | None = None
    status: str | None = None
    business_key: str | None = None
    key_match: str = "prefix"  # prefix | contains
    party: int | None = None  # an organisation's id
    started_from: date | None = None  # business-local dates, both included
    started_to: date | None = None
    waiting_at: str | None = None  # an element id


@dataclass(frozen=True)
class Row:
    id: int
    process_id: str
    process_name: str
    version: int
    status: str
    business_key: str | None
    started_at: datetime
    updated_at: datetime
    waits: list[diagram_elements.Named]  # the elements where it waits


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    code: bool = False  # the label is a code (an element without a name): shown translate="no"
    lang: str | None = None  # the label's language when not the reader's (an element named in English only)


@dataclass
class Results:
    rows: list[Row]
    total: int
    capped: bool  # more than COUNT_CAP match
    page: int
    pages: int
    processes: list[Choice] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)  # of the chosen process
    parties: list[Choice] = field(default_factory=list)
    elements: list[Choice] = field(default_factory=list)  # where the chosen process's instances can wait


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), context.business_tz()).astimezone(UTC)


def _query(filters: Filters, *columns):  # noqa: ANN002, ANN202 - a Select
    query = select(*(columns or (INSTANCES.c.id,)))
    if filters.process_id:
        query = query.where(INSTANCES.c.process_id == filters.process_id)
        if filters.version:  # by the version's id: ix_process_instances_version_id hands them out newest first
            query = query.where(INSTANCES.c.process_version_id == select(ProcessVersion.id).where(
                ProcessVersion.kind == "process", ProcessVersion.process_id == filters.process_id,
                ProcessVersion.version == filters.version).scalar_subquery())
    if filters.status:
        query = query.where(INSTANCES.c.status == filters.status)
    if filters.business_key:
        pattern = _escape_like(filters.business_key.strip())
        pattern = f"%{pattern}%" if filters.key_match == "contains" else f"{pattern}%"
        query = query.where(INSTANCES.c.business_key.like(pattern, escape="\\"))
    if filters.party:
        query = query.where(exists().where(PARTIES.c.instance_id == INSTANCES.c.id,
                                           PARTIES.c.org_id == filters.party))
    if filters.started_from:
        query = query.where(INSTANCES.c.created_at >= _local_midnight(filters.started_from))
    if filters.started_to:
        query = query.where(INSTANCES.c.created_at < _local_midnight(filters.started_to + timedelta(days=1)))
    if filters.waiting_at:
        query = query.where(exists().where(WAITS.c.instance_id == INSTANCES.c.id,
                                           WAITS.c.element_id == filters.waiting_at))
    return query


def search(actor: Principal, filters: Filters, page: int, language: str, per_page: int = PER_PAGE) -> Results:
    """A page of the instances that match, newest first, with the filter form's choices."""
    policy.require(actor, "instances.inspect")
    page = max(page, 1)
    total = core(select(func.count()).select_from(_query(filters).limit(COUNT_CAP + 1).subquery())).scalar_one()
    found = core(_query(filters, INSTANCES.c.id, INSTANCES.c.process_id, INSTANCES.c.process_version_id,
                        INSTANCES.c.version, INSTANCES.c.status, INSTANCES.c.business_key, INSTANCES.c.created_at,
                        INSTANCES.c.updated_at, INSTANCES.c.pins)
                 .order_by(INSTANCES.c.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    versions = _versions({r.process_version_id for r in found} | {v for r in found for v in (r.pins or {}).values()})
    waits: dict[int, list[str]] = {}
    if found:
        for instance_id, element_id in core(select(WAITS.c.instance_id, WAITS.c.element_id).where(
                WAITS.c.instance_id.in_([r.id for r in found])).order_by(WAITS.c.instance_id, WAITS.c.element_id)):
            waits.setdefault(instance_id, []).append(element_id)
    rows = []
    for r in found:
        known: dict[str, diagram_elements.Element] = {}
        for pinned in sorted(set((r.pins or {}).values())):  # a task of a called process waits in its caller
            if pinned in versions:
                known.update(diagram_elements.elements(pinned, versions[pinned][1]))
        names, content_hash = versions[r.process_version_id]
        known.update(diagram_elements.elements(r.process_version_id, content_hash))
        rows.append(Row(r.id, r.process_id, labels.process_title(names, r.process_id, language), r.version,
                        r.status, r.business_key, r.created_at, r.updated_at,
                        [diagram_elements.named(known, e, language) for e in waits.get(r.id, [])]))
    pages = max(1, -(-min(total, COUNT_CAP) // per_page))
    results = Results(rows, min(total, COUNT_CAP), total > COUNT_CAP, page, pages)
    _choices(results, filters, language)
    return results


def _versions(version_ids: set[int]) -> dict[int, tuple[dict[str, str], str]]:
    if not version_ids:
        return {}
    return {r.id: (r.names, r.content_hash) for r in db.session.execute(
        select(ProcessVersion.id, ProcessVersion.names, ProcessVersion.content_hash)
        .where(ProcessVersion.id.in_(sorted(version_ids))))}


def _choices(results: Results, filters: Filters, language: str) -> None:
    """What the filter form offers: every process, the chosen one's versions and the elements where its
    newest chosen version's instances can wait, every organisation bound to a deal."""
    rows = db.session.execute(select(ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.version,
                                     ProcessVersion.names, ProcessVersion.content_hash)
                              .where(ProcessVersion.kind == "process")
                              .order_by(ProcessVersion.process_id, ProcessVersion.version)).all()
    newest = {r.process_id: r for r in rows}
    results.processes = sorted((Choice(p, labels.process_title(r.names, p, language)) for p, r in newest.items()),
                               key=lambda c: c.label)
    if filters.process_id:
        mine = [r for r in rows if r.process_id == filters.process_id]
        results.versions = [r.version for r in reversed(mine)]
        chosen = [r for r in mine if r.version == filters.version] or mine[-1:]
        called = {p: (r.id, r.content_hash) for p, r in newest.items()}
        for row in chosen:  # its own steps and those of the processes it calls (their tasks wait in its instances)
            known = diagram_elements.with_called(row.id, row.content_hash, called)
            results.elements = sorted(
                (_element_choice(element.named(e, language)) for e, element in known.items()
                 if element.kind in diagram_elements.WAITING_KINDS),
                key=lambda c: c.label)
    results.parties = [Choice(str(i), name) for i, name in db.session.execute(
        select(Organisation.id, Organisation.name).where(
            exists().where(PARTIES.c.org_id == Organisation.id)).order_by(Organisation.name))]


def _element_choice(named: diagram_elements.Named) -> Choice:
    return Choice(named.element_id, named.text, named.lang == "code", "en" if named.lang == "en" else None)


def process_links(actor: Principal) -> bool:
    """Whether the catalogue and the header link to the search."""
    return policy.allowed(actor, "instances.inspect")

