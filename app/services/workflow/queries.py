"""Read-side queries for the API: lists and details, straight from the tables, never the engine."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, Table, bindparam, func, or_, select

from app.extensions import db
from app.models import InstanceEvent, InstanceParty, Organisation, ProcessInstance, ProcessVersion, User
from app.models.task import OPEN_TASK_STATES
from app.services.context import lazy_gettext as _l
from app.services.errors import NotFound
from app.services.identity import policy
from app.services.identity.access import instance_visible, task_visible
from app.services.identity.directory import Principal
from app.services.workflow import history_chain, labels, ordering
from app.services.workflow.deployment import newest_versions
from app.services.workflow.ordering import Order
from app.services.workflow.party_scope import EVERYTHING, MILESTONES, PartyScope, scope_of, scopes_of
from app.services.workflow.step_store import INSTANCES as INSTANCE_TABLE
from app.services.workflow.step_store import TASKS, core
from app.services.workflow.tasks import TASK_NOT_FOUND, task_form

# An instance's history by time, then in the order it was written: a step's events share the step's time, so they
# read as the step wrote them (the history chain links them by id)
IN_TIME_ORDER = (InstanceEvent.at, InstanceEvent.id)

def _page(query, page: int, per_page: int, row_to_dict) -> dict[str, Any]:  # noqa: ANN001
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [row_to_dict(r) for r in rows], "total": total, "page": page, "per_page": per_page}


USERS: Table = User.__table__  # type: ignore[assignment]
_claimer, _completer = USERS.alias("claimer"), USERS.alias("completer")
_TASK_ROW = (select(TASKS.c.id, TASKS.c.instance_id, TASKS.c.engine_task_id, TASKS.c.element_id, TASKS.c.title,
                    TASKS.c.lane, TASKS.c.state, TASKS.c.priority, TASKS.c.due_at,
                    _claimer.c.username.label("claimed_by"), _completer.c.username.label("completed_by"),
                    TASKS.c.created_at, TASKS.c.completed_at)
             .select_from(TASKS.outerjoin(_claimer, _claimer.c.id == TASKS.c.claimed_by_id)
                          .outerjoin(_completer, _completer.c.id == TASKS.c.completed_by_id)))
_TASK_KEYS = tuple(str(c.key) for c in _TASK_ROW.selected_columns)
_DETAIL_EXTRA = (TASKS.c.data, TASKS.c.shown, TASKS.c.properties, TASKS.c.form_id, TASKS.c.ui_form_id)


def _task_dict(row) -> dict[str, Any]:  # noqa: ANN001
    mapping = row._mapping
    return {key: mapping[key] for key in _TASK_KEYS}


# The read queries of the task API, built once per user (their access condition) and shape, with
# bound parameters: building the statement per request cost more than running it.
@lru_cache(maxsize=2048)
def _task_list_query(principal: Principal, by_instance: bool, by_state: bool) -> Select:
    query = _TASK_ROW.where(task_visible(principal))
    if by_instance:
        query = query.where(TASKS.c.instance_id == bindparam("instance_id"))
    if by_state:
        query = query.where(TASKS.c.state == bindparam("state"))
    return (query.add_columns(func.count().over().label("total")).order_by(TASKS.c.id)
            .limit(bindparam("limit")).offset(bindparam("offset")))


@lru_cache(maxsize=2048)
def _task_detail_query(principal: Principal) -> Select:
    return _TASK_ROW.add_columns(*_DETAIL_EXTRA).where(TASKS.c.id == bindparam("task_id"), task_visible(principal))


def list_tasks(principal: Principal, page: int, per_page: int, instance_id: int | None = None,
               state: str | None = None) -> dict:
    """A page of the tasks this user may see, oldest first, with the total (one query)."""
    params = {"instance_id": instance_id, "state": state, "limit": per_page, "offset": (page - 1) * per_page}
    query = _task_list_query(principal, instance_id is not None, state is not None)
    rows = core(query, params).all()
    if rows:
        total = rows[0].total
    elif page > 1:  # past the end: the window count saw no row, so count apart
        total = core(select(func.count()).select_from(query.order_by(None).limit(None).offset(None).subquery()),
                     params).scalar_one()
    else:
        total = 0
    return {"items": [_task_dict(r) for r in rows], "total": total, "page": page, "per_page": per_page}


def task_detail(principal: Principal, task_id: int, language: str = "en") -> dict[str, Any]:
    """One task as `principal` may see it; its name in `language` (the API's is the diagram's own)."""
    row = core(_task_detail_query(principal), {"task_id": task_id}).first()
    if row is None:
        raise NotFound(TASK_NOT_FOUND)
    form, ui_form = task_form(row)
    task = {**_task_dict(row), "form": form, "ui_form": ui_form, "data": row.data, "shown": row.shown,
            "properties": row.properties}
    task["title"] = labels.task_title(task["title"], row.properties, language)
    return task


def _instance_dict(instance: ProcessInstance, scope: PartyScope = EVERYTHING) -> dict[str, Any]:
    return {
        "id": instance.id, "process_id": instance.process_id, "version": instance.version,
        "process_version_id": instance.process_version_id,
        "status": instance.status, "business_key": instance.business_key, "data": scope.data(instance.data),
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
    found = _page(query.order_by(ProcessInstance.id.desc()), page, per_page, lambda r: r[0])
    scopes = scopes_of(principal, [instance.id for instance in found["items"]])
    found["items"] = [_instance_dict(instance, scopes[instance.id]) for instance in found["items"]]
    return found


def get_instance(principal: Principal, instance_id: int) -> ProcessInstance:
    """The instance if this user may see it; otherwise 404, whether it exists or not."""
    instance = db.session.scalar(select(ProcessInstance).where(
        ProcessInstance.id == instance_id, instance_visible(principal)))
    if instance is None:
        raise NotFound(_l("There is no such process instance, or it is not one you may see."))
    return instance


def party_codes(instance_id: int) -> dict[str, str]:
    """The instance's parties: party -> organisation code (what `instances.start` and `set_parties` take)."""
    return dict(db.session.execute(
        select(InstanceParty.party, Organisation.code).join(Organisation, Organisation.id == InstanceParty.org_id)
        .where(InstanceParty.instance_id == instance_id)).all())


