"""External tasks: service tasks that the external task workers a Camunda 7 user already runs do, fetched and
answered over Camunda's REST API (`/engine-rest/external-task`, `app/api/camunda_rest/external_tasks.py`).

An admin maps a topic (`camunda:type="external" camunda:topic="X"`) to the operator `camunda.external_task`
(Administration > Operator mappings). An instance reaching such a task parks it (`app.engine.external_tasks`) and
waits; the step writes the task here, offered to workers of its topic. A worker (any client of Camunda's external
task API, with a bearer token of a user who may work them: `external_tasks.work`, the platform's admins and
operators) then:

- **fetches and locks** up to `maxTasks` tasks of its topics for `lockDuration` — each task to one worker only,
  however many fetch at once (a guarded UPDATE decides) — with the instance's variables (all, or those named);
- **completes** one it holds with variables: they become the process's variables and the instance goes on, in
  the request (`ProcessEngine.resume_worker`, the task's operator giving the answer);
- reports a **BPMN error** (`errorCode`): thrown at the task, caught by its error boundary event, else an incident;
- reports a **failure**: with retries left the task is offered again after `retryTimeout`; with none, an incident
  whose retry (the console's, or the API's) offers the task again;
- **extends** its lock, or **unlocks** the task.

A task whose instance moved on without it (a boundary event, a cancel) is not offered: workers see the tasks the
instance waits at (`instance_waits`); one answered after that is 404 and forgotten.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update

from app.engine.errors import InstanceFault
from app.engine.external_tasks import EXTERNAL_TASK_OPERATOR, AwaitingWorker
from app.engine.migration import element_labels
from app.engine.runner import TaskNotReady
from app.engine.said import said
from app.extensions import db
from app.models import ExternalTask, InstanceWait, ProcessInstance
from app.services import context
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid, NotFound
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.workflow import labels, ordering
from app.services.workflow.operators import BusinessError, HandlerContext, HandlerRegistry
from app.services.workflow.ordering import Order
from app.services.workflow.runtime import runtime
from app.services.workflow.step_runner import atomic_step, run_step
from app.services.workflow.step_store import core, load_instance

MAX_TASKS = 100  # one fetch
MAX_LOCK = timedelta(days=7)
LONG_POLL_MAX = timedelta(seconds=30)  # a fetch waits no longer, whatever it asks: under a proxy's 60 s read timeout
POLL_EVERY = 0.5  # seconds between a waiting fetch's looks
_monotonic, _sleep = time.monotonic, time.sleep  # a waiting fetch's clock (a test counts on one of its own)
WORKED = ("running", "waiting")  # an instance whose waits workers may work (one stopped on an incident waits for it)
LISTED = (*WORKED, "error")  # the console lists a stopped instance's tasks too
FAILED_REPORTED = "failed_reported"  # the failure became an incident: its retry offers the task again


@dataclass(frozen=True)
class Topic:
    """One topic a worker fetches: its name, how long it holds what it fetches, the variables it wants (None: all)."""

    name: str
    lock: timedelta
    variables: Sequence[str] | None = None


# -- the operator and the step's side --------------------------------------------------------------------
def register(registry: HandlerRegistry) -> None:
    registry.register(EXTERNAL_TASK_OPERATOR)(_operator)


def _row(instance_id: int | None, engine_task_id: str) -> ExternalTask | None:
    return db.session.scalar(select(ExternalTask).where(
        ExternalTask.instance_id == instance_id, ExternalTask.engine_task_id == engine_task_id)
        .execution_options(populate_existing=True))


def _operator(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """The task's run: parked until a worker answers, then what the worker answered."""
    topic = str(params.get("topic") or ctx.element_id)
    row = _row(ctx.instance_id, ctx.engine_task_id)
    if row is None or row.answer is None:
        raise AwaitingWorker(topic)
    result = dict(row.result or {})
    if row.answer == "completed":
        return dict(result.get("variables") or {})
    if row.answer == "bpmn_error":
        raise BusinessError(str(result.get("code")), str(result.get("message") or ""), result.get("variables"))
    if row.answer == "failed":  # no retries left: an incident, whose retry offers the task again
        row.answer = FAILED_REPORTED
        raise InstanceFault(said("the external worker %(worker)r failed the task of topic %(topic)r and left it no "
                                 "retries: %(message)s", worker=row.worker_id or "", topic=topic,
                                 message=row.error_message or ""), ctx.element_id, kind="external_task_failed")
    # the incident retried: offered again, afresh
    row.answer, row.result, row.retries, row.worker_id, row.lock_expires_at = None, None, None, None, None
    row.available_at, row.error_message, row.error_details = None, None, None
    raise AwaitingWorker(topic)


