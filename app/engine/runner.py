"""Runs workflows: start, restore, complete user tasks, advance until idle, report what changed.

Knows nothing of the database: the service layer hands in specs and state text and persists the
`StepOutcome` this module returns.
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway as InclusiveGatewayMixin
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway as ParallelGatewayMixin
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import (
    ErrorEventDefinition,
    MessageEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.task import Task

from app.engine import (
    compensation,
    conditional_waits,
    correlation_keys,
    reasons,
    retry_policy,
    start_events,
    task_ids,
    timer_starts,
)
from app.engine.camunda_user_tasks import FORM_VALUES_PROPERTY
from app.engine.data_stores import DataStoreAccess
from app.engine.errors import CannotStart, InstanceFault
from app.engine.external_tasks import AWAITING, AwaitingWorker
from app.engine.said import Said, said
from app.engine.sandbox import SandboxEnvironment
from app.engine.script_offers import ENGINE_NOW
from app.engine.serializer import StateSerializer

ServiceCaller = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]
Clock = Callable[[], datetime]


# The user task property naming the data lists its form's choices come from (set at deploy by
# `app/services/workflow/form_choices.py`); captured with the task when it becomes ready.
CHOICES_PROPERTY = "choicesFrom"


def system_clock() -> datetime:
    return datetime.now(UTC)


class TaskNotReady(Exception):
    """The user task is not (or no longer) waiting for input."""


SIGNAL_PREFIX = "signal:"  # a signal an instance waits for, among the names of what it waits for


class MessageNotCaught(Exception):
    """No catch event of the instance takes this message (none waits for it, or its correlation differs)."""


@dataclass(frozen=True)
class ReadyTask:
    engine_task_id: str
    element_id: str
    title: str
    lane: str | None
    properties: dict[str, str]
    # The values of the task's TASK_EXPRESSIONS properties, evaluated on its data (None: failed)
    evaluated: dict[str, Any] = field(default_factory=dict)
    # The values its `keyData` names (and their `_en`/`_zh` twins) have in the task's own data: a task
    # inside a call activity reads its subprocess's variables, not the calling process's
    shown: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepOutcome:
    status: str  # waiting | completed | error
    state: str
    data: dict[str, Any]
    ready: list[ReadyTask] = field(default_factory=list)
    end_events: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    due_at: datetime | None = None  # the next timer or service retry the instance waits for
    messages: list[str] = field(default_factory=list)  # names of the messages it waits for
    # the key a message of that name must carry to reach it, where its event says one (`correlation_keys`);
    # for the others, the instance's business key
    message_keys: dict[str, str] = field(default_factory=dict)
    history: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)  # (kind, element, details)
    # The elements where it waits: ready user tasks, waiting timers, message catches and receive
    # tasks, an event-based gateway and its events, services parked for a retry (sorted, unique)
    waits: list[str] = field(default_factory=list)
    # The messages the step threw that no event of the instance caught, (name, payload) in the order
    # thrown: the platform passes them on to other instances (the outbox)
    sent: list[tuple[str, Any]] = field(default_factory=list)
    # The service tasks parked for an external worker, (engine task id, element id, topic) (`external_tasks`)
    awaiting: list[tuple[str, str, str]] = field(default_factory=list)


class ServiceCallFailed(Exception):
    """A service handler failed for a technical reason: the call is retried later."""

    def __init__(self, message: str, engine_task_id: str, said: Said | None = None) -> None:
        super().__init__(message)
        self.engine_task_id = engine_task_id
        self.said = said  # the handler's own words, when it said them (`said`): in the reader's language later


class ServiceBusinessError(Exception):
    """A service handler reported a business error: thrown as a BPMN error event by its code."""

    def __init__(self, code: str, message: str, payload: Any, engine_task_id: str) -> None:
        super().__init__(message)
        self.code = code
        self.payload = payload
        self.engine_task_id = engine_task_id


# User-task properties that are expressions on the task's data, evaluated when it becomes ready:
# its due time (a date, a datetime or an ISO text), priority (1-5), assignee (a user name), candidate
# users (a list of names, or a comma-separated text) and candidate groups (its lane) from the instance's data.
TASK_EXPRESSIONS = ("dueAtExpression", "priorityExpression", "assigneeExpression", "candidateUsersExpression",
                    "candidateGroupsExpression")


def jsonable(value: Any) -> Any:
    """Task data as plain JSON values (Decimal and dates as strings); anything else is dropped."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items() if _keep(v)}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value if _keep(v)]
    return None


def _keep(value: Any) -> bool:
    return not callable(value) or isinstance(value, type(None))


