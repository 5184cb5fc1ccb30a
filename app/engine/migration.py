"""Moving a running workflow onto another version of its process, with SpiffWorkflow's migration support.

`plan` compares a workflow with a target spec (`diff_workflow`: the tasks of the top process and of each
running subprocess against the target's specs) and says, for every element the instance is in (ready,
waiting, started), where it goes in the target and what stops the move: the element is gone, it is of
another type now, a user task's lane changed (the work would change hands mid-task), or a running
subprocess has no spec in the target. `migrate` does the move (`migrate_workflow`: every task points at its
counterpart, ready and waiting branches are reset and predicted again from the target), keeps what a
waiting element already knew (a timer's due time, a user task's evaluated due date) and advances.

Knows nothing of the database: the service hands in the specs and persists the outcome.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow

from app.engine.runner import MessageEventDefinition, ProcessEngine, StepOutcome

OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
RESET = TaskState.READY | TaskState.WAITING  # what migrate_workflow resets and predicts again
DEFINITE = TaskState.DEFINITE_MASK | TaskState.ERROR

# Why an open element cannot move
REMOVED = "removed"  # no counterpart in the target
TYPE_CHANGED = "type_changed"  # a counterpart of another kind (a user task became a service task)
LANE_CHANGED = "lane_changed"  # a user task someone may be working on would change hands
SUBPROCESS_REMOVED = "subprocess_removed"  # a running subprocess whose spec the target does not have


class MigrationRefused(Exception):
    """The workflow cannot move to the target: `plan` says why."""

    def __init__(self, plan: MigrationPlan) -> None:
        self.plan = plan
        super().__init__("; ".join(f"{e.element_id}: {e.blocker}" for e in plan.elements if e.blocker))


@dataclass(frozen=True)
class OpenElement:
    """An element the instance is in, and what becomes of it in the target."""

    element_id: str
    name: str | None
    properties: dict[str, str]  # its spiffworkflow properties (name@zh ...)
    state: str  # ready | waiting | started | error
    manual: bool  # a user task
    changes: tuple[str, ...] = ()  # the spec attributes that differ in the target
    blocker: str | None = None
    subprocess: str | None = None  # the (called or embedded) process it runs in; None: the top one


@dataclass
class MigrationPlan:
    elements: list[OpenElement] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # element ids of the top process new in the target

    @property
    def movable(self) -> bool:
        return not any(e.blocker for e in self.elements)


def _element(task: Any, changes: list[str], blocker: str | None, subprocess: str | None) -> OpenElement:
    spec = task.task_spec
    properties = dict((getattr(spec, "extensions", None) or {}).get("properties", {}))
    return OpenElement(str(spec.bpmn_id), spec.bpmn_name, properties, TaskState.get_name(task.state).lower(),
                       bool(spec.manual), tuple(sorted(changes)), blocker, subprocess)


@dataclass
class _Part:
    """One (sub)workflow of the instance compared with its spec in the target (None: the target has none)."""

    workflow: Any
    subprocess: str | None  # the spec name of a subprocess; None: the top process
    specs: SpecDiff | None
    tasks: WorkflowDiff | None


def _parts(engine: ProcessEngine, workflow: BpmnWorkflow, spec: Any, subprocess_specs: dict) -> list[_Part]:
    """diff_workflow's comparison, keeping each SpecDiff: it says which attributes of a spec changed."""
    registry = engine.serializer.registry
    # comparing specs converts them with the serializer's registry, which a dump switches to encoder mode
    with engine.serializer._writing:
        top = SpecDiff(registry, workflow.spec, spec)
        parts = [_Part(workflow, None, top, WorkflowDiff(workflow, top))]
        for subprocess in workflow.subprocesses.values():
            target = subprocess_specs.get(subprocess.spec.name)
            found = SpecDiff(registry, subprocess.spec, target) if target is not None else None
            parts.append(_Part(subprocess, subprocess.spec.name, found,
                               WorkflowDiff(subprocess, found) if found is not None else None))
    return parts