def instance_detail(principal: Principal, instance_id: int) -> dict[str, Any]:
    instance = get_instance(principal, instance_id)
    parties = party_codes(instance.id)
    tasks = core(_TASK_ROW.where(TASKS.c.instance_id == instance.id, TASKS.c.state.in_(OPEN_TASK_STATES),
                                 task_visible(principal)).order_by(TASKS.c.id)).all()
    return {**_instance_dict(instance, scope_of(principal, instance.id)), "parties": parties,
            "tasks": [_task_dict(t) for t in tasks]}


def list_events(principal: Principal, instance_id: int, page: int, per_page: int) -> dict[str, Any]:
    """The instance's history as `principal` may read it (`party_scope`): other parties' tasks left
    out, the names of people outside the reader's reach left blank; with the verdict of its hash
    chain (`history_chain`) for platform staff."""
    get_instance(principal, instance_id)
    scope = scope_of(principal, instance_id)
    query = (select(InstanceEvent, User.username, User.org_id).outerjoin(User, User.id == InstanceEvent.actor_id)
             .where(InstanceEvent.instance_id == instance_id).order_by(*IN_TIME_ORDER))
    if scope.hidden_elements:
        query = query.where(or_(InstanceEvent.kind.in_(MILESTONES), InstanceEvent.element_id.is_(None),
                                InstanceEvent.element_id.not_in(scope.hidden_elements)))
    found = _page(query, page, per_page, lambda r: {
        "id": r[0].id, "kind": r[0].kind, "element_id": r[0].element_id, "at": r[0].at,
        "actor": r[1] if scope.names_actor(r[2]) else None, "details": scope.details(r[0].details)})
    # the whole chain, hidden events included: for platform staff only, who read every event
    found["chain"] = (history_chain.verdict_of(instance_id).as_dict()
                      if policy.allowed(principal, "incidents.read") else None)
    return found


def process_titles(version_ids: list[int], language: str) -> dict[int, str]:
    """Each process version's name in `language` (`labels.process_title`), by version id."""
    if not version_ids:
        return {}
    rows = db.session.execute(select(ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.names)
                              .where(ProcessVersion.id.in_(sorted(set(version_ids))))).all()
    return {row.id: labels.process_title(row.names, row.process_id, language) for row in rows}


def process_names(process_ids: list[str], language: str) -> dict[str, str]:
    """Each process's name in `language`, as its latest version gives it, by process id."""
    if not process_ids:
        return {}
    rows = db.session.execute(newest_versions("process", ProcessVersion.process_id, ProcessVersion.names,
                                              ids=process_ids)).all()
    return {row.process_id: labels.process_title(row.names, row.process_id, language) for row in rows}


RUNNING = ("running", "waiting", "error")  # what Camunda's runtime API lists: not ended
ENDED = ("completed", "cancelled")
_CHUNK = 500


INSTANCE_ORDER = {"id": ProcessInstance.id, "process_id": ProcessInstance.process_id,
                  "version": ProcessInstance.version, "business_key": ProcessInstance.business_key,
                  "started": ProcessInstance.created_at, "ended": ProcessInstance.ended_at}


