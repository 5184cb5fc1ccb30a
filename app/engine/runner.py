"""Runs workflows: start, restore, complete user tasks, advance until idle, report what changed.

Knows nothing of the database: the service layer hands in specs and state text and persists the
`StepOutcome` this module returns.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException

from app.engine.errors import InstanceFault
from app.engine.scripting import SandboxEnvironment
from app.engine.serializer import StateSerializer

ServiceCaller = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]


class TaskNotReady(Exception):
    """The user task is not (or no longer) waiting for input."""


@dataclass(frozen=True)
class ReadyTask:
    engine_task_id: str
    element_id: str
    title: str
    lane: str | None
    properties: dict[str, str]


@dataclass
class StepOutcome:
    status: str  # waiting | completed | error
    state: str
    data: dict[str, Any]
    ready: list[ReadyTask] = field(default_factory=list)
    end_events: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None


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
    """The sandboxed script engine, with service tasks dispatched to the handler registry."""

    def __init__(self, call_service: ServiceCaller | None = None) -> None:
        super().__init__(environment=SandboxEnvironment())
        self._call_service = call_service

    def call_service(self, task, operation_name, operation_params):  # noqa: ANN001, ANN201
        if self._call_service is None:
            raise InstanceFault(f"no service handlers are configured for '{operation_name}'",
                                task.task_spec.bpmn_id)
        params = {name: spec["value"] for name, spec in operation_params.items()}
        context = {"engine_task_id": str(task.id), "element_id": task.task_spec.bpmn_id}
        return json.dumps(jsonable(self._call_service(operation_name, params, context)))


class ProcessEngine:
    """Starts, restores and advances workflows for the service layer."""

    def __init__(self, max_tree_depth: int = 900, call_service: ServiceCaller | None = None) -> None:
        self.serializer = StateSerializer()
        self.script_engine = LoanflowScriptEngine(call_service)
        self.max_tree_depth = max_tree_depth

    # -- building workflows -------------------------------------------------------------
    def new_workflow(self, spec, subprocess_specs: dict, data: dict[str, Any]) -> BpmnWorkflow:  # noqa: ANN001
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        start = workflow.get_next_task(state=TaskState.READY)
        start.data.update(data)
        return workflow

    def restore(self, state: str, spec, subprocess_specs: dict) -> BpmnWorkflow:  # noqa: ANN001
        workflow = self.serializer.load_state(state, spec, subprocess_specs)
        workflow.script_engine = self.script_engine
        return workflow

    # -- inputs -------------------------------------------------------------------------
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
        try:
            self._guarded(workflow, lambda: task.run())
        except InstanceFault as fault:
            return self._outcome(workflow, _fault_dict(fault))
        return self.advance(workflow)

    def cancel(self, workflow: BpmnWorkflow) -> str:
        workflow.cancel()
        return self.serializer.dump_state(workflow)

    # -- advancing ----------------------------------------------------------------------
    def advance(self, workflow: BpmnWorkflow) -> StepOutcome:
        """Run every engine task until only user tasks and waits are left; report the result."""
        error = None
        try:
            self._guarded(workflow, lambda: workflow.do_engine_steps(did_complete_task=self._check_depth))
        except InstanceFault as fault:
            error = _fault_dict(fault)
        return self._outcome(workflow, error)

    def _guarded(self, workflow: BpmnWorkflow, action: Callable[[], Any]) -> None:
        try:
            action()
        except InstanceFault:
            raise
        except SpiffWorkflowException as exc:
            raise InstanceFault(_describe_exception(exc), _element_of(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - a failing diagram must never crash a request
            failed = workflow.get_tasks(state=TaskState.ERROR)
            element = failed[0].task_spec.bpmn_id if failed else None
            raise InstanceFault(f"{type(exc).__name__}: {exc}", element) from exc

    def _check_depth(self, task) -> None:  # noqa: ANN001
        if task.depth >= self.max_tree_depth:
            raise InstanceFault(
                f"the instance's task tree reached depth {task.depth} (limit {self.max_tree_depth}): "
                "an unbounded loop? Model long lives as several instances", task.task_spec.bpmn_id,
                kind="depth_limit")

    def _outcome(self, workflow: BpmnWorkflow, error: dict[str, Any] | None) -> StepOutcome:
        state = self.serializer.dump_state(workflow)
        if error is not None:
            last = workflow.last_task
            return StepOutcome("error", state, jsonable(last.data if last else {}), error=error)
        if workflow.is_completed():
            ends = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED, spec_class=EndEvent)
                    if t.workflow is workflow]
            return StepOutcome("completed", state, jsonable(workflow.data), end_events=ends)
        ready = [self._ready_task(t) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
        last = workflow.last_task
        return StepOutcome("waiting", state, jsonable(last.data if last else {}), ready=ready)

    @staticmethod
    def _ready_task(task) -> ReadyTask:  # noqa: ANN001
        spec = task.task_spec
        properties = dict((getattr(spec, "extensions", None) or {}).get("properties", {}))
        if not isinstance(spec, UserTaskMixin):
            properties.setdefault("kind", type(spec).__name__)
        return ReadyTask(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, spec.lane, properties)


def _fault_dict(fault: InstanceFault) -> dict[str, Any]:
    return {"element_id": fault.element_id, "message": str(fault), "kind": fault.kind}


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