def _examine(part: _Part, plan: MigrationPlan) -> None:
    """Add the open elements of one (sub)workflow to the plan, and what blocks each."""
    assert part.specs is not None and part.tasks is not None
    workflow, changed = part.workflow, part.specs.changed
    reset = workflow.get_tasks(state=RESET, skip_subprocesses=True)
    dropped = {d.id for t in reset for d in t if d is not t}  # a reset branch is predicted again from the target
    for task in workflow.get_tasks(state=DEFINITE, skip_subprocesses=True):
        if task.id in dropped or getattr(task.task_spec, "bpmn_id", None) is None:
            continue
        blocker, changes = None, list(changed.get(task.task_spec, []))
        target = part.tasks.alignment.get(task)
        if target is None:
            blocker, changes = REMOVED, []
        elif "typename" in changes:
            blocker = TYPE_CHANGED
        elif task.task_spec.manual and task.has_state(TaskState.READY) and "lane" in changes:
            blocker = LANE_CHANGED
        if task.has_state(OPEN) or blocker:
            plan.elements.append(_element(task, changes, blocker, part.subprocess))


def plan(engine: ProcessEngine, workflow: BpmnWorkflow, spec: Any, subprocess_specs: dict) -> MigrationPlan:
    """What would move where if the workflow went to `spec` (with `subprocess_specs`: embedded and called)."""
    return _plan(workflow, spec, _parts(engine, workflow, spec, subprocess_specs))


def _plan(workflow: BpmnWorkflow, spec: Any, parts: list[_Part]) -> MigrationPlan:
    result = MigrationPlan(added=sorted(str(s.bpmn_id) for s in spec.task_specs.values()
                                        if getattr(s, "bpmn_id", None) and s.name not in workflow.spec.task_specs))
    for part in parts:
        if part.specs is not None:
            _examine(part, result)
        elif not part.workflow.completed:
            parent = workflow.get_task_from_id(part.workflow.parent_task_id)
            result.elements.append(_element(parent, [], SUBPROCESS_REMOVED, None))
    return result


def migrate(engine: ProcessEngine, workflow: BpmnWorkflow, spec: Any, subprocess_specs: dict) -> StepOutcome:
    """Move the workflow to `spec` and advance it; MigrationRefused (nothing changed) if `plan` blocks."""
    parts = _parts(engine, workflow, spec, subprocess_specs)
    found = _plan(workflow, spec, parts)
    if not found.movable:
        raise MigrationRefused(found)
    changed = {t.id for part in parts if part.tasks is not None for t in part.tasks.changed}
    # A waiting timer keeps its due time, a ready user task its evaluated due date and priority: the reset
    # below would compute them again from now (an element whose spec changed starts over)
    known = {t.id: (t.state, dict(t.internal_data)) for t in workflow.get_tasks(state=RESET) if t.id not in changed}
    workflow.subprocess_specs = subprocess_specs
    for part in parts[1:]:
        if part.tasks is not None:
            migrate_workflow(part.tasks, part.workflow, subprocess_specs[part.subprocess])
    assert parts[0].tasks is not None
    migrate_workflow(parts[0].tasks, workflow, spec)
    for task in workflow.get_tasks(state=RESET):
        before = known.get(task.id)
        if before is not None and before[0] == task.state:
            task.internal_data = before[1]
    return engine.advance(workflow)


def message_catchers(spec: Any, subprocess_specs: dict) -> dict[str, str]:
    """Which element of a version catches each message it waits for: message name -> the first catching element's
    id, for naming a message received. An event-based gateway holds its branches' events itself (SpiffWorkflow
    moves them onto it, in the order of its outputs): the branch's event is named, not the gateway."""
    found: dict[str, str] = {}
    for each in (spec, *subprocess_specs.values()):  # the process's own elements first
        for task_spec in each.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            branches = getattr(definition, "event_definitions", None) or []
            outputs = getattr(task_spec, "outputs", None) or []
            pairs = (list(zip(branches, [getattr(o, "bpmn_id", None) for o in outputs], strict=True))
                     if branches and len(branches) == len(outputs) else [(definition, bpmn_id)])
            for caught, element in pairs:
                if element is not None and isinstance(caught, MessageEventDefinition) and caught.name:
                    found.setdefault(str(caught.name), str(element))
    return found


def element_labels(spec: Any, subprocess_specs: dict) -> dict[str, tuple[str | None, dict[str, str]]]:
    """Every element of a version (its subprocesses' too): id -> (name, spiffworkflow properties)."""
    found: dict[str, tuple[str | None, dict[str, str]]] = {}
    for each in (*subprocess_specs.values(), spec):  # the process's own elements last: they win
        for task_spec in each.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id is not None:
                properties = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
                found[str(bpmn_id)] = (task_spec.bpmn_name, dict(properties))
    return found