class LoanflowScriptEngine(PythonScriptEngine):
    """The sandboxed script engine, with the engine's clock and service tasks sent to the handlers."""

    def __init__(self, call_service: ServiceCaller | None = None, clock: Clock = system_clock,
                 data_stores: DataStoreAccess | None = None) -> None:
        super().__init__(environment=SandboxEnvironment())
        self._call_service = call_service
        self.now = clock
        self.data_stores = data_stores  # what BPMN data stores read and write (`data_stores`)

    def evaluate(self, task, expression, external_context=None):  # noqa: ANN001, ANN201
        return super().evaluate(task, expression, self._clocked(expression, external_context))

    def execute(self, task, script, external_context=None):  # noqa: ANN001, ANN201
        return super().execute(task, script, self._clocked(script, external_context))

    def _clocked(self, code: str, external_context: dict[str, Any] | None) -> dict[str, Any] | None:
        """The run's external names, with FEEL's now() (`engine_now`) on the engine's clock when the code reads it."""
        if not isinstance(code, str) or ENGINE_NOW not in code:
            return external_context
        return {**(external_context or {}), ENGINE_NOW: self.now()}

    def call_service(self, task, operation_name, operation_params):  # noqa: ANN001, ANN201
        if self._call_service is None:
            raise InstanceFault(f"no service handlers are configured for '{operation_name}'",  # `no_operator`
                                task.task_spec.bpmn_id)
        params = {name: spec["value"] for name, spec in operation_params.items()}
        context = {"engine_task_id": str(task.id), "element_id": task.task_spec.bpmn_id}
        try:
            result = self._call_service(operation_name, params, context)
        except AwaitingWorker as waiting:  # the task parks until its worker answers
            waiting.engine_task_id = str(task.id)
            raise
        except (ServiceBusinessError, InstanceFault):
            raise
        except Exception as exc:  # any handler failure is retried
            words = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Said) else None
            raise ServiceCallFailed(f"{operation_name}: {type(exc).__name__}: {exc}", str(task.id), words) from exc
        return json.dumps(jsonable(result))

    def get_error_line_number_and_content(self, script, err):  # noqa: ANN001, ANN201
        """The script line an error came from: a sandbox process sends it with the error (its
        traceback stays there); in process, SpiffWorkflow reads it from the traceback."""
        line = getattr(err, "script_line", None)
        lines = script.splitlines()
        if isinstance(line, int) and 0 < line <= len(lines):
            return line, lines[line - 1]
        return super().get_error_line_number_and_content(script, err)


