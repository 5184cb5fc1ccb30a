"""The task inbox: my tasks, my group's claimable tasks, filters, sorting, counts — read branch by branch.

The group view is the OR of a few disjoint branches (`access.offered_branches`: one lane of the
user's organisation, a platform lane, tasks without a lane, ...). Each branch is an equality an
index serves in the page's order, so one statement takes each branch's first `COUNT_CAP + 1`
tasks (an index scan that stops there), counts them ("1,000+" past the cap), merges them and cuts
the page; instance columns are joined for the page's rows only.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import (
    HumanTask,
    InstanceParty,
    Organisation,
    ProcessInstance,
    ProcessVersion,
    Product,
    TaskCandidate,
    User,
)
from app.models.task import OPEN_TASK_STATES
from app.services.clock import now
from app.services.identity import policy
from app.services.identity.access import offered_branches, offered_everything
from app.services.identity.directory import Principal
from app.services.workflow import labels
from app.services.workflow.party_scope import scopes_of
from app.services.workflow.queries import process_titles

# Counts stop here ("1,000+"): counting every one of 650,000 ready tasks costs ~40 ms however it
# is indexed, and nobody pages that far. A page beyond the cap counts up to that page instead.
COUNT_CAP = 1000

# How each sort orders rows, given the columns to order (HumanTask's, or a subquery's).
SORTS: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "due": lambda c: (c.due_at.asc().nulls_last(), c.id.asc()),
    "priority": lambda c: (c.priority.asc().nulls_last(), c.due_at.asc().nulls_last(), c.id.asc()),
    "newest": lambda c: (c.created_at.desc(), c.id.desc()),
}
# The "done by me" view's own order, newest first (not a sort one picks: SORTS is the API's choice).
_ORDERS = {**SORTS, "done": lambda c: (c.completed_at.desc(), c.id.desc())}
_SORT_COLUMNS = {"due": ("due_at",), "priority": ("priority", "due_at"), "newest": ("created_at",),
                 "done": ("completed_at",)}
VIEWS = ("mine", "group", "done", "team")
# The instance's data field a row shows as the deal's amount: the amount applied for, as an application's
# process holds it (`origination.applications`); a user task may name another (`amountField`: a collections
# case's amount overdue).
AMOUNT_FIELD = "amount"


@dataclass
class InboxFilters:
    view: str = "mine"  # mine | group | done (completed by me) | team (my organisation's open tasks, for who assigns them)
    process_id: str | None = None
    element_id: str | None = None
    business_key: str | None = None
    party: str | None = None  # an organisation code that is a party of the deal
    due_before: datetime | None = None
    q: str | None = None
    sort: str = "due"
    page: int = 1
    per_page: int = 20
    language: str = "en"  # the reader's: task names come in it (`labels.task_title`)


def _mine(principal: Principal) -> ColumnElement[bool]:
    return (HumanTask.claimed_by_id == principal.id) & (HumanTask.state == "claimed")


def _group(principal: Principal) -> list[ColumnElement[bool]]:
    if offered_everything(principal):
        # offered every task (access.offered_branches): read lane by lane, each in its index's order
        branches = [HumanTask.lane == lane for lane in _lanes(HumanTask.state == "ready")] + [HumanTask.lane.is_(None)]
    else:
        started, named = _started_or_named(principal)
        branches = offered_branches(principal, unlaned=started, named=named)
    kept_from = _four_eyes(principal)
    keep_out = [HumanTask.id.not_in(kept_from)] if kept_from else []
    return [and_(branch, HumanTask.state == "ready", *keep_out) for branch in branches]


def _four_eyes(principal: Principal) -> list[int]:
    """The ready tasks four-eyes keeps from this user: `separateFrom` a task they completed in the same
    instance (`tasks._refuse_same_person`). Read from the user's completed tasks (the claimer is the
    completer: `ix_human_tasks_claimed_by_state`) and their instances' ready tasks, so each branch
    only leaves out a few ids and stays an index-only scan."""
    done, other = aliased(HumanTask), aliased(HumanTask)
    return list(db.session.scalars(
        select(other.id).select_from(done)
        .join(other, (other.instance_id == done.instance_id) & (other.state == "ready"))
        .where(done.claimed_by_id == principal.id, done.state == "completed", done.completed_by_id == principal.id,
               other.properties["separateFrom"].as_string() == done.element_id)).all())


def _lanes(*conditions: ColumnElement[bool]) -> list[str]:
    """The lanes of the tasks matching `conditions`: one index probe per lane (a recursive "next lane after")."""
    lanes = select(func.min(HumanTask.lane).label("lane")).where(*conditions).cte("lanes", recursive=True)
    following = select(func.min(HumanTask.lane)).where(*conditions, HumanTask.lane > lanes.c.lane)
    lanes = lanes.union_all(select(following.scalar_subquery().label("lane")).where(lanes.c.lane.is_not(None)))
    return list(db.session.scalars(select(lanes.c.lane).where(lanes.c.lane.is_not(None))).all())


def _done(principal: Principal) -> ColumnElement[bool]:
    """Completed by the user (who completes a task holds it: `ix_human_tasks_claimed_by_state` serves it)."""
    return ((HumanTask.claimed_by_id == principal.id) & (HumanTask.state == "completed")
            & (HumanTask.completed_by_id == principal.id))


def team_view(principal: Principal) -> bool:
    """Whether the user has a "my team" view: they assign their organisation's tasks (a team lead)."""
    return policy.allowed(principal, "tasks.assign", org_id=principal.org_id)


