"""The task inbox: my tasks, my group's claimable tasks, filters, sorting, counts — one indexed query each."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import HumanTask, InstanceParty, Organisation, ProcessInstance
from app.services.access import task_offered
from app.services.clock import now
from app.services.identity import Principal

SORTS = {
    "due": (HumanTask.due_at.asc().nulls_last(), HumanTask.id),
    "priority": (HumanTask.priority.asc().nulls_last(), HumanTask.due_at.asc().nulls_last(), HumanTask.id),
    "newest": (HumanTask.created_at.desc(), HumanTask.id.desc()),
}


@dataclass
class InboxFilters:
    view: str = "mine"  # mine | group
    process_id: str | None = None
    element_id: str | None = None
    business_key: str | None = None
    party: str | None = None  # an organisation code that is a party of the deal
    due_before: datetime | None = None
    q: str | None = None
    sort: str = "due"
    page: int = 1
    per_page: int = 20


def _scope(principal: Principal, view: str):  # noqa: ANN202
    if view == "mine":
        return (HumanTask.claimed_by_id == principal.id) & (HumanTask.state == "claimed")
    return task_offered(principal, unlaned=_started_any(principal)) & (HumanTask.state == "ready")


def _started_any(principal: Principal) -> bool:
    """Whether the user started any instance (only then can unlaned tasks be offered to them)."""
    if principal.is_platform:
        return True
    return db.session.scalar(select(ProcessInstance.id).where(ProcessInstance.started_by_id == principal.id)
                             .limit(1)) is not None


def inbox(principal: Principal, filters: InboxFilters) -> dict[str, Any]:
    """One page of the inbox. Tasks are filtered, counted, sorted and limited on `human_tasks`
    alone; instance columns are joined only for the page's rows (or when a filter needs them)."""
    query = select(HumanTask).where(_scope(principal, filters.view))
    needs_instance = bool(filters.process_id or filters.business_key or filters.q)
    if needs_instance:
        query = query.join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    if filters.process_id:
        query = query.where(ProcessInstance.process_id == filters.process_id)
    if filters.element_id:
        query = query.where(HumanTask.element_id == filters.element_id)
    if filters.business_key:
        query = query.where(ProcessInstance.business_key == filters.business_key)
    if filters.due_before:
        query = query.where(HumanTask.due_at <= filters.due_before)
    if filters.party:
        query = query.where(HumanTask.instance_id.in_(
            select(InstanceParty.instance_id).join(Organisation, Organisation.id == InstanceParty.org_id)
            .where(Organisation.code == filters.party)))
    if filters.q:
        like = f"%{filters.q.strip()}%"
        query = query.where(or_(HumanTask.title.ilike(like), ProcessInstance.business_key.ilike(like)))
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    tasks = db.session.scalars(query.order_by(*SORTS.get(filters.sort, SORTS["due"]))
                               .limit(filters.per_page).offset((filters.page - 1) * filters.per_page)).all()
    instances: dict[int, tuple[str | None, str]] = {}
    if tasks:
        rows = db.session.execute(select(ProcessInstance.id, ProcessInstance.business_key, ProcessInstance.process_id)
                                  .where(ProcessInstance.id.in_({t.instance_id for t in tasks}))).all()
        instances = {row.id: (row.business_key, row.process_id) for row in rows}
    at = now()
    items = [{
        "id": t.id, "instance_id": t.instance_id, "title": t.title, "element_id": t.element_id, "lane": t.lane,
        "state": t.state, "priority": t.priority, "due_at": t.due_at, "created_at": t.created_at,
        "business_key": instances.get(t.instance_id, (None, None))[0],
        "process_id": instances.get(t.instance_id, (None, None))[1],
        "overdue": bool(t.due_at and t.due_at < at),
    } for t in tasks]
    return {"items": items, "total": total, "page": filters.page, "per_page": filters.per_page}


def counts(principal: Principal) -> dict[str, int]:
    """How many tasks are mine, how many my group could claim, how many of all of them are overdue."""
    at = now()
    mine = _scope(principal, "mine")
    group = _scope(principal, "group")
    row = db.session.execute(select(
        func.count().filter(mine), func.count().filter(group),
        func.count().filter((mine | group) & (HumanTask.due_at < at)))
        .select_from(HumanTask).where(mine | group)).one()
    return {"mine": row[0], "group": row[1], "overdue": row[2]}
