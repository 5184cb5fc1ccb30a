"""Persisting one engine step: instance state, the human-task table and the history, together.

A step writes with SQLAlchemy Core in a handful of statements — the new task rows in one
INSERT … RETURNING, the events in one executemany, the instance in one UPDATE guarded by its
`lock_version` — because the ORM's per-object bookkeeping cost more than the engine itself.
The statements are built once, at import, with bound parameters: building one per call (its
clauses coerced, its cache key computed) cost three to six times what executing it does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from sqlalchemy import CursorResult, Executable, Table, bindparam, insert, select, update

from app.engine.durations import due_after
from app.engine.runner import SIGNAL_PREFIX, ReadyTask, StepOutcome
from app.extensions import db
from app.models import (
    HumanTask,
    Incident,
    InstanceEvent,
    InstanceParty,
    InstanceWait,
    MessageWait,
    ProcessInstance,
    User,
)
from app.models.task import OPEN_TASK_STATES
from app.services import context
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, NotFound
from app.services.identity.access import lane_party
from app.services.workflow import external_task_rows, task_candidates, task_lanes
from app.services.workflow.history_chain import chain

INSTANCES: Table = ProcessInstance.__table__  # type: ignore[assignment]
TASKS: Table = HumanTask.__table__  # type: ignore[assignment]
EVENTS: Table = InstanceEvent.__table__  # type: ignore[assignment]
WAITS: Table = MessageWait.__table__  # type: ignore[assignment]
INCIDENTS: Table = Incident.__table__  # type: ignore[assignment]
PARTIES: Table = InstanceParty.__table__  # type: ignore[assignment]
ELEMENT_WAITS: Table = InstanceWait.__table__  # type: ignore[assignment]
USERS: Table = User.__table__  # type: ignore[assignment]
_LOAD = select(INSTANCES.c.id, INSTANCES.c.process_version_id, INSTANCES.c.pins, INSTANCES.c.business_key,
               INSTANCES.c.status, INSTANCES.c.state, INSTANCES.c.lock_version, INSTANCES.c.waiting_for,
               INSTANCES.c.last_event_hash)
_LOAD_BY_ID = _LOAD.where(INSTANCES.c.id == bindparam("instance_id"))
_OPEN_TASKS = select(TASKS.c.id, TASKS.c.engine_task_id, TASKS.c.element_id).where(
    TASKS.c.instance_id == bindparam("instance_id"), TASKS.c.state.in_(OPEN_TASK_STATES))
_CANCEL_TASKS = update(TASKS).where(TASKS.c.id.in_(bindparam("task_ids", expanding=True))).values(
    state="cancelled")
_INSERT_TASKS = insert(TASKS).returning(TASKS.c.id, sort_by_parameter_order=True)
INSERT_EVENTS = insert(EVENTS)
_PARTIES_OF = select(PARTIES.c.party, PARTIES.c.org_id).where(PARTIES.c.instance_id == bindparam("instance_id"))
_RESOLVE_INCIDENTS = update(INCIDENTS).where(
    INCIDENTS.c.instance_id == bindparam("_instance_id"), INCIDENTS.c.resolved_at.is_(None))
_INSERT_INCIDENT = insert(INCIDENTS)
_DELETE_WAITS = WAITS.delete().where(WAITS.c.instance_id == bindparam("instance_id"))
_INSERT_WAITS = insert(WAITS)
_DELETE_ELEMENT_WAITS = ELEMENT_WAITS.delete().where(ELEMENT_WAITS.c.instance_id == bindparam("instance_id"))
_INSERT_ELEMENT_WAITS = insert(ELEMENT_WAITS)
_ACTIVE_USERS_NAMED = select(USERS.c.username, USERS.c.id, USERS.c.org_id).where(
    USERS.c.username.in_(bindparam("names", expanding=True)), USERS.c.active.is_(True))
# The SET clause comes from the parameters' keys; the guard's names must not be column names.
# The history's head is guarded too: an event recorded outside a step (a claim) moves it without
# a new lock_version, and a step that read the old head must not fork the chain (history_chain).
_UPDATE_INSTANCE = update(INSTANCES).where(INSTANCES.c.id == bindparam("_id"),
                                           INSTANCES.c.lock_version == bindparam("_lock_version"),
                                           INSTANCES.c.last_event_hash.is_not_distinct_from(bindparam("_head")))
_MOVE_HEAD = update(INSTANCES).where(INSTANCES.c.id == bindparam("_id"),
                                     INSTANCES.c.last_event_hash.is_not_distinct_from(bindparam("_head")))


class OpenTask(NamedTuple):
    """An open task row as a step needs it: to cancel it, or to know it is not new."""

    id: int
    engine_task_id: str
    element_id: str


def core(statement: Executable, params: Any = None) -> CursorResult:
    """Run a Core statement on the session's connection and transaction, without ORM machinery."""
    return db.session.connection().execute(statement, params)