def _team(principal: Principal) -> list[ColumnElement[bool]]:
    """The organisation's open tasks, lane by lane and state by state (each an index's equality, in due order)."""
    if not team_view(principal):
        return []
    ours = HumanTask.org_id == principal.org_id
    return [ours & (HumanTask.lane == lane) & (HumanTask.state == state)
            for lane in _lanes(ours, HumanTask.state.in_(OPEN_TASK_STATES)) for state in OPEN_TASK_STATES]


def _branches(principal: Principal, view: str) -> list[ColumnElement[bool]]:
    if view == "done":
        return [_done(principal)]
    if view == "team":
        return _team(principal)
    return [_mine(principal)] if view == "mine" else _group(principal)


def _started_or_named(principal: Principal) -> tuple[bool, bool]:
    """Whether the user started any instance (only then can unlaned tasks be offered to them), and whether any
    task was ever offered to them by name (only then is that branch read): one query, each an index probe,
    where each branch's count and page were two queries for every user."""
    started = exists().where(ProcessInstance.started_by_id == principal.id)
    named = exists().where(TaskCandidate.user_id == principal.id)
    if principal.is_platform:
        return True, bool(db.session.scalar(select(named)))
    row = db.session.execute(select(started, named)).one()
    return bool(row[0]), bool(row[1])


def _instances(*conditions: ColumnElement[bool]) -> Select[int]:
    return select(ProcessInstance.id).where(*conditions)