def find_instances(principal: Principal, first: int, most: int, process_id: str | None = None,
                   business_key: str | None = None, ids: list[int] | None = None,
                   where: Callable[[dict[str, Any]], bool] | None = None,
                   statuses: Sequence[str] = RUNNING, order: Order = ()) -> list[dict[str, Any]]:
    """The instances of these statuses (not ended, by default) that this user may see, in `order` (keys of
    `INSTANCE_ORDER`; oldest first when none), from the `first`-th, at most `most`, as `instance_detail` says them
    (their data as the user may read it); `where` on that data chooses among them (Camunda's variable filters), read
    in chunks so that a filter never loads every instance at once."""
    query = ordering.ordered(_instances_query(principal, process_id, business_key, ids, statuses), INSTANCE_ORDER,
                             order, ProcessInstance.id)
    if where is None:
        page = db.session.scalars(query.offset(first).limit(most)).all()
        scopes = scopes_of(principal, [instance.id for instance in page])
        return [_instance_dict(instance, scopes[instance.id]) for instance in page]
    found: list[dict[str, Any]] = []
    skipped, after, read = 0, 0, 0
    while len(found) < most:
        # oldest first: after the last id read (no rows skipped again); in another order, by position
        chunk = db.session.scalars((query.where(ProcessInstance.id > after) if not order else query.offset(read))
                                   .limit(_CHUNK)).all()
        if not chunk:
            break
        after, read = chunk[-1].id, read + len(chunk)
        scopes = scopes_of(principal, [instance.id for instance in chunk])
        for instance in chunk:
            shown = _instance_dict(instance, scopes[instance.id])
            if not where(shown["data"] or {}):
                continue
            if skipped < first:
                skipped += 1
            elif len(found) < most:
                found.append(shown)
    return found


def count_instances(principal: Principal, process_id: str | None = None, business_key: str | None = None,
                    where: Callable[[dict[str, Any]], bool] | None = None, statuses: Sequence[str] = RUNNING,
                    ids: list[int] | None = None) -> int:
    """How many instances `find_instances` would list."""
    if where is None:
        query = _instances_query(principal, process_id, business_key, ids, statuses)
        return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return len(find_instances(principal, 0, 2**31, process_id, business_key, ids, where, statuses))


def _instances_query(principal: Principal, process_id: str | None, business_key: str | None,
                     ids: list[int] | None, statuses: Sequence[str]) -> Select:
    query = select(ProcessInstance).where(instance_visible(principal), ProcessInstance.status.in_(statuses))
    if process_id:
        query = query.where(ProcessInstance.process_id == process_id)
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    if ids is not None:
        query = query.where(ProcessInstance.id.in_(ids))
    return query


def instance_data(principal: Principal, instance_id: int) -> dict[str, Any]:
    """The instance's data as this user may read it (404 as `get_instance`)."""
    instance = get_instance(principal, instance_id)
    return scope_of(principal, instance.id).data(instance.data) or {}


TASK_ORDER = {"id": TASKS.c.id, "created": TASKS.c.created_at, "due": TASKS.c.due_at, "name": TASKS.c.title,
              "assignee": _claimer.c.username, "priority": TASKS.c.priority, "instance_id": TASKS.c.instance_id}


def open_tasks(principal: Principal, first: int, most: int, language: str = "en", order: Order = (),
               **wanted: Any) -> list[dict[str, Any]]:
    """The open user tasks this user may see, in `order` (keys of `TASK_ORDER`; oldest first when none), from the
    `first`-th, at most `most` (Camunda's task query; `wanted` as `_open_tasks_query`): each with its instance's
    process and version, its name in `language`."""
    query = ordering.ordered(_open_tasks_query(principal, **wanted), TASK_ORDER, order, TASKS.c.id)
    rows = core(query.offset(first).limit(most)).all()
    return [{**_task_dict(row), "title": labels.task_title(row.title, row.properties, language),
             "process_id": row.process_id, "version": row.version, "has_form": row.form_id is not None}
            for row in rows]


def count_open_tasks(principal: Principal, **wanted: Any) -> int:
    """How many tasks `open_tasks` would list."""
    return core(select(func.count()).select_from(_open_tasks_query(principal, **wanted).subquery())).scalar_one()


def _open_tasks_query(principal: Principal, instance_id: int | None = None, process_id: str | None = None,
                      element_id: str | None = None, claimed_by: str | None = None, unclaimed: bool = False,
                      lane: str | None = None, task_id: int | None = None) -> Select:
    query = (_TASK_ROW.add_columns(TASKS.c.properties, TASKS.c.form_id, INSTANCE_TABLE.c.process_id,
                                   INSTANCE_TABLE.c.version)
             .join(INSTANCE_TABLE, INSTANCE_TABLE.c.id == TASKS.c.instance_id)
             .where(task_visible(principal), TASKS.c.state.in_(OPEN_TASK_STATES)))
    for column, wanted in ((TASKS.c.instance_id, instance_id), (INSTANCE_TABLE.c.process_id, process_id),
                           (TASKS.c.element_id, element_id), (_claimer.c.username, claimed_by),
                           (TASKS.c.lane, lane), (TASKS.c.id, task_id)):
        if wanted is not None:
            query = query.where(column == wanted)
    if unclaimed:
        query = query.where(TASKS.c.claimed_by_id.is_(None))
    return query