# -- the workers' side -------------------------------------------------------------------------------------
def _may_work(principal: Principal) -> None:
    policy.require(principal, "external_tasks.work",
                   message=_l("working external tasks needs the platform_admin or operator role"))


class _LongPolls:
    """How many fetches of this process wait for a task now (each holds a request thread): at most
    `EXTERNAL_TASK_LONG_POLLS`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waiting = 0

    def enter(self, most: int) -> bool:
        with self._lock:
            if self.waiting >= most:
                return False
            self.waiting += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.waiting -= 1


_long_polls = _LongPolls()


def long_polls_waiting() -> int:
    """The fetches of this process waiting for a task now."""
    return _long_polls.waiting


def fetch_and_lock(principal: Principal, worker_id: str, max_tasks: int, topics: Sequence[Topic],
                   wait: timedelta = timedelta(0)) -> list[dict]:
    """Lock up to `max_tasks` offered tasks of the topics for `worker_id`; each with its instance, as locked. A fetch
    that finds none waits up to `wait` (Camunda's `asyncResponseTimeout`, at most LONG_POLL_MAX) for one to be
    offered, looking again every POLL_EVERY with no transaction open meanwhile, if fewer than
    `EXTERNAL_TASK_LONG_POLLS` fetches of this process wait already; otherwise it answers at once."""
    _may_work(principal)
    _check_worker(worker_id)
    if not 0 <= max_tasks <= MAX_TASKS:
        raise Invalid(_l("The fetch is not valid."), {"maxTasks": [_l("0 to %(n)d", n=MAX_TASKS)]})
    by_name = {t.name: t for t in topics}
    if not by_name or max_tasks == 0:
        return []
    found = _fetch_once(worker_id, max_tasks, by_name)
    if found or wait <= timedelta(0) or not _long_polls.enter(context.config("EXTERNAL_TASK_LONG_POLLS")):
        return found
    try:
        deadline = _monotonic() + min(wait, LONG_POLL_MAX).total_seconds()
        while not found and _monotonic() < deadline:
            db.session.rollback()  # no transaction (nor SQLite's lock) held while it waits
            _sleep(max(0.0, min(POLL_EVERY, deadline - _monotonic())))
            found = _fetch_once(worker_id, max_tasks, by_name)
    finally:
        _long_polls.leave()
    return found


def _fetch_once(worker_id: str, max_tasks: int, by_name: dict[str, Topic]) -> list[dict]:
    at = now()
    offered = (select(ExternalTask.id, ExternalTask.topic).join(ProcessInstance, ProcessInstance.id == ExternalTask.instance_id)
               .where(ExternalTask.topic.in_(list(by_name)), ExternalTask.answer.is_(None),
                      or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at < at),
                      or_(ExternalTask.available_at.is_(None), ExternalTask.available_at <= at),
                      ProcessInstance.status.in_(WORKED),
                      exists().where(InstanceWait.instance_id == ExternalTask.instance_id,
                                     InstanceWait.element_id == ExternalTask.element_id))
               .order_by(ExternalTask.id))
    locked: list[int] = []
    tried: list[int] = []
    # Until full or nothing is offered: a task another fetch took at the same moment is not offered next time round,
    # so workers fetching together leave no task behind while one of them has room for it
    while len(locked) < max_tasks:
        candidates = db.session.execute((offered.where(ExternalTask.id.notin_(tried)) if tried else offered)
                                        .limit(2 * (max_tasks - len(locked)))).all()
        if not candidates:
            break
        for task_id, topic in candidates:
            tried.append(task_id)
            taken = core(update(ExternalTask).where(
                ExternalTask.id == task_id, ExternalTask.answer.is_(None),
                or_(ExternalTask.lock_expires_at.is_(None), ExternalTask.lock_expires_at < at))
                .values(worker_id=worker_id, lock_expires_at=at + by_name[topic].lock))
            if taken.rowcount == 1:  # another worker's fetch at the same moment did not take it
                locked.append(task_id)
            if len(locked) == max_tasks:
                break
    db.session.commit()
    if not locked:
        return []
    rows = db.session.execute(select(ExternalTask, ProcessInstance).join(
        ProcessInstance, ProcessInstance.id == ExternalTask.instance_id).where(ExternalTask.id.in_(locked))
        .order_by(ExternalTask.id)).all()
    return [_locked(task, instance, by_name[task.topic].variables) for task, instance in rows]


def _locked(task: ExternalTask, instance: ProcessInstance, wanted: Sequence[str] | None) -> dict[str, Any]:
    data = dict(instance.data or {})
    return {"task": task, "instance": instance,
            "variables": data if wanted is None else {k: data[k] for k in wanted if k in data}}


def _check_worker(worker_id: str) -> None:
    if not worker_id or len(worker_id) > 255:
        raise Invalid(_l("The request names no worker."), {"workerId": [_l("1 to %(most)s characters", most=255)]})


def _task(task_id: int) -> ExternalTask:
    """The external task of that id, as committed now; 404 without it."""
    row = db.session.get(ExternalTask, task_id, populate_existing=True) if 0 < task_id < 2**63 else None
    if row is None:
        raise NotFound(_l("There is no external task %(id)s.", id=task_id))
    return row


def _held(task_id: int, worker_id: str) -> ExternalTask:
    """The task, held by this worker and not answered yet; 404 without it, else a conflict that says why."""
    _check_worker(worker_id)
    row = _task(task_id)
    if row.answer is not None:
        raise Conflict(_l("External task %(id)s was answered already.", id=task_id), code="external_task_answered")
    if row.worker_id != worker_id:
        raise Conflict(_l("External task %(id)s is not locked by worker %(worker)s.", id=task_id, worker=repr(worker_id)),
                       code="external_task_not_held")
    return row


def _answer(principal: Principal, task_id: int, worker_id: str, answer: str, result: dict[str, Any],
            kind: str, details: dict[str, Any]) -> None:
    """Take the worker's answer and run the instance on with it, in one transaction: the answer is claimed (one
    answer per task, however many race), the task run again (its operator gives the answer), the row gone."""
    _may_work(principal)
    rt = runtime()
    try:
        with atomic_step() as on_commit:
            row = _held(task_id, worker_id)
            claimed = core(update(ExternalTask).where(
                ExternalTask.id == row.id, ExternalTask.answer.is_(None), ExternalTask.worker_id == worker_id)
                .values(answer=answer, result=result))
            if claimed.rowcount != 1:
                raise Conflict(_l("External task %(id)s was answered already.", id=task_id),
                               code="external_task_answered")
            instance = load_instance(row.instance_id)
            if instance.status not in WORKED:  # as a message or a timer: nothing moves it until its incident is retried
                raise Conflict(_l("The instance of external task %(id)s stopped on an incident: answer the task once "
                                  "the incident is retried.", id=task_id), code="instance_stopped")
            engine_task_id, element_id, topic = row.engine_task_id, row.element_id, row.topic
            run_step(instance, lambda workflow: rt.engine.resume_worker(workflow, engine_task_id), on_commit,
                     principal.id, [(kind, element_id, {"topic": topic, "worker": worker_id, **details})])
            if answer != "failed":
                db.session.execute(delete(ExternalTask).where(ExternalTask.id == task_id))
    except TaskNotReady:  # its instance moved on without it (a boundary event, a cancel): forgotten
        db.session.execute(delete(ExternalTask).where(ExternalTask.id == task_id))
        db.session.commit()
        raise NotFound(_l("There is no external task %(id)s: its instance no longer waits for it.", id=task_id)) from None


def complete(principal: Principal, task_id: int, worker_id: str, variables: dict[str, Any]) -> None:
    _answer(principal, task_id, worker_id, "completed", {"variables": variables}, "external_task_completed",
            {"variables": sorted(variables)})


def bpmn_error(principal: Principal, task_id: int, worker_id: str, code: str, message: str,
               variables: dict[str, Any]) -> None:
    if not code or len(code) > 255:
        raise Invalid(_l("The BPMN error is not valid."), {"errorCode": [_l("1 to %(most)s characters", most=255)]})
    _answer(principal, task_id, worker_id, "bpmn_error", {"code": code, "message": message, "variables": variables},
            "external_task_error", {"code": code, "message": message})


def failure(principal: Principal, task_id: int, worker_id: str, message: str, details: str | None,
            retries: int, retry_timeout: timedelta) -> None:
    """A failed try: with retries left the task is offered again after `retry_timeout`; with none, an incident."""
    _may_work(principal)
    if retries < 0:
        raise Invalid(_l("The failure is not valid."), {"retries": [_l("0 or more")]})
    if retries == 0:
        row = _held(task_id, worker_id)
        row.error_message, row.error_details = message, details
        db.session.flush()
        _answer(principal, task_id, worker_id, "failed", {}, "external_task_failed", {"message": message})
        return
    row = _held(task_id, worker_id)
    row.worker_id, row.lock_expires_at, row.retries = None, None, retries
    row.available_at = now() + retry_timeout
    row.error_message, row.error_details = message, details
    db.session.commit()


def set_retries(principal: Principal, task_id: int, retries: int) -> None:
    """Camunda's `PUT /external-task/{id}/retries`: a task a worker failed for good (its incident open) is offered
    again with these retries, its incident retried as on the repair page (`incidents.retry`, with a note in the
    history); one still offered or held keeps these retries for its next failure. Setting 0 on a task that has not
    failed is refused: an incident is a failure's, and no worker reported one."""
    from app.models import Incident
    from app.services.workflow import incidents

    _may_work(principal)
    if not 0 <= retries <= 1000:
        raise Invalid(_l("The request is not valid."), {"retries": [_l("0 to 1000")]})
    row = _task(task_id)
    if row.answer is None:
        if retries == 0:
            raise Invalid(_l("External task %(id)s has not failed: an incident comes from a worker's failure, not from "
                             "its retries set to 0.", id=task_id))
        row.retries = retries
        db.session.commit()
        return
    if retries == 0:
        return  # failed for good already
    incident_id = db.session.scalar(select(Incident.id).where(
        Incident.instance_id == row.instance_id, Incident.engine_task_id == row.engine_task_id,
        Incident.resolved_at.is_(None)).order_by(Incident.id.desc()).limit(1))
    if incident_id is None:
        raise Conflict(_l("External task %(id)s failed, but its incident is resolved already.", id=task_id),
                       code="not_retryable")
    incidents.retry_incident(incident_id, principal)
    offered = db.session.get(ExternalTask, task_id, populate_existing=True)
    if offered is not None and offered.answer is None:  # offered again (not ended by the retry)
        offered.retries = retries
        db.session.commit()