def _filters(filters: InboxFilters) -> list[ColumnElement[bool]]:
    """The filters as conditions on `human_tasks` alone. A process and a party are looked up first, so
    the planner sees the actual versions and organisation (and how many rows each has)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.process_id:
        versions = db.session.scalars(select(ProcessVersion.id)
                                      .where(ProcessVersion.process_id == filters.process_id)).all()
        conditions.append(HumanTask.process_version_id.in_(versions))
    if filters.element_id:
        conditions.append(HumanTask.element_id == filters.element_id)
    if filters.business_key:
        conditions.append(HumanTask.instance_id.in_(_instances(ProcessInstance.business_key == filters.business_key)))
    if filters.due_before:
        conditions.append(HumanTask.due_at <= filters.due_before)
    if filters.party:
        org_id = db.session.scalar(select(Organisation.id).where(Organisation.code == filters.party))
        conditions.append(HumanTask.instance_id.in_(select(InstanceParty.instance_id)
                                                    .where(InstanceParty.org_id == org_id)))
    if filters.q and filters.q.strip():
        # the words as typed: % and _ in them are not wildcards
        escaped = filters.q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        conditions.append(or_(HumanTask.title.ilike(like, escape="\\"), HumanTask.instance_id.in_(
            _instances(ProcessInstance.business_key.ilike(like, escape="\\")))))
    return conditions


def _found(branches: Sequence[ColumnElement[bool]], sort: str, limit: int) -> Any:
    """Each branch's first `limit` tasks in the sort's order (id and sort keys), as one CTE.

    MATERIALIZED: planned to be read in full (it is counted). Inlined below the page's LIMIT, the
    planner would plan each branch for its first rows only, and probe a filter row by row where
    one hash of the filter's few thousand instances costs a tenth."""
    columns = [HumanTask.id, *(getattr(HumanTask, name) for name in _SORT_COLUMNS[sort])]
    parts = [select(*columns).where(branch).order_by(*_ORDERS[sort](HumanTask)).limit(limit) for branch in branches]
    return _union(parts).cte("found").prefix_with("MATERIALIZED", dialect="postgresql")


def _union(parts: list[Select[Any]]) -> Any:
    """UNION ALL of selects that each have a LIMIT (as subqueries: SQLite takes no LIMIT in a compound's part)."""
    return parts[0] if len(parts) == 1 else union_all(*(select(*part.subquery().c) for part in parts))


def _counted(branches: Sequence[ColumnElement[bool]], cap: int) -> Any:
    """A scalar subquery: how many tasks match the disjoint branches, counting at most cap + 1 in each
    (so an index serves each branch and stops early). More than `cap` means "cap or more"."""
    if not branches:
        return literal(0)
    parts = [select(HumanTask.id).where(branch).limit(cap + 1) for branch in branches]
    return select(func.count()).select_from(_union(parts).subquery()).scalar_subquery()


def inbox(principal: Principal, filters: InboxFilters) -> dict[str, Any]:
    """One page of the inbox and its total; `total_capped`: there are more than `total` (which is
    `COUNT_CAP`, or the end of this page when that is further).

    One statement: each branch's first `cap + 1` tasks in the page's order (an index scan that stops
    there, or one pass over a branch a filter thins out), counted, merged and cut to the page; the
    page's rows are then joined to their tasks and instances."""
    sort = "done" if filters.view == "done" else filters.sort if filters.sort in SORTS else "due"
    conditions = _filters(filters)
    branches = [and_(branch, *conditions) for branch in _branches(principal, filters.view)]
    offset = (filters.page - 1) * filters.per_page
    cap = max(COUNT_CAP, offset + filters.per_page)
    rows: Sequence[Any] = []
    found = 0
    if branches:
        every = _found(branches, sort, cap + 1)
        page = (select(*every.c, func.count().over().label("found")).order_by(*_ORDERS[sort](every.c))
                .offset(offset).limit(filters.per_page).subquery())
        assignee = aliased(User)
        rows = db.session.execute(
            select(HumanTask, ProcessInstance.business_key, ProcessInstance.process_id, page.c.found,
                   assignee.username, assignee.display_name, assignee.org_id, ProcessInstance.data)
            .join(page, page.c.id == HumanTask.id)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .outerjoin(assignee, assignee.id == HumanTask.claimed_by_id)
            .order_by(*_ORDERS[sort](page.c))).all()
        found = rows[0].found if rows else 0
        if not rows and offset:  # past the last page: count on its own
            found = db.session.scalar(select(_counted(branches, cap))) or 0
    at = now()
    deals = _deals(principal, rows, filters.language)
    processes = process_titles([row[0].process_version_id for row in rows], filters.language)
    items = [{
        "id": t.id, "instance_id": t.instance_id, "title": labels.task_title(t.title, t.properties, filters.language), "element_id": t.element_id, "lane": t.lane,
        "state": t.state, "priority": t.priority, "due_at": t.due_at, "created_at": t.created_at,
        "completed_at": t.completed_at,
        "business_key": business_key, "process_id": process_id, "overdue": _overdue(t, at),
        "assignee": _name_for(principal, username, display_name, org_id), **deals[t.id],
        "process": processes.get(t.process_version_id, process_id),
    } for t, business_key, process_id, _found_rows, username, display_name, org_id, _data in rows]
    return {"items": items, "total": min(found, cap), "total_capped": found > cap, "page": filters.page,
            "per_page": filters.per_page}