class ProcessEngine:
    """Starts, restores and advances workflows for the service layer."""

    def __init__(self, max_tree_depth: int = 900, call_service: ServiceCaller | None = None,
                 clock: Clock = system_clock, data_stores: DataStoreAccess | None = None) -> None:
        task_ids.install()
        self.serializer = StateSerializer()
        self.script_engine = LoanflowScriptEngine(call_service, clock, data_stores)
        self.max_tree_depth = max_tree_depth
        self._steps = threading.local()  # one engine serves many threads; each step notes its own history

    @property
    def now(self) -> Clock:
        return self.script_engine.now

    # -- building workflows -------------------------------------------------------------
    def new_workflow(self, spec, subprocess_specs: dict, data: dict[str, Any]) -> BpmnWorkflow:  # noqa: ANN001
        """A workflow ready to advance; `CannotStart` with SpiffWorkflow's reason when the spec cannot be built."""
        try:
            workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        except Exception as exc:  # noqa: BLE001 - whatever SpiffWorkflow raises, the instance is refused
            element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
            where = f" at {element}" if element else ""
            raise CannotStart(f"the process cannot start{where}: {exc.args[0] if exc.args else type(exc).__name__}") \
                from None
        start = workflow.get_next_task(state=TaskState.READY)
        start.data.update(data)
        why = conditional_waits.why_not_started(workflow, start)  # it would wait at its start for ever
        if why is not None:
            raise CannotStart(why)
        return workflow

    def restore(self, state: str, spec, subprocess_specs: dict) -> BpmnWorkflow:  # noqa: ANN001
        workflow = self.serializer.load_state(state, spec, subprocess_specs)
        workflow.script_engine = self.script_engine
        return workflow

    @staticmethod
    def waiting_joins(workflow: BpmnWorkflow) -> list[str]:
        """The parallel and inclusive gateways where paths wait for others to arrive (sorted, unique)."""
        return sorted({t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.WAITING)
                       if isinstance(t.task_spec, ParallelGatewayMixin | InclusiveGatewayMixin)
                       and len(t.task_spec.inputs) > 1})

    @staticmethod
    def message_starts(spec) -> frozenset[str]:  # noqa: ANN001
        """The names of the messages that start the process: those of its message start events (not an
        event subprocess's, which start inside a running instance)."""
        return frozenset(start_events.message_starts(spec))

    @staticmethod
    def message_throws(spec, subprocess_specs: dict) -> frozenset[str]:  # noqa: ANN001
        """The names of the messages the process sends (its send tasks, message throw and end events, and
        those of the processes it embeds or calls), as it will run: an import that made a throw event into
        something else (a Camunda expression's service task) sends nothing."""
        names = set()
        for each_spec in [spec, *subprocess_specs.values()]:
            for task_spec in each_spec.task_specs.values():
                if isinstance(task_spec, ThrowingEvent) and isinstance(
                        getattr(task_spec, "event_definition", None), MessageEventDefinition) \
                        and task_spec.event_definition.name:
                    names.add(task_spec.event_definition.name)
        return frozenset(names)

    # -- inputs: each returns the outcome of the step ------------------------------------
    def advance(self, workflow: BpmnWorkflow) -> StepOutcome:
        """Run every engine task until only user tasks and waits are left; report the result."""
        return self._outcome(workflow, self._settle(workflow))

    def start_on_timer(self, workflow: BpmnWorkflow, element_id: str) -> StepOutcome:
        """Advance a new workflow from its timer start event `element_id`, fired now (the process's schedule
        started it): the other start events are cancelled, and the instance runs that path once."""
        now = self.now()
        timer_starts.fire(workflow, element_id, now)
        self._note("timer_fired", element_id, {"due_at": now.isoformat()})
        error = self._settle(workflow)
        if error is None and timer_starts.finish_cycle(workflow, element_id):
            error = self._settle(workflow, workflow.refresh_timers)
        if error is None and not workflow.is_completed():
            start_events.keep_path_data(workflow)
        return self._outcome(workflow, error)

    def start_at(self, workflow: BpmnWorkflow, element_id: str) -> StepOutcome:
        """Advance a new workflow from its start event `element_id` only (a message start event the message
        that starts the instance is then delivered to): the other start events are cancelled."""
        start_events.only(workflow, element_id)
        return self.advance(workflow)

    def start_on_signal(self, workflow: BpmnWorkflow, element_id: str, name: str, payload: Any) -> StepOutcome:
        """Advance a new workflow from its signal start event `element_id`, which takes the signal `name` sent
        now (its payload, an object, into the start event's data): the other start events are cancelled."""
        start_events.only(workflow, element_id)
        error = self._settle(workflow)
        if error is not None:
            return self._outcome(workflow, error)
        return self.catch_signal(workflow, name, payload, start_events.keep_path_data)

    def complete_user_task(self, workflow: BpmnWorkflow, engine_task_id: str, data: dict[str, Any]) -> StepOutcome:
        """Complete a READY user task with the submitted data, then advance the workflow."""
        try:
            task = workflow.get_task_from_id(UUID(engine_task_id))
        except (WorkflowException, ValueError) as exc:
            raise TaskNotReady(f"task {engine_task_id} is not part of this instance") from exc
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReady(f"task {task.task_spec.bpmn_id} is {TaskState.get_name(task.state)}")
        if hasattr(task.task_spec, "add_data_from_form"):
            task.task_spec.add_data_from_form(task, data)
        else:
            task.data.update(data)
        return self._outcome(workflow, self._settle(workflow, task.run))

    def wake(self, workflow: BpmnWorkflow) -> StepOutcome:
        """Fire every timer that is due and retry every service call whose time has come."""
        now = self.now()
        for task in workflow.get_tasks(state=TaskState.ERROR):
            retry_at = task.internal_data.get("retry_at")
            if retry_at and datetime.fromisoformat(retry_at) <= now:
                task.internal_data.pop("retry_at")
                task._set_state(TaskState.READY)
                self._note("service_retried", task.task_spec.bpmn_id,
                           {"attempt": int(task.internal_data.get("attempts", 0)) + 1})
        for _task, due, element_id in self._timers(workflow):
            if due <= now:
                self._note("timer_fired", element_id, {"due_at": due.isoformat()})
        return self._outcome(workflow, self._settle(workflow, workflow.refresh_timers))

    def retry_failed(self, workflow: BpmnWorkflow, engine_task_id: str) -> StepOutcome:
        """Run a failed task again (an incident's retry): a fresh round of tries for services."""
        task = workflow.get_task_from_id(UUID(engine_task_id))
        if task.state != TaskState.ERROR:
            raise TaskNotReady(f"task {task.task_spec.bpmn_id} is {TaskState.get_name(task.state)}, not failed")
        for key in ("attempts", "retry_at", "last_error", "last_attempt_at"):
            task.internal_data.pop(key, None)
        task._set_state(TaskState.READY)
        return self._outcome(workflow, self._settle(workflow))

    def resume_worker(self, workflow: BpmnWorkflow, engine_task_id: str) -> StepOutcome:
        """Run an external task again now that its worker answered (its operator gives the answer); then advance."""
        try:
            task = workflow.get_task_from_id(UUID(engine_task_id))
        except (WorkflowException, ValueError) as exc:
            raise TaskNotReady(f"task {engine_task_id} is not part of this instance") from exc
        if task.state != TaskState.ERROR or not task.internal_data.get(AWAITING):
            raise TaskNotReady(f"task {task.task_spec.bpmn_id} is not waiting for an external worker")
        task.internal_data.pop(AWAITING)
        task._set_state(TaskState.READY)
        return self._outcome(workflow, self._settle(workflow))

    def catch_message(self, workflow: BpmnWorkflow, name: str, payload: Any) -> StepOutcome:
        """Deliver a message to the workflow's catch events of that name, then advance.

        The message carries the correlations its payload gives under the catching events' correlation
        properties; `MessageNotCaught` when no waiting catch event takes it, so nobody is told it was
        delivered when it was not."""
        event = BpmnEvent(MessageEventDefinition(name), payload=payload,
                          correlations=self._correlations(workflow, name, payload))
        if not any(task.task_spec.catches(task, event) for task in workflow.event_manager.tasks.values()):
            raise MessageNotCaught(f"no catch event of this instance takes message {name!r}"
                                   + (" with these correlation values" if workflow.correlations else ""))
        now = self.now()
        if any(due <= now and isinstance(task.task_spec, EventBasedGateway) and task.task_spec.catches(task, event)
               for task, due, _element in self._timers(workflow)):
            # An event-based gateway waiting for this message whose timer is due and not yet woken: the
            # timers fire first, as they would have — caught together with the message, the gateway
            # takes the timer's branch and the message is dropped (a timer on a boundary or a receive
            # task is not affected: there the message is taken as before).
            for _task, due, element_id in self._timers(workflow):
                if due <= now:
                    self._note("timer_fired", element_id, {"due_at": due.isoformat()})
            error = self._settle(workflow, workflow.refresh_timers)
            if error is not None:
                return self._outcome(workflow, error)
        # an event naming a variable gets the payload there (SpiffWorkflow); else, an object, its data, as Camunda 7
        # and 8 set a correlated message's variables on the instance — on the events that still wait for it
        for task in workflow.event_manager.tasks.values():
            if task.task_spec.catches(task, event) and isinstance(payload, dict) \
                    and _message_variable(task.task_spec) is None:
                task.data.update(payload)
        self._note("message_received", None, {"name": name, "payload": jsonable(payload)})
        error = self._settle(workflow, lambda: workflow.catch(event))
        self._not_taken(workflow, event)
        return self._outcome(workflow, reasons.of_message(error, name) if error is not None else None)

    def catch_signal(self, workflow: BpmnWorkflow, name: str, payload: Any,
                     then: Callable[[BpmnWorkflow], None] | None = None) -> StepOutcome:
        """Broadcast a signal to the workflow's catch events of that name, then advance; its payload (an
        object) is merged into the catching task's data. `MessageNotCaught` when none waits for it."""
        event = BpmnEvent(SignalEventDefinition(name), payload=payload if isinstance(payload, dict) else None)
        catching = [task for task in workflow.event_manager.tasks.values() if task.task_spec.catches(task, event)]
        if not catching:
            raise MessageNotCaught(f"no catch event of this instance waits for signal {name!r}")
        for task in catching:  # an event naming a variable gets the payload there (SpiffWorkflow); else its data
            if isinstance(event.payload, dict) and getattr(task.task_spec.event_definition, "variable", None) is None:
                task.data.update(event.payload)
        self._note("signal_received", None, {"name": name, "payload": jsonable(payload)})
        error = self._settle(workflow, lambda: workflow.catch(event))
        self._not_taken(workflow, event)
        if then is not None and error is None and not workflow.is_completed():
            then(workflow)
        return self._outcome(workflow, error)

    def _correlations(self, workflow: BpmnWorkflow, name: str, payload: Any) -> dict[str, dict[str, Any]]:
        """What the payload says under the correlation properties of the catch events waiting for `name`;
        a property the payload cannot give is left out (the event then does not match that key)."""
        found: dict[str, dict[str, Any]] = {}
        if not isinstance(payload, dict):
            return found
        for task in workflow.event_manager.tasks.values():
            definition = task.task_spec.event_definition
            for each in [definition, *getattr(definition, "event_definitions", [])]:
                if not isinstance(each, MessageEventDefinition) or each.name != name:
                    continue
                for prop in each.correlation_properties:
                    try:
                        value = self.script_engine.environment.evaluate(prop.retrieval_expression, dict(payload))
                    except Exception:  # noqa: BLE001 - the payload lacks the property: no correlation from it
                        continue
                    for key in prop.correlation_keys:
                        found.setdefault(key, {})[prop.name] = value
        return found

    def cancel(self, workflow: BpmnWorkflow) -> str:
        workflow.cancel()
        return self.serializer.dump_state(workflow)

    # -- running ------------------------------------------------------------------------
    def _settle(self, workflow: BpmnWorkflow, first: Callable[[], Any] | None = None) -> dict[str, Any] | None:
        """Run `first`, then engine steps until idle; the instance's error, if it cannot go on.

        A failing service call is parked for a retry (its task stays in ERROR with a due time)
        and the other branches go on; a business error is thrown as a BPMN error event.
        """
        action = first
        while True:
            try:
                if action is not None:
                    action()
                    action = None
                workflow.do_engine_steps(did_complete_task=self._completed)
                correlation_keys.subscribe(list(workflow.event_manager.tasks.values()), self.script_engine.evaluate)
                return None
            except ServiceCallFailed as failure:
                error = self._park_for_retry(workflow, failure)
            except AwaitingWorker as waiting:
                self._await_worker(workflow, waiting)
                error = None
            except ServiceBusinessError as raised:
                error = self._throw_business_error(workflow, raised)
            except InstanceFault as fault:
                return _with_reason(_fault_dict(fault, _failed_task_id(workflow)), fault, workflow)
            except SpiffWorkflowException as exc:
                task = getattr(exc, "task", None)
                return _with_reason(_fault_dict(InstanceFault(_describe_exception(exc), _element_of(exc)),
                                                str(task.id) if task is not None else _failed_task_id(workflow)),
                                    exc, workflow)
            except Exception as exc:  # noqa: BLE001 - a failing diagram must never crash a request
                failed = [t for t in workflow.get_tasks(state=TaskState.ERROR) if not _parked(t)]
                # no task failed: the one SpiffWorkflow was moving is named, but there is no run to retry
                task = failed[0] if failed else _task_in_traceback(exc)
                element = task.task_spec.bpmn_id if task is not None else None
                return _with_reason(_fault_dict(InstanceFault(f"{type(exc).__name__}: {exc}", element),
                                                str(failed[0].id) if failed else None), exc, workflow)
            if error is not None:
                return error

    def _await_worker(self, workflow: BpmnWorkflow, waiting: AwaitingWorker) -> None:
        """Park an external task until its worker answers (`resume_worker`): no due time, not a failure."""
        task = workflow.get_task_from_id(UUID(waiting.engine_task_id))
        task.internal_data[AWAITING] = waiting.topic
        self._note("external_task_offered", task.task_spec.bpmn_id, {"topic": waiting.topic})

    def _park_for_retry(self, workflow: BpmnWorkflow, failure: ServiceCallFailed) -> dict[str, Any] | None:
        task = workflow.get_task_from_id(UUID(failure.engine_task_id))
        spec, now = task.task_spec, self.now()
        tries = 1 + retry_policy.retries(spec)
        attempts = int(task.internal_data.get("attempts", 0)) + 1
        task.internal_data.update(attempts=attempts, last_error=str(failure), last_attempt_at=now.isoformat())
        if attempts < tries:
            task.internal_data["retry_at"] = (now + retry_policy.delay_before(spec, attempts, now)).isoformat()
            self._note("service_failed", spec.bpmn_id, {"attempt": attempts, "of": tries, "error": str(failure),
                                                        "retry_at": task.internal_data["retry_at"]})
            return None
        operator = getattr(spec, "operation_name", None) or "?"
        technical = str(failure).removeprefix(f"{operator}: ")
        return {"element_id": spec.bpmn_id, "message": str(failure), "kind": "service",
                "attempts": attempts, "last_attempt_at": now.isoformat(), "engine_task_id": str(task.id),
                "reason": reasons.of_service(operator, spec.bpmn_id, attempts, technical, failure.said)}

    def _throw_business_error(self, workflow: BpmnWorkflow, raised: ServiceBusinessError) -> dict[str, Any] | None:
        task = workflow.get_task_from_id(UUID(raised.engine_task_id))
        thrown = ErrorEventDefinition(raised.code, code=raised.code)
        thrown.message = str(raised)  # for an event that keeps the caught error's message (`caught_errors`)
        event = BpmnEvent(thrown, payload=raised.payload)
        self._note("business_error", task.task_spec.bpmn_id, {"code": raised.code, "message": str(raised)})
        if not workflow.event_manager.catch(event, internal=False):  # no boundary event for this code
            return {"element_id": task.task_spec.bpmn_id, "kind": "business_error", "code": raised.code,
                    "message": f"business error {raised.code!r} not caught by the diagram: {raised}",
                    "engine_task_id": str(task.id)}
        return None

    def _completed(self, task) -> None:  # noqa: ANN001
        """After each task the engine completes: the depth guard, and a compensation said in the history."""
        self._check_depth(task)
        undone = compensation.undoing(task)
        if undone is not None:
            self._note("compensated", undone["activity"], {"runs": undone["runs"]})

    def _check_depth(self, task) -> None:  # noqa: ANN001
        if task.depth >= self.max_tree_depth:
            raise InstanceFault(
                said("the instance's task tree reached depth %(depth)d (limit %(limit)d): an unbounded loop? Model long "
                     "lives as several instances", depth=task.depth, limit=self.max_tree_depth), task.task_spec.bpmn_id,
                kind="depth_limit")

    # -- reporting ----------------------------------------------------------------------
    def _note(self, kind: str, element_id: str | None, details: dict[str, Any]) -> None:
        if not hasattr(self._steps, "history"):
            self._steps.history = []
        self._steps.history.append((kind, element_id, details))

    def _outcome(self, workflow: BpmnWorkflow, error: dict[str, Any] | None) -> StepOutcome:
        errored = _withdraw_interrupted(workflow)  # the tasks in ERROR, once a step
        waiting = error is None and not workflow.is_completed()
        # before the state is dumped and the history taken: evaluating a task's expressions
        # writes their values into the task and may add to the history
        ready = [self._ready_task(t) for t in workflow.get_tasks(state=TaskState.READY, manual=True)] if waiting else []
        sent = self._thrown(workflow)
        history = getattr(self._steps, "history", [])
        self._steps.history = []
        state = self.serializer.dump_state(workflow)
        if error is not None:
            last = workflow.last_task
            return StepOutcome("error", state, jsonable(last.data if last else {}), error=error, history=history,
                               sent=sent)
        if workflow.is_completed():
            ends = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED, spec_class=EndEvent)
                    if t.workflow is workflow]
            return StepOutcome("completed", state, jsonable(workflow.data), end_events=ends, history=history,
                               sent=sent)
        last = workflow.last_task
        due_at, messages, waits = self._waits(workflow, errored)
        waits.update(t.element_id for t in ready)
        return StepOutcome("waiting", state, jsonable(last.data if last else {}), ready=ready,
                           due_at=due_at, messages=messages, history=history, waits=sorted(waits), sent=sent,
                           message_keys=correlation_keys.keys(list(workflow.event_manager.tasks.values())),
                           awaiting=_awaiting(errored))

    def _not_taken(self, workflow: BpmnWorkflow, delivered: BpmnEvent) -> None:
        """A message or signal delivered from outside that no event took after all (an event-based gateway
        whose due timer fired first) is not one the instance threw: SpiffWorkflow keeps it among the events
        to pass on, and it must not go out as the instance's own. The history says no one received it."""
        if all(event is not delivered for event in workflow.bpmn_events):
            return
        workflow.bpmn_events = [event for event in workflow.bpmn_events if event is not delivered]
        definition = delivered.event_definition
        if isinstance(definition, MessageEventDefinition):
            self._note("message_unheard", None, {"message": definition.name})
        else:
            self._note("signal_unheard", None, {"signal": definition.name})

    def _thrown(self, workflow: BpmnWorkflow) -> list[tuple[str, Any]]:
        """Messages and signals the step threw that no event of the instance caught, taken out of the
        state. Each message is returned, to be passed on to other instances (the history says it was
        sent); a signal reaches no other instance (they come in through the API), and the history says so."""
        sent = []
        for event in workflow.get_events():
            definition = event.event_definition
            if isinstance(definition, MessageEventDefinition):
                self._note("message_sent", None, {"message": definition.name})
                sent.append((definition.name, jsonable(event.payload)))
            elif isinstance(definition, SignalEventDefinition):
                self._note("signal_unheard", None, {"signal": definition.name})
        return sent

    @staticmethod
    def _timers(workflow: BpmnWorkflow) -> list[tuple[Any, datetime, str]]:
        """Every waiting timer with its due time and the id of its timer event."""
        found = []
        for task in workflow.event_manager.tasks.values():
            definition = task.task_spec.event_definition
            for each in [definition, *getattr(definition, "event_definitions", [])]:
                if isinstance(each, TimerEventDefinition):
                    value = each.details(task).value
                    if isinstance(value, str):
                        found.append((task, TimerEventDefinition.get_datetime(value), _timer_element(task, each)))
        return found

    @staticmethod
    def _waits(workflow: BpmnWorkflow, errored: list[Task]) -> tuple[datetime | None, list[str], set[str]]:
        """When the instance next needs waking (timers, retries), which messages it waits for, and the
        elements where it waits (catch events, receive tasks, event-based gateways with their events,
        services parked for a retry or a worker; the caller adds the ready user tasks). `errored`: its tasks in
        ERROR."""
        due = [at for _task, at, _element in ProcessEngine._timers(workflow)]
        messages: set[str] = set()
        elements: set[str] = set()
        for task in workflow.event_manager.tasks.values():  # every waiting catch event, subprocesses too
            spec = task.task_spec
            elements.add(spec.bpmn_id)
            if isinstance(spec, EventBasedGateway):
                elements.update(output.bpmn_id for output in spec.outputs)
            definition = spec.event_definition
            for each in [definition, *getattr(definition, "event_definitions", [])]:
                if isinstance(each, MessageEventDefinition):
                    messages.add(each.name)
                elif isinstance(each, SignalEventDefinition):
                    messages.add(SIGNAL_PREFIX + each.name)
        for task in errored:
            if task.internal_data.get("retry_at"):
                due.append(datetime.fromisoformat(task.internal_data["retry_at"]))
                elements.add(task.task_spec.bpmn_id)
            elif task.internal_data.get(AWAITING):
                elements.add(task.task_spec.bpmn_id)
        elements.discard(None)  # type: ignore[arg-type]
        return (min(due) if due else None), sorted(messages), elements

    def _ready_task(self, task) -> ReadyTask:  # noqa: ANN001
        spec = task.task_spec
        properties = dict((getattr(spec, "extensions", None) or {}).get("properties", {}))
        if not isinstance(spec, UserTaskMixin):
            properties.setdefault("kind", type(spec).__name__)
        # evaluated once, when the task first becomes ready, and kept with it
        expressions = [key for key in TASK_EXPRESSIONS if properties.get(key)]
        evaluated = task.internal_data.setdefault("evaluated", {}) if expressions else {}
        for key in expressions:
            if key not in evaluated:
                try:
                    evaluated[key] = jsonable(self.script_engine.evaluate(task, properties[key]))
                except Exception as exc:  # noqa: BLE001 - a bad expression leaves the value unset, never the task
                    evaluated[key] = None
                    failure = {"property": key, "expression": properties[key], "error": f"{type(exc).__name__}: {exc}"}
                    self._note("task_property_failed", spec.bpmn_id, failure)
        names = [n for n in re.split(r"[\s,]+", str(properties.get("keyData") or "")) if n]
        shown = {key: jsonable(task.data[key]) for n in names for key in (n, f"{n}_en", f"{n}_zh") if key in task.data}
        if properties.get(FORM_VALUES_PROPERTY):  # a Camunda form starts with the task's data (its fields pick theirs)
            shown.update({key: jsonable(value) for key, value in task.data.items()})
        # the lists its form's choices come from (`form_choices`), as they are now
        shown.update({n: jsonable(task.data[n]) for n in str(properties.get(CHOICES_PROPERTY) or "").split()
                      if n in task.data})
        # a `lane` property (camunda:candidateGroups, by the import layer) names the role over a drawn lane
        lane = properties.get("lane") or spec.lane
        return ReadyTask(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, lane, properties,
                         dict(evaluated), shown)