def extend_lock(principal: Principal, task_id: int, worker_id: str, duration: timedelta) -> None:
    _may_work(principal)
    row = _held(task_id, worker_id)
    row.lock_expires_at = now() + duration
    db.session.commit()


def unlock(principal: Principal, task_id: int) -> None:
    _may_work(principal)
    row = _task(task_id)
    row.worker_id, row.lock_expires_at = None, None
    db.session.commit()


def lock_duration(milliseconds: Any, field: str) -> timedelta:
    """A lock or a retry timeout in milliseconds, as Camunda's API gives them: 0 to 7 days."""
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int) or not 0 <= milliseconds <= MAX_LOCK / \
            timedelta(milliseconds=1):
        raise Invalid(_l("The request is not valid."), {field: [_l("milliseconds, 0 to 7 days")]})
    return timedelta(milliseconds=milliseconds)


# -- the console: what waits for workers ------------------------------------------------------------------
PER_PAGE = 50


@dataclass(frozen=True)
class Offered:
    """A task waiting for its external worker, as the console lists it."""

    id: int
    topic: str
    instance_id: int
    process_id: str
    business_key: str | None
    element_id: str
    element: str  # the step's name in the reader's language
    state: str  # offered | locked | retrying | failed (an incident)
    worker_id: str | None
    until: Any  # locked until, or offered again at
    retries: int | None
    error_message: str | None
    created_at: Any


