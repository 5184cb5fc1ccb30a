"""Claiming, unclaiming and completing human tasks."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Executable, Select, bindparam, select, update
from sqlalchemy.orm import aliased

from app.engine.runner import TaskNotReady, jsonable
from app.extensions import db
from app.models import HumanTask, User, UserRole
from app.models.task import OPEN_TASK_STATES
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.identity import policy
from app.services.identity.access import task_offered, task_visible
from app.services.identity.directory import Actor, Principal, principal_for
from app.services.workflow import form_choices, labels
from app.services.workflow import uploads as uploads_kept
from app.services.workflow.cancellations import why_cancelled
from app.services.workflow.forms import forms_by_id, validate_submission
from app.services.workflow.runtime import runtime
from app.services.workflow.step_runner import atomic_step, run_step
from app.services.workflow.step_store import INSTANCES, TASKS, InstanceRow, core, record
from app.services.workflow.uploads import Upload

_TASK_FOR_STEP = select(TASKS.c.id, TASKS.c.instance_id, TASKS.c.engine_task_id, TASKS.c.element_id,
                        TASKS.c.state, TASKS.c.lane, TASKS.c.claimed_by_id, TASKS.c.form_id, TASKS.c.ui_form_id,
                        TASKS.c.properties, TASKS.c.shown)
# What a completion's step needs of the instance, read with the task (see steps.InstanceRow).
_INSTANCE_OF_TASK = [INSTANCES.c.process_version_id, INSTANCES.c.pins, INSTANCES.c.business_key,
                     INSTANCES.c.status, INSTANCES.c.state, INSTANCES.c.lock_version, INSTANCES.c.waiting_for,
                     INSTANCES.c.last_event_hash]
_COMPLETE = update(TASKS).where(TASKS.c.id == bindparam("_id"), TASKS.c.state.in_(OPEN_TASK_STATES))


@lru_cache(maxsize=1024)
def _action_query(actor: Principal) -> Select:
    """The task-and-instance query for this actor's rights, built once per actor: building the
    access conditions cost more than running the query."""
    return (select(*_TASK_FOR_STEP.selected_columns, task_offered(actor).label("offered"),
                   *[c.label(f"instance_{c.name}") for c in _INSTANCE_OF_TASK])
            .join_from(TASKS, INSTANCES, INSTANCES.c.id == TASKS.c.instance_id)
            .where(TASKS.c.id == bindparam("task_id"), task_visible(actor)))


def task_for_action(task_id: int, actor: Principal):  # noqa: ANN201
    """The task row if the actor may act on it: 404 if they may not see it, 403 if only see it.

    The row also carries its instance's columns (`instance_state`, …) for `instance_of`.
    """
    row = core(_action_query(actor), {"task_id": task_id}).first()
    if row is None:
        raise NotFound(TASK_NOT_FOUND)
    if not row.offered:
        raise Forbidden(_l("This task is not offered to you."), code="not_offered")
    return row


TASK_NOT_FOUND = _l("There is no such task, or it is not one you may see.")


def may_work(task_id: int, actor: Principal) -> bool:
    """Whether the actor may fill in and complete this task now (offered, open, not someone else's)."""
    row = core(_action_query(actor), {"task_id": task_id}).first()
    if row is None or not row.offered or _separated_from(row, actor):
        return False
    return row.state == "ready" or (row.state == "claimed" and row.claimed_by_id == actor.id)


def waiting_on(actor: Principal, business_key: str, language: str) -> dict[str, Any] | None:
    """The open task of the deal `business_key` the actor may do now (`may_work`), the oldest first: `id` and
    `title` (in `language`), for the deal's page to lead them to it; None when the deal waits for no task of theirs."""
    for task_id, title, properties in db.session.execute(
            select(HumanTask.id, HumanTask.title, HumanTask.properties)
            .join(INSTANCES, INSTANCES.c.id == HumanTask.instance_id)
            .where(INSTANCES.c.business_key == business_key, HumanTask.state.in_(OPEN_TASK_STATES))
            .order_by(HumanTask.id)):
        if may_work(task_id, actor):
            return {"id": task_id, "title": labels.task_title(title, properties, language)}
    return None


def four_eyes_refused(task_id: int, actor: Principal) -> bool:
    """Whether four-eyes keeps the actor from this task: they completed the task it is `separateFrom`."""
    row = core(_action_query(actor), {"task_id": task_id}).first()
    return row is not None and row.state in OPEN_TASK_STATES and _separated_from(row, actor) is not None


def instance_of(task) -> InstanceRow:  # noqa: ANN001 - a row of task_for_action
    return InstanceRow(task.instance_id, *(getattr(task, f"instance_{c.name}") for c in _INSTANCE_OF_TASK))


def task_form(task) -> tuple[dict | None, dict | None]:  # noqa: ANN001 - a HumanTask or a task row
    ids = [i for i in (task.form_id, task.ui_form_id) if i]
    forms = forms_by_id(ids) if ids else {}
    schema = forms.get(task.form_id) if task.form_id else None
    return (form_choices.resolved(schema, task.shown), forms.get(task.ui_form_id) if task.ui_form_id else None)


_CLOSED = {"completed": _l("This task is already done."), "cancelled": _l("This task was withdrawn.")}
CLAIMED_BY_SOMEONE_ELSE = _l("Someone else is working on this task.")
CHANGED_MEANWHILE = _l("The task changed in the meantime. Reload the page and try again.")


def _closed(task, state: str) -> Conflict:  # noqa: ANN001 - a HumanTask or a task row
    """The refusal to act on a task that is done or withdrawn: why it was withdrawn, when that was said."""
    told = why_cancelled(task.instance_id, task.id) if state == "cancelled" else None
    return Conflict(told or _CLOSED[state], code=f"task_{state}")


def _lost(task) -> Conflict:  # noqa: ANN001
    """The refusal when the task changed between reading and writing it: done or withdrawn meanwhile (said as
    such), else changed."""
    state = db.session.scalar(select(HumanTask.state).where(HumanTask.id == task.id))
    return _closed(task, state) if state in _CLOSED else Conflict(CHANGED_MEANWHILE, code="stale_version")


def _refuse_if_closed(task, actor: Actor) -> None:  # noqa: ANN001 - a HumanTask or a task row
    if task.state in _CLOSED:
        raise _closed(task, task.state)
    if task.state == "claimed" and task.claimed_by_id != actor.id:
        raise Conflict(CLAIMED_BY_SOMEONE_ELSE, code="task_claimed")


def _rowcount(statement: Executable) -> int:
    """How many rows a conditional UPDATE changed (0: someone else got there first)."""
    return core(statement).rowcount


def _separated_from(task, actor: Actor) -> str | None:  # noqa: ANN001
    """The task this one is `separateFrom` if the actor completed it in the same instance, else None."""
    other = (task.properties or {}).get("separateFrom")
    return other if other and actor.id in _did_the_step_before(task) else None


def _refuse_same_person(task, actor: Actor) -> None:  # noqa: ANN001
    """Four-eyes: a task marked `separateFrom` another may not be done (nor claimed) by whoever did that one.
    The inbox does not offer it to them (`inbox._group`)."""
    if _separated_from(task, actor) is not None:
        raise Forbidden(_l("You did an earlier step of this deal that needs a second person: someone else does "
                           "this one."), code="four_eyes")


def claim_task(task_id: int, actor: Actor) -> None:
    task = task_for_action(task_id, actor)
    _refuse_if_closed(task, actor)
    if task.state == "claimed":
        return
    _refuse_same_person(task, actor)
    at = now()
    changed = _rowcount(update(HumanTask).where(HumanTask.id == task.id, HumanTask.state == "ready")
                         .values(state="claimed", claimed_by_id=actor.id))
    if not changed:
        db.session.rollback()
        if db.session.scalar(select(HumanTask.claimed_by_id).where(HumanTask.id == task.id)) == actor.id:
            return  # the same person's other claim at the same moment (a double click) took it
        raise Conflict(CLAIMED_BY_SOMEONE_ELSE, code="task_claimed")
    record(task.instance_id, task.instance_last_event_hash, "task_claimed", at, actor.id, task.element_id,
           {"task_id": task.id})
    db.session.commit()


def _task_to_assign(task_id: int, actor: Actor):  # noqa: ANN202
    """The task row if the actor may assign it: 404 if they may not see it, 403 if not theirs to assign."""
    task = core(_TASK_FOR_STEP.add_columns(TASKS.c.org_id, INSTANCES.c.last_event_hash.label("instance_last_event_hash"))
                .join_from(TASKS, INSTANCES, INSTANCES.c.id == TASKS.c.instance_id)
                .where(TASKS.c.id == task_id, task_visible(actor))).first()
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    if not policy.allowed(actor, "tasks.assign", org_id=task.org_id):
        raise Forbidden(_l("Assigning tasks needs the team lead role in the task's organisation."),
                        code="not_team_lead")
    return task


def assignable_users(task_id: int, actor: Actor) -> list[tuple[str, str]]:
    """(username, name) of whom the actor may assign this open task to; empty if they may not assign."""
    if not policy.may_ever(actor, "tasks.assign"):
        return []  # most people viewing a task: no query
    try:
        task = _task_to_assign(task_id, actor)
    except (NotFound, Forbidden):
        return []
    if task.state not in OPEN_TASK_STATES:
        return []
    query = select(User.username, User.display_name).where(User.active.is_(True)).order_by(User.username)
    if task.lane:
        query = query.join(UserRole, UserRole.user_id == User.id).where(UserRole.role == task.lane)
    if task.org_id:
        query = query.where(User.org_id == task.org_id)
    elif not task.lane:
        query = query.where(User.org_id == actor.org_id)
    barred = _did_the_step_before(task)
    if barred:
        query = query.where(User.id.not_in(barred))
    return [(name, display or name) for name, display in db.session.execute(query.limit(500))]


def assignable_for(actor: Actor, tasks: Iterable[Mapping[str, Any]]) -> dict[int, list[tuple[str, str]]]:
    """(username, name) of whom the actor may assign each of their organisation's tasks (a list's rows:
    `id` and `lane`) to: the active holders of the lane's role there less whom four-eyes keeps from
    the task, as `assignable_users` says for one task (two queries for a list)."""
    lanes = {row["id"]: row["lane"] for row in tasks if row.get("lane")}
    if not lanes or not policy.allowed(actor, "tasks.assign", org_id=actor.org_id):
        return {}
    by_lane: dict[str, list[tuple[int, str, str]]] = {lane: [] for lane in lanes.values()}
    for user_id, role, name, display in db.session.execute(
            select(User.id, UserRole.role, User.username, User.display_name).join(User, User.id == UserRole.user_id)
            .where(User.active.is_(True), User.org_id == actor.org_id, UserRole.role.in_(sorted(by_lane)))
            .order_by(User.username).limit(2000)):
        by_lane[role].append((user_id, name, display or name))
    barred = _completers_of_earlier(lanes)
    return {task_id: [(name, shown) for user_id, name, shown in by_lane[lane] if user_id not in barred[task_id]]
            for task_id, lane in lanes.items()}


def assign_task(task_id: int, username: str, actor: Actor) -> None:
    """A team lead gives an open task of their organisation to someone who holds its lane's role."""
    task = _task_to_assign(task_id, actor)
    if task.state not in OPEN_TASK_STATES:
        raise _closed(task, task.state)
    assignee = _assignee(username, task)
    if assignee.id in _did_the_step_before(task):
        raise Invalid(FOUR_EYES_ASSIGNEE, fields={"username": [FOUR_EYES_ASSIGNEE]}, code="four_eyes_assignee")
    changed = _rowcount(update(HumanTask).where(HumanTask.id == task.id, HumanTask.state.in_(OPEN_TASK_STATES))
                        .values(state="claimed", claimed_by_id=assignee.id))
    if not changed:
        db.session.rollback()
        raise _lost(task)
    record(task.instance_id, task.instance_last_event_hash, "task_assigned", now(), actor.id, task.element_id,
           {"task_id": task.id, "assignee": username})
    db.session.commit()


NOT_ASSIGNABLE = _l("No active user of that name may work this task.")
FOUR_EYES_ASSIGNEE = _l("This person did an earlier step of this deal that needs a second person: choose "
                        "someone else.")


def _did_the_step_before(task: Any) -> set[int]:  # a row with id and properties
    """Who completed the task this one is `separateFrom` in the same instance (four-eyes keeps them from it)."""
    if not (task.properties or {}).get("separateFrom"):
        return set()  # most tasks: no query
    return _completers_of_earlier([task.id])[task.id]


def _completers_of_earlier(task_ids: Iterable[int]) -> dict[int, set[int]]:
    """Four-eyes, the one rule: for each task, who completed the task it is `separateFrom` in the same
    instance; they may not claim, complete or be assigned it. One query for any number of tasks."""
    found: dict[int, set[int]] = {task_id: set() for task_id in task_ids}
    task, earlier = aliased(HumanTask), aliased(HumanTask)
    for task_id, user_id in db.session.execute(
            select(task.id, earlier.completed_by_id)
            .join(earlier, (earlier.instance_id == task.instance_id) & (earlier.state == "completed")
                  & (earlier.element_id == task.properties["separateFrom"].as_string()))
            .where(task.id.in_(sorted(found)))):
        if user_id is not None:  # a task completed before completed_by_id was kept names no one
            found[task_id].add(user_id)
    return found


def _assignee(username: str, task: Any) -> Principal:  # task: the row of `_task_to_assign`
    """The user a task may be assigned to. An unknown or inactive name and someone without the
    lane's role in the task's organisation get the one answer: it tells no one who exists."""
    try:
        assignee: Principal | None = principal_for(username)
    except Invalid:
        assignee = None
    if assignee is None or (task.lane and (not assignee.has_role(task.lane)
                                           or (task.org_id and assignee.org_id != task.org_id))):
        raise Invalid(NOT_ASSIGNABLE, fields={"username": [NOT_ASSIGNABLE]}, code="not_assignable")
    return assignee


def unclaim_task(task_id: int, actor: Actor) -> None:
    task = task_for_action(task_id, actor)
    if task.state != "claimed":
        raise Conflict(_l("Nobody is working on this task: there is nothing to release."), code="task_not_claimed")
    if task.claimed_by_id != actor.id and not policy.allowed(actor, "tasks.unclaim_others"):
        raise Conflict(CLAIMED_BY_SOMEONE_ELSE, code="task_claimed")
    changed = _rowcount(update(HumanTask).where(HumanTask.id == task.id, HumanTask.state == "claimed",
                                                         HumanTask.claimed_by_id == task.claimed_by_id)
                         .values(state="ready", claimed_by_id=None))
    if not changed:
        db.session.rollback()
        raise _lost(task)
    record(task.instance_id, task.instance_last_event_hash, "task_unclaimed", now(), actor.id, task.element_id,
           {"task_id": task.id})
    db.session.commit()




def answer_problems(task_id: int, data: dict[str, Any], actor: Actor) -> dict[str, list[str]]:
    """What completing the task with `data` would say is wrong with its fields ({}: nothing), in the reader's
    language, completing nothing: a page that could not read some fields says the others' errors with theirs."""
    task = task_for_action(task_id, actor)
    schema, _ui = task_form(task)
    try:
        validate_submission(schema, data, task.shown)
    except Invalid as exc:
        return {name: [str(message) for message in messages] for name, messages in exc.fields.items()}
    return {}


def complete_task(task_id: int, data: dict[str, Any], actor: Actor, uploads: Sequence[Upload] = (),
                  answered_elsewhere: bool = False) -> int:
    """Validate the submission, complete the user task and run the instance on until idle.

    Uploads become documents of the instance in the same transaction; their fields' values
    become `document:<id>`. Nothing is kept when anything fails. `answered_elsewhere`: a service
    completes the task for an action of the person that is their answer (`validate_submission`).
    """
    rt, at = runtime(), now()
    with atomic_step() as on_commit:
        task = task_for_action(task_id, actor)
        _refuse_if_closed(task, actor)
        _refuse_same_person(task, actor)
        schema, _ui = task_form(task)
        validate_submission(schema, data, task.shown, answered_elsewhere)
        instance = instance_of(task)
        uploads_kept.keep(instance.id, task.id, schema, uploads, data, actor.id)
        kept = jsonable(kept_answers(schema, data))
        closed = core(_COMPLETE, {"_id": task.id, "state": "completed", "claimed_by_id": task.claimed_by_id or actor.id,
                                  "completed_by_id": actor.id, "completed_at": at, "data": kept}).rowcount
        if not closed:
            raise _lost(task)

        def act(workflow):  # noqa: ANN001, ANN202
            try:
                return rt.engine.complete_user_task(workflow, task.engine_task_id, data)
            except TaskNotReady:
                raise Conflict(_l("This task cannot be completed yet: the deal is not at this step."),
                               code="task_not_ready") from None

        run_step(instance, act, on_commit, actor.id,
                 [("task_completed", task.element_id, {"task_id": task.id, "data": kept})],
                 closed_task_id=task.id)
    return task_id


def _fields_marked(schema: dict[str, Any] | None, keyword: str) -> set[str]:
    return {name for name, prop in ((schema or {}).get("properties") or {}).items()
            if isinstance(prop, dict) and prop.get(keyword) is True}


def kept_answers(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """The answers kept with the task and its history: all but the form's `writeOnly` fields (a
    verification code goes to the diagram and is never stored or shown again)."""
    secret = _fields_marked(schema, "writeOnly")
    return {k: v for k, v in data.items() if k not in secret}