@dataclass
class InstanceRow:
    """What a step needs of an instance, read in one query."""

    id: int
    process_version_id: int
    pins: dict[str, int]
    business_key: str | None
    status: str
    state: str
    lock_version: int
    waiting_for: list[str]
    last_event_hash: str | None = None  # the head of its history's chain (history_chain)
    # Known from memory when this process wrote the instance's last step (see LiveWorkflows),
    # else None and read when needed: the open task rows, and the parties' organisations.
    open_tasks: list[OpenTask] | None = None
    parties: dict[str, int] | None = None


def load_instance(instance_id: int) -> InstanceRow:
    row = core(_LOAD_BY_ID, {"instance_id": instance_id}).first()
    if row is None:
        raise NotFound(_l("process instance not found"))
    return InstanceRow(*row)


@dataclass
class Step:
    """What one step writes; `write` sends it to the database in a few statements."""

    instance: InstanceRow
    at: datetime
    actor_id: int | None
    events: list[dict[str, Any]] = field(default_factory=list)

    def event(self, kind: str, element_id: str | None = None, details: dict[str, Any] | None = None,
              actor_id: int | None = None) -> None:
        self.events.append({"instance_id": self.instance.id, "kind": kind, "element_id": element_id,
                            "at": self.at, "actor_id": actor_id, "details": details or {}})

    def write(self, outcome: StepOutcome, form_ids: dict[str, int], new: bool = False) -> int:
        """Sync tasks with the outcome, append the events, update the instance; the new lock_version."""
        instance, at = self.instance, self.at
        # what the step did, cause first (the timer that fired, the message that came, the services that ran),
        # then the tasks it withdrew and opened: the history reads in causal order
        for kind, element_id, details in outcome.history:
            self.event(kind, element_id, details)
        open_rows = [] if new else self._open_tasks()
        ready = {t.engine_task_id for t in outcome.ready}
        gone = [row for row in open_rows if row.engine_task_id not in ready]
        if gone:
            core(_CANCEL_TASKS, {"task_ids": [r.id for r in gone], "completed_at": at})
            for row in gone:
                self.event("task_cancelled", row.element_id, {"task_id": row.id})
        known = {row.engine_task_id for row in open_rows}
        fresh_ready, lanes_said = task_lanes.chosen([t for t in outcome.ready if t.engine_task_id not in known])
        parties = self._parties() if any(lane_party(t.lane) for t in fresh_ready) else {}
        fresh = [_task_values(instance, t, at, form_ids, parties.get(lane_party(t.lane) or ""))
                 for t in fresh_ready]
        assigned = _give_to_assignees(fresh, fresh_ready)
        offered = task_candidates.offer(fresh, fresh_ready)
        still_open = [row for row in open_rows if row.engine_task_id in ready]
        if fresh:
            ids = core(_INSERT_TASKS, fresh).scalars().all()
            task_candidates.record(list(ids), fresh, offered)
            for task_id, added in zip(ids, fresh, strict=True):
                self.event("task_ready", added["element_id"],
                           {"task_id": task_id, "title": added["title"], "lane": added["lane"],
                            **assigned.get(added["engine_task_id"], {}),
                            **offered.said.get(added["engine_task_id"], {}),
                            **lanes_said.get(added["engine_task_id"], {})})
                still_open.append(OpenTask(task_id, added["engine_task_id"], added["element_id"]))
        instance.open_tasks = still_open
        values: dict[str, Any] = {"state": outcome.state, "data": outcome.data, "status": outcome.status,
                                  "updated_at": at, "error": outcome.error, "due_at": outcome.due_at}
        if outcome.messages != instance.waiting_for or outcome.message_keys:
            self._wait_for(outcome.messages, outcome.message_keys)
            values["waiting_for"] = outcome.messages
        if instance.status == "error":  # a retry: its incident is over, whatever comes next
            core(_RESOLVE_INCIDENTS, {"_instance_id": instance.id, "resolved_at": at, "resolved_by_id": self.actor_id})
        if outcome.status == "completed":
            values["ended_at"] = at
            self.event("completed", outcome.end_events[0] if outcome.end_events else None,
                       {"end_events": outcome.end_events}, self.actor_id)
        elif outcome.status == "error":
            error = dict(outcome.error or {})
            self.event("error", error.get("element_id"), {k: v for k, v in error.items() if k != "element_id"},
                       self.actor_id)
            core(_INSERT_INCIDENT, [{
                "instance_id": instance.id, "element_id": error.get("element_id"),
                "engine_task_id": error.get("engine_task_id"), "kind": error.get("kind", "error"),
                "message": error.get("message", ""), "attempts": error.get("attempts"),
                "last_attempt_at": at if error.get("attempts") else None, "details": error, "created_at": at}])
        self.insert_events(values)
        version = update_instance(instance, values)
        # after the guarded UPDATE: a concurrent step on the instance waits for its row and answers 409,
        # never reaching these rows' unique key first
        self._wait_at(_waiting_elements(outcome), new)
        if outcome.awaiting:  # tasks parked for external workers: offered to them
            external_task_rows.keep(instance.id, outcome.awaiting)
        elif outcome.status == "completed" and not new:
            external_task_rows.forget(instance.id)
        instance.status = outcome.status
        return version

    def insert_events(self, values: dict[str, Any]) -> None:
        """Insert the step's events chained after the instance's head; the new head goes in `values`
        (the instance row's UPDATE, which `update_instance` guards)."""
        if self.events:
            values["last_event_hash"] = chain(self.events, self.instance.last_event_hash)
            core(INSERT_EVENTS, self.events)
            self.events = []

    def _open_tasks(self) -> list[OpenTask]:
        if self.instance.open_tasks is None:
            rows = core(_OPEN_TASKS, {"instance_id": self.instance.id}).all()
            self.instance.open_tasks = [OpenTask(*row) for row in rows]
        return self.instance.open_tasks

    def _parties(self) -> dict[str, int]:
        if self.instance.parties is None:
            self.instance.parties = dict(core(_PARTIES_OF, {"instance_id": self.instance.id}).all())
        return self.instance.parties

    def _wait_at(self, elements: list[str], new: bool) -> None:
        """Keep instance_waits to the elements where the instance waits after this step (a new
        instance has none to remove)."""
        if not new:
            clear_waits(self.instance.id)
        if elements:
            core(_INSERT_ELEMENT_WAITS, [{"instance_id": self.instance.id, "element_id": e} for e in elements])

    def _wait_for(self, names: list[str], keys: dict[str, str]) -> None:
        """Mirror the messages the instance waits for into message_waits, each under the key it is found by:
        the one its event gave it (`correlation_keys`), else the business key."""
        instance = self.instance
        core(_DELETE_WAITS, {"instance_id": instance.id})
        # a message finds its instance by key; a signal reaches every instance that waits for it
        mirrored = [n for n in names if instance.business_key or n in keys or n.startswith(SIGNAL_PREFIX)]
        if mirrored:
            core(_INSERT_WAITS, [{"instance_id": instance.id, "name": n,
                                  "business_key": keys.get(n, instance.business_key or "")} for n in mirrored])
        instance.waiting_for = names