def _state(row: ExternalTask, at: Any) -> tuple[str, Any]:
    if row.answer is not None:
        return "failed", None
    if row.lock_expires_at is not None and row.lock_expires_at > at:
        return "locked", row.lock_expires_at
    if row.available_at is not None and row.available_at > at:
        return "retrying", row.available_at
    return "offered", None


def offered(principal: Principal, page: int = 1, language: str = "en") -> tuple[list[Offered], int]:
    """The tasks that wait for external workers, the longest waiting first, a page at a time; and how many wait.
    The platform's staff only (`instances.inspect`), as the instance search."""
    policy.require(principal, "instances.inspect")
    live = (select(ExternalTask, ProcessInstance.process_id, ProcessInstance.business_key,
                   ProcessInstance.process_version_id, ProcessInstance.pins)
            .join(ProcessInstance, ProcessInstance.id == ExternalTask.instance_id)
            .where(ProcessInstance.status.in_(LISTED), exists().where(
                InstanceWait.instance_id == ExternalTask.instance_id, InstanceWait.element_id == ExternalTask.element_id)))
    total = db.session.scalar(select(func.count()).select_from(live.subquery())) or 0
    at = now()
    found = []
    named: dict[int, dict[str, tuple[str | None, dict[str, str]]]] = {}  # a version's steps: once a page
    for row, process_id, business_key, version_id, pins in db.session.execute(
            live.order_by(ExternalTask.id).offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all():
        if version_id not in named:
            named[version_id] = element_labels(*runtime().specs.workflow_specs(version_id, pins or {}))
        name, props = named[version_id].get(row.element_id, (None, {}))
        state, until = _state(row, at)
        found.append(Offered(row.id, row.topic, row.instance_id, process_id, business_key, row.element_id,
                             labels.task_title(name or row.element_id, props, language), state,
                             row.worker_id if state == "locked" or state == "failed" else None, until, row.retries,
                             row.error_message, row.created_at))
    return found, total


def error_details(principal: Principal, task_id: int) -> str:
    """The details a worker's last failed try of the task sent (`errorDetails`), as Camunda keeps them for the next
    worker (its Java client reads them lazily); empty when none."""
    _may_work(principal)
    row = _task(task_id)
    return row.error_details or ""


@dataclass(frozen=True)
class Listed:
    """An external task as Camunda's `GET /external-task` lists one."""

    task: ExternalTask
    process_id: str
    version: int
    business_key: str | None
    state: str  # as `_state`: offered | locked | retrying | failed


LISTED_ORDER = {"id": ExternalTask.id, "lock_expires": ExternalTask.lock_expires_at,
                "instance_id": ExternalTask.instance_id, "process_id": ProcessInstance.process_id,
                "version": ProcessInstance.version}


def listed(principal: Principal, first: int, most: int, order: Order = (), **wanted: Any) -> list[Listed]:
    """The tasks that wait for external workers, in `order` (keys of `LISTED_ORDER`; oldest first when none), from
    the `first`-th, at most `most`, filtered as Camunda's query filters them (`wanted` as `_listed_query`); for those
    who work or watch them (`external_tasks.work`)."""
    _may_work(principal)
    at = now()
    query = ordering.ordered(_listed_query(at, **wanted), LISTED_ORDER, order, ExternalTask.id)
    rows = db.session.execute(query.offset(first).limit(most)).all()
    return [Listed(row, process_id, version, business_key, _state(row, at)[0])
            for row, process_id, version, business_key in rows]


def count_listed(principal: Principal, **wanted: Any) -> int:
    """How many tasks `listed` would list."""
    _may_work(principal)
    return db.session.scalar(select(func.count()).select_from(_listed_query(now(), **wanted).subquery())) or 0


def _listed_query(at: Any, topic: str | None = None, worker_id: str | None = None, locked: bool | None = None,
                  retries_left: bool | None = None, instance_id: int | None = None, element_id: str | None = None,
                  task_id: int | None = None) -> Any:
    """`locked`: held by a worker now; `retries_left`: not failed for good."""
    query = (select(ExternalTask, ProcessInstance.process_id, ProcessInstance.version, ProcessInstance.business_key)
             .join(ProcessInstance, ProcessInstance.id == ExternalTask.instance_id)
             .where(ProcessInstance.status.in_(LISTED), exists().where(
                 InstanceWait.instance_id == ExternalTask.instance_id, InstanceWait.element_id == ExternalTask.element_id)))
    for column, wanted in ((ExternalTask.topic, topic), (ExternalTask.worker_id, worker_id),
                           (ExternalTask.instance_id, instance_id), (ExternalTask.element_id, element_id),
                           (ExternalTask.id, task_id)):
        if wanted is not None:
            query = query.where(column == wanted)
    held = and_(ExternalTask.lock_expires_at > at, ExternalTask.answer.is_(None))  # a failed task is no one's
    if locked is not None:
        query = query.where(held if locked else or_(ExternalTask.lock_expires_at.is_(None),
                                                     ExternalTask.lock_expires_at <= at, ExternalTask.answer.isnot(None)))
    if retries_left is not None:  # a failure without retries is an answer its step keeps (an incident)
        query = query.where(ExternalTask.answer.is_(None) if retries_left else ExternalTask.answer.isnot(None))
    return query