def _message_variable(spec) -> str | None:  # noqa: ANN001
    """The variable a catching message event keeps its payload in (`spiffworkflow:messageVariable`), None without
    one; an event-based gateway keeps it where the branch's event says."""
    definition = spec.event_definition
    found = [getattr(each, "message_var", None) for each in [definition, *getattr(definition, "event_definitions", [])]]
    return next((name for name in found if name), None)


def _timer_element(task, definition) -> str:  # noqa: ANN001
    """The timer event a waiting timer belongs to. An event-based gateway waits for its branches'
    events itself (SpiffWorkflow moves them onto it, in the order of its outputs): name the
    branch's timer event, not the gateway."""
    spec = task.task_spec
    definitions = getattr(spec.event_definition, "event_definitions", [])
    if isinstance(spec, EventBasedGateway) and len(definitions) == len(spec.outputs):
        for index, each in enumerate(definitions):
            if each is definition:
                return str(spec.outputs[index].bpmn_id)
    return str(spec.bpmn_id)


def _fault_dict(fault: InstanceFault, engine_task_id: str | None = None) -> dict[str, Any]:
    return {"element_id": fault.element_id, "message": str(fault), "kind": fault.kind,
            "engine_task_id": engine_task_id}


def _with_reason(fault: dict[str, Any], exc: BaseException, workflow: BpmnWorkflow) -> dict[str, Any]:
    """The fault with a reason a person can act on (`reasons`), when its kind is known."""
    first = exc.args[0] if len(exc.args) == 1 else None
    if isinstance(exc, InstanceFault) and isinstance(first, Said):  # the engine's own words: no guessing at them
        fault["reason"] = reasons.of_said(first)
        return fault
    task = getattr(exc, "task", None)
    task_spec = task.task_spec if task is not None else getattr(exc, "task_spec", None)
    if task_spec is None and fault.get("element_id"):
        task_spec = workflow.spec.task_specs.get(fault["element_id"])
    try:
        found = reasons.of_failure(exc, fault.get("element_id"), task_spec, workflow, fault.get("message") or "")
    except Exception:  # noqa: BLE001 - saying why must never be what fails the step: the technical text stays
        found = None
    if found is not None:
        fault["reason"] = found
    return fault