def _waiting_elements(outcome: StepOutcome) -> list[str]:
    """Where the instance waits after a step: the engine's waits, or the element that failed."""
    if outcome.status == "error":
        failed = (outcome.error or {}).get("element_id")
        return [failed] if failed else []
    return outcome.waits if outcome.status == "waiting" else []


def clear_waits(instance_id: int) -> None:
    """Forget where an instance waits (before a step writes it again, or when it is cancelled)."""
    core(_DELETE_ELEMENT_WAITS, {"instance_id": instance_id})


def update_instance(instance: InstanceRow, values: dict[str, Any]) -> int:
    """The one versioned UPDATE of a step: a concurrent step on the instance makes this a 409."""
    new_version = instance.lock_version + 1
    changed = core(_UPDATE_INSTANCE, {**values, "lock_version": new_version, "_id": instance.id,
                                      "_lock_version": instance.lock_version, "_head": instance.last_event_hash})
    if changed.rowcount != 1:
        raise Conflict(STALE, code="stale_version")
    instance.lock_version = new_version
    instance.last_event_hash = values.get("last_event_hash", instance.last_event_hash)
    return new_version


STALE = _l("the instance was changed by someone else at the same time; reload and retry")


def _task_values(instance: InstanceRow, task: ReadyTask, at: datetime, form_ids: dict[str, int],
                 org_id: int | None) -> dict[str, Any]:
    props = task.properties
    evaluated = task.evaluated.get("dueAtExpression")
    due_at = _due_at(evaluated)
    # else a duration from now: the expression's (a Camunda dueDate may give 'P2D'), or the dueIn property
    duration = evaluated if isinstance(evaluated, str) and evaluated.startswith("P") else props.get("dueIn")
    if due_at is None and duration:
        try:
            due_at = due_after(duration, at)
        except ValueError:
            due_at = None
    priority = _priority(task.evaluated.get("priorityExpression"))
    if priority is None:
        priority = _priority(props.get("priority"))
    return {
        "instance_id": instance.id, "process_version_id": instance.process_version_id,  # the inbox filters on it
        "engine_task_id": task.engine_task_id, "element_id": task.element_id,
        "title": task.title[:255], "lane": task.lane, "org_id": org_id, "state": "ready",
        "form_id": form_ids.get(props.get("formJsonSchemaFilename", "")),
        "ui_form_id": form_ids.get(props.get("formUiSchemaFilename", "")),
        "properties": props, "priority": priority, "due_at": due_at, "created_at": at,
        "claimed_by_id": None, "completed_by_id": None, "completed_at": None, "data": None,
        "shown": task.shown or None,
    }


