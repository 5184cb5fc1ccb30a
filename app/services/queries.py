"""Read-side queries for the API: lists and details, straight from the tables, never the engine."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import HumanTask, InstanceEvent, InstanceParty, Organisation, ProcessInstance, User
from app.models.task import OPEN_TASK_STATES
from app.services.access import instance_visible, task_visible
from app.services.errors import NotFound
from app.services.identity import Principal
from app.services.tasks import task_form


def _page(query, page: int, per_page: int, row_to_dict) -> dict[str, Any]:  # noqa: ANN001
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [row_to_dict(r) for r in rows], "total": total, "page": page, "per_page": per_page}


_claimer, _completer = aliased(User), aliased(User)
_TASKS = (select(HumanTask, _claimer.username, _completer.username)
          .outerjoin(_claimer, _claimer.id == HumanTask.claimed_by_id)
          .outerjoin(_completer, _completer.id == HumanTask.completed_by_id))


def _task_query():  # noqa: ANN202
    """Tasks with the usernames of who claimed and completed them (a statement built once)."""
    return _TASKS


def _task_dict(row) -> dict[str, Any]:  # noqa: ANN001
    task, claimed_by, completed_by = row
    return {
        "id": task.id, "instance_id": task.instance_id, "engine_task_id": task.engine_task_id,
        "element_id": task.element_id, "title": task.title, "lane": task.lane, "state": task.state,
        "priority": task.priority, "due_at": task.due_at, "claimed_by": claimed_by,
        "completed_by": completed_by, "created_at": task.created_at, "completed_at": task.completed_at,
    }


def list_tasks(principal: Principal, page: int, per_page: int, instance_id: int | None = None,
               state: str | None = None) -> dict:
    query = _task_query().where(task_visible(principal))
    if instance_id is not None:
        query = query.where(HumanTask.instance_id == instance_id)
    if state is not None:
        query = query.where(HumanTask.state == state)
    return _page(query.order_by(HumanTask.id), page, per_page, _task_dict)


def task_detail(principal: Principal, task_id: int) -> dict[str, Any]:
    row = db.session.execute(_task_query().where(HumanTask.id == task_id, task_visible(principal))).first()
    if row is None:
        raise NotFound("task not found")
    task = row[0]
    form, ui_form = task_form(task)
    return {**_task_dict(row), "form": form, "ui_form": ui_form, "data": task.data, "properties": task.properties}


def _instance_dict(instance: ProcessInstance) -> dict[str, Any]:
    return {
        "id": instance.id, "process_id": instance.process_id, "version": instance.version,
        "status": instance.status, "business_key": instance.business_key, "data": instance.data,
        "error": instance.error, "created_at": instance.created_at, "updated_at": instance.updated_at,
        "ended_at": instance.ended_at,
    }


def list_instances(principal: Principal, page: int, per_page: int, process_id: str | None = None,
                   status: str | None = None, business_key: str | None = None) -> dict[str, Any]:
    query = select(ProcessInstance).where(instance_visible(principal))
    if process_id:
        query = query.where(ProcessInstance.process_id == process_id)
    if status:
        query = query.where(ProcessInstance.status == status)
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    return _page(query.order_by(ProcessInstance.id.desc()), page, per_page, lambda r: _instance_dict(r[0]))


def get_instance(principal: Principal, instance_id: int) -> ProcessInstance:
    """The instance if this user may see it; otherwise 404, whether it exists or not."""
    instance = db.session.scalar(select(ProcessInstance).where(
        ProcessInstance.id == instance_id, instance_visible(principal)))
    if instance is None:
        raise NotFound("process instance not found")
    return instance


def instance_detail(principal: Principal, instance_id: int) -> dict[str, Any]:
    instance = get_instance(principal, instance_id)
    parties = dict(db.session.execute(
        select(InstanceParty.party, Organisation.code).join(Organisation, Organisation.id == InstanceParty.org_id)
        .where(InstanceParty.instance_id == instance.id)).all())
    tasks = db.session.execute(_task_query().where(
        HumanTask.instance_id == instance.id, HumanTask.state.in_(OPEN_TASK_STATES), task_visible(principal))
        .order_by(HumanTask.id)).all()
    return {**_instance_dict(instance), "parties": parties, "tasks": [_task_dict(t) for t in tasks]}


def list_events(principal: Principal, instance_id: int, page: int, per_page: int) -> dict[str, Any]:
    get_instance(principal, instance_id)
    query = (select(InstanceEvent, User.username).outerjoin(User, User.id == InstanceEvent.actor_id)
             .where(InstanceEvent.instance_id == instance_id).order_by(InstanceEvent.id))
    return _page(query, page, per_page, lambda r: {
        "id": r[0].id, "kind": r[0].kind, "element_id": r[0].element_id, "at": r[0].at, "actor": r[1],
        "details": r[0].details})