def _task_in_traceback(exc: BaseException) -> Task | None:
    """The task SpiffWorkflow was working on when `exc` rose outside a task's own run, so no task is in
    ERROR: an event's correlation expression evaluated as the event starts to wait, say. The innermost
    frame that holds one (as `my_task` or `task`) names it."""
    found = None
    trace = exc.__traceback__
    while trace is not None:
        frame_locals = trace.tb_frame.f_locals
        for name in ("my_task", "task"):
            if isinstance(frame_locals.get(name), Task):
                found = frame_locals[name]
        trace = trace.tb_next
    return found


def _interrupted(task: Task) -> bool:
    """Whether the activity a task belongs to was interrupted: an interrupting boundary event of the task, or of a
    sub-process it runs in, fired (SpiffWorkflow leaves a task in ERROR as it is: ERROR counts as finished)."""
    while task is not None:
        split = task.parent
        if split is not None and isinstance(split.task_spec, BoundaryEventSplit) and any(
                getattr(c.task_spec, "cancel_activity", False) and c.has_state(TaskState.READY | TaskState.COMPLETED)
                for c in split.children):
            return True
        caller = task.workflow.parent_task_id
        if caller is None:
            return False
        task = task.workflow.top_workflow.get_task_from_id(caller)
        if task.has_state(TaskState.CANCELLED):
            return True
    return False