def _assignee_of(task: ReadyTask) -> str | None:
    """The user name a task is given to when it becomes ready: its `assigneeExpression`'s value on
    the task's data, else its `assignee` property (camunda:assignee, by the import layer)."""
    if task.properties.get("assigneeExpression"):
        value = task.evaluated.get("assigneeExpression")
        return value.strip() if isinstance(value, str) and value.strip() else None
    value = task.properties.get("assignee")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _give_to_assignees(fresh: list[dict[str, Any]], ready: list[ReadyTask]) -> dict[str, dict[str, str]]:
    """Claim each new task that names an assignee for that active user (in the task's organisation,
    when its lane binds one), one query for the step; a name no such user has leaves the task offered
    as its lane says. What the task_ready events say, by engine task id."""
    wanted = {t.engine_task_id: name for t in ready if (name := _assignee_of(t))}
    if not wanted:
        return {}
    users = {name: (user_id, org_id) for name, user_id, org_id in core(
        _ACTIVE_USERS_NAMED, {"names": sorted(set(wanted.values()))})}
    said: dict[str, dict[str, str]] = {}
    for values in fresh:
        name = wanted.get(values["engine_task_id"])
        if name is None:
            continue
        user = users.get(name)
        if user is not None and values["org_id"] in (None, user[1]):
            values.update(state="claimed", claimed_by_id=user[0])
            said[values["engine_task_id"]] = {"assignee": name}
        else:
            said[values["engine_task_id"]] = {"assignee_not_found": name}
    return said


def _priority(raw: Any) -> int | None:
    """1 (most urgent) to 5, from a property or an expression's value; None for anything else."""
    if isinstance(raw, bool):
        return None
    try:
        value = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return value if value is None or 1 <= value <= 5 else None


def _due_at(value: Any) -> datetime | None:
    """A due time from instance data: an ISO datetime (local time if it has no offset), or a date
    (due by the end of that day, local time). None for anything else."""
    if not isinstance(value, str) or not value:
        return None
    local = context.business_tz()
    try:
        if len(value) == 10:  # a date: the end of that day
            return datetime.combine(date.fromisoformat(value), time(23, 59, 59), local).astimezone(UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=local)).astimezone(UTC)


def record(instance_id: int, head: str | None, kind: str, at: datetime, actor_id: int | None = None,
           element_id: str | None = None, details: dict[str, Any] | None = None) -> None:
    """Append one event outside an engine step (claims) after `head`, the instance's last event hash
    as the caller read it, and move the head. If a step or another claim moved it meanwhile, the
    transaction is rolled back and this is a Conflict: the chain never forks."""
    event = {"instance_id": instance_id, "kind": kind, "element_id": element_id, "at": at,
             "actor_id": actor_id, "details": details or {}}
    new_head = chain([event], head)
    core(INSERT_EVENTS, [event])
    if core(_MOVE_HEAD, {"last_event_hash": new_head, "_id": instance_id, "_head": head}).rowcount != 1:
        db.session.rollback()
        raise Conflict(STALE, code="stale_version")