def _deals(principal: Principal, rows: Sequence[Any], language: str = "en") -> dict[int, dict[str, Any]]:
    """Each page row's deal in brief: the borrower (the organisation's name), the product offering its
    process (`loan_products.application_process`) and the amount (the instance's `amountField` or
    `amount`: as the task shows it when it is among its key data, else the instance's), read as the user's
    party may (`party_scope`): a few queries for the page."""
    instance_ids = sorted({row[0].instance_id for row in rows})
    borrowers = dict(db.session.execute(
        select(InstanceParty.instance_id, Organisation.name).join(Organisation, Organisation.id == InstanceParty.org_id)
        .where(InstanceParty.instance_id.in_(instance_ids), InstanceParty.party == "borrower")).all())
    products: dict[str | None, str] = {}
    for product in db.session.scalars(
            select(Product).where(
                Product.active.is_(True), Product.application_process.in_(sorted({row[2] for row in rows})))
            .order_by(Product.id.desc())):
        products[product.application_process] = product.name_in(language)  # the oldest product offering it wins
    scopes = scopes_of(principal, [row[0].instance_id for row in rows])  # the page's deals, in two queries
    deals: dict[int, dict[str, Any]] = {}
    for row in rows:
        task, data = row[0], row[-1] or {}
        field = (task.properties or {}).get("amountField") or AMOUNT_FIELD
        if field in (task.shown or {}):  # the figure the task itself shows (its key data), not one the case moved on to
            data = task.shown or {}
        amount = scopes[task.instance_id].data({field: data[field]}).get(field) if field in data else None
        deals[task.id] = {"borrower": borrowers.get(task.instance_id), "product": products.get(row[2]),
                          "amount": amount}
    return deals


def _overdue(task: HumanTask, at: datetime) -> bool:
    """Past its due time: an open task now, a done one when it was completed (done on time, it never was)."""
    if task.due_at is None:
        return False
    ended = task.completed_at if task.state == "completed" and task.completed_at is not None else at
    return task.due_at < ended


def _name_for(principal: Principal, username: str | None, display_name: str | None, org_id: int | None) -> str | None:
    """Who holds a task, named only to their own organisation and the platform (as on the task page)."""
    if username is None or not (principal.is_platform or org_id == principal.org_id):
        return None
    return display_name or username


def counts(principal: Principal) -> dict[str, Any]:
    """How many tasks are mine, how many my group could claim, how many of all of them are overdue;
    `capped` names the counts that stopped at `COUNT_CAP` (there are more). One statement."""
    at = now()
    mine, group = [_mine(principal)], _group(principal)
    overdue = [branch & (HumanTask.due_at < at) for branch in mine + group]
    team = _team(principal)
    names = ("mine", "group", "overdue", "done", *(("team",) if team else ()))
    found = db.session.execute(select(_counted(mine, COUNT_CAP), _counted(group, COUNT_CAP),
                                      _counted(overdue, COUNT_CAP), _counted([_done(principal)], COUNT_CAP),
                                      *((_counted(team, COUNT_CAP),) if team else ()))).one()
    result: dict[str, Any] = {name: min(n, COUNT_CAP) for name, n in zip(names, found, strict=True)}
    result["capped"] = [name for name, n in zip(names, found, strict=True) if n > COUNT_CAP]
    result["team_view"] = bool(team) or team_view(principal)
    return result