def _withdraw_interrupted(workflow: BpmnWorkflow) -> list[Task]:
    """A task parked for a retry or a worker whose activity was interrupted is cancelled: no retry runs it again and
    no worker is offered it. The tasks left in ERROR."""
    errored = []
    for task in workflow.get_tasks(state=TaskState.ERROR):
        if _parked(task) and _interrupted(task):
            for key in ("retry_at", AWAITING):
                task.internal_data.pop(key, None)
            task._set_state(TaskState.CANCELLED)
        else:
            errored.append(task)
    return errored


def _awaiting(errored: list[Task]) -> list[tuple[str, str, str]]:
    """The external tasks parked for their workers, of the tasks in ERROR: (engine task id, element id, topic)."""
    return [(str(t.id), t.task_spec.bpmn_id, t.internal_data[AWAITING]) for t in errored if t.internal_data.get(AWAITING)]


def _failed_task_id(workflow: BpmnWorkflow) -> str | None:
    """The task that failed in this step (not one parked for a service retry)."""
    failed = [t for t in workflow.get_tasks(state=TaskState.ERROR) if not _parked(t)]
    return str(failed[-1].id) if failed else None


def _parked(task: Task) -> bool:
    """A task in ERROR that did not fail: a service parked for a retry, or an external task awaiting its worker."""
    return bool(task.internal_data.get("retry_at") or task.internal_data.get(AWAITING))


def _element_of(exc: SpiffWorkflowException) -> str | None:
    task = getattr(exc, "task", None)
    if task is not None:
        return task.task_spec.bpmn_id
    task_spec = getattr(exc, "task_spec", None)
    return getattr(task_spec, "bpmn_id", None)


def _describe_exception(exc: SpiffWorkflowException) -> str:
    # SpiffWorkflow adds a None note for a NameError whose text it cannot parse (UnboundLocalError,
    # "__build_class__ not found"), and its __str__ then raises TypeError: drop such notes.
    exc.notes = [note for note in getattr(exc, "notes", []) if isinstance(note, str)]
    message = str(exc)
    line = getattr(exc, "line_number", None)
    if line:
        message += f" (line {line})"
    return message
