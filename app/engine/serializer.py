"""Instance state and spec (de)serialization: Decimal-aware, with specs stored once per version.

An instance's state never embeds its spec: the spec is stored once with its process version and
spliced back in when the instance is loaded.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date, time
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG as SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask
from SpiffWorkflow.task import Task, TaskState
from SpiffWorkflow.util.deep_merge import DeepMerge

from app.engine import (
    boundary_data,
    call_variables,
    caught_errors,
    compensation,
    data_stores,
    decision_logic,
    decision_results,
    external_tasks,
    implicit_flow,
)
from app.engine.fanout import BOUNDED, install_fan_out_limits
from app.engine.timers import CLOCKED

STATE_FORMAT = "1.5"  # SpiffWorkflow's serialization version this state is written in
# Loanflow's own format version of a state, written beside SpiffWorkflow's: it changes whenever what
# we write changes (our escaping, our registered types, a new SpiffWorkflow format). A state is
# read by first running UPGRADES[v] for every v from its version up to STATE_VERSION, in order, as
# SpiffWorkflow's serializer runs its MIGRATIONS. States written before this key existed are 1.
STATE_VERSION_KEY = "state_version"
STATE_VERSION = 1
# UPGRADES[v] turns the dict of a version-v state into a version v + 1 one, in place.
UPGRADES: dict[int, Callable[[dict], None]] = {}
# The registry takes any dict with a 'typename' key for a serialized object: task data such as
# {"typename": "Decimal", "value": "1"} came back as a Decimal, an unknown name made the state
# unloadable. Such data dicts are written wrapped in this typename and unwrapped on load.
DATA_DICT = "LoanflowDataDict"


def _escape(value):  # noqa: ANN001, ANN202
    """`value` with every dict that has its own 'typename' key wrapped (unchanged if none has)."""
    if isinstance(value, dict):
        items = {k: _escape(v) for k, v in value.items()}
        if "typename" in value:
            return {"typename": DATA_DICT, "items": items}
        return value if all(items[k] is value[k] for k in value) else items
    if isinstance(value, list):
        items = [_escape(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _escape_workflow_data(dct: dict) -> None:
    dct["data"] = _escape(dct["data"])
    for task in dct["tasks"].values():  # most tasks carry no data of their own: skip them cheaply
        if task["data"]:
            task["data"] = _escape(task["data"])
        delta = task.get("delta")
        if delta and delta["updates"]:
            delta["updates"] = _escape(delta["updates"])
    for subprocess in dct.get("subprocesses", {}).values():
        _escape_workflow_data(subprocess)


def _workflow_dict(converter, workflow) -> dict:  # noqa: ANN001
    """What SpiffWorkflow's `WorkflowConverter.to_dict` gives for its JSON encoder, faster."""
    registry = converter.registry
    return {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": _task_dicts(workflow, registry.convert),
        "root": str(workflow.task_tree.id),
    }


def _task_dicts(workflow, convert) -> dict[str, dict]:  # noqa: ANN001
    """The tasks of one (sub)workflow as SpiffWorkflow's `TaskConverter` writes them for its JSON
    encoder: a task with a parent keeps only the keys its data changed (and the ones it dropped).

    Written out here because the generic converter (a registry lookup per value, a fresh string
    per UUID reference) cost more than encoding the JSON; the output is the same, key for key,
    and a test holds the two together.
    """
    tasks, ids = workflow.tasks, _ids_of(workflow)

    def text(task_id) -> str:  # noqa: ANN001
        return ids.get(task_id) or ids.setdefault(task_id, str(task_id))

    written = {}
    for task_id, task in tasks.items():
        parent = tasks.get(task._parent) if task._parent is not None else None
        if parent is None:
            data, delta = task.data, {}
        else:
            before, after = parent.data, task.data
            data = {}
            delta = {"updates": {k: v for k, v in after.items() if k not in before or before[k] != v},
                     "deletions": [k for k in before if k not in after]}
        written[text(task_id)] = {
            "id": text(task_id), "parent": text(task._parent) if parent is not None else None,
            "children": [text(child) for child in task._children],
            "last_state_change": task.last_state_change, "state": task._state, "task_spec": task.task_spec.name,
            "triggered": task.triggered, "internal_data": convert(task.internal_data), "data": data,
            "delta": delta, "typename": "Task",
        }
    return written


def _ids_of(workflow) -> dict:  # noqa: ANN001
    """UUID -> its text, kept on the workflow: a task id is written many times, in every step."""
    try:
        return workflow._loanflow_ids
    except AttributeError:
        workflow._loanflow_ids = {}
        return workflow._loanflow_ids


def _read_tasks(converter, tasks: dict, workflow) -> dict:  # noqa: ANN001
    """SpiffWorkflow's `TaskConverter.from_dict` for every task of a (sub)workflow, with each id
    parsed once: an id stands in a state up to four times (its task, its parent, its children), and
    parsing UUID text was half the cost of a restore. The result is the same (a test compares them).
    """
    registry, specs = converter.registry, workflow.spec.task_specs
    found: dict[str, UUID] = {}
    restored: dict[UUID, Task] = {}

    def uuid(text: str) -> UUID:
        return found.get(text) or found.setdefault(text, UUID(text))

    for dct in tasks.values():
        task_spec = specs.get(dct["task_spec"])
        task = Task(workflow, task_spec, state=dct["state"], id=uuid(dct["id"]))
        task._parent = uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = registry.restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta, parent = dct.get("delta"), task.parent
        if delta and parent is not None:
            data = DeepMerge.merge({}, parent.data)
            data.update(registry.restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                data.pop(key, None)
        else:
            data = registry.restore(dct["data"])
        task.data = data
        restored[task.id] = task
    return restored


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Writes a workflow without its specs; restores it around specs handed in by the caller."""

    def to_dict(self, workflow):  # noqa: ANN001, ANN201
        # In encoder mode (serialize_json) values are left to the JSON encoder: the fast writer.
        fast = self.registry._encoder_mode
        dct = _workflow_dict(self, workflow) if fast else WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        _escape_workflow_data(dct)
        dct[STATE_VERSION_KEY] = STATE_VERSION
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):  # noqa: ANN001, ANN201
        if spec is None:
            raise ValueError("an instance's state is restored around its process version's spec")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = _read_tasks(self, dct["tasks"], workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class SubWorkflowConverter(BpmnSubWorkflowConverter):
    """Subprocesses (embedded and called) written and read with the same task writer and reader."""

    def to_dict(self, workflow):  # noqa: ANN001, ANN201
        if not self.registry._encoder_mode:
            return super().to_dict(workflow)
        dct = _workflow_dict(self, workflow)
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        return dct

    def from_dict(self, dct, task, top_workflow):  # noqa: ANN001, ANN201 - the library's, with _read_tasks
        spec = top_workflow.subprocess_specs.get(task.task_spec.spec)
        subprocess = self.target_class(spec, task.id, top_workflow, deserializing=True)
        subprocess.tasks = _read_tasks(self, dct["tasks"], subprocess)
        subprocess.task_tree = subprocess.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(subprocess, dct)
        return subprocess


class StateFormatError(ValueError):
    """A state this engine cannot read: written by a newer Loanflow, or in an unknown format."""


def upgrade_state(dct: dict, version: object) -> None:
    """Bring the dict of a `version` state (its version key taken out) up to STATE_VERSION through
    UPGRADES, one version at a time; a state from a newer version, or of no version we know, is
    refused rather than misread."""
    if type(version) is not int or version < 1:
        raise StateFormatError(f"instance state has version {version!r}, which is not a state version")
    if version > STATE_VERSION:
        raise StateFormatError(f"instance state is in version {version}, written by a newer Loanflow; "
                               f"this engine reads up to version {STATE_VERSION}")
    for step in range(version, STATE_VERSION):
        upgrade = UPGRADES.get(step)
        if upgrade is None:
            raise StateFormatError(f"no upgrade of an instance state from version {step} to {step + 1}")
        upgrade(dct)


class StateSerializer:
    """The one place that turns workflows and specs into JSON text and back."""

    def __init__(self) -> None:
        config = dict(SPIFF_CONFIG)
        config[BpmnWorkflow] = SpeclessWorkflowConverter
        config[BpmnSubWorkflow] = SubWorkflowConverter
        for plain, clocked in CLOCKED.items():  # timers that read the engine's clock
            config[clocked] = config[plain]
        for plain, bounded in BOUNDED.items():  # parallel splits with their limit
            config[bounded] = config[plain]
        for plain, split in implicit_flow.SPLITS.items():  # the splits the import draws, which never join
            config[split] = config[plain]
        config[BusinessRuleTask] = decision_logic.DecisionTaskConverter  # Camunda 7's hit policies, requirements
        config[decision_results.ResultInOneVariable] = config[BusinessRuleTask]  # the result in one variable
        config[external_tasks.WorkedOutside] = config[external_tasks.ServiceTask]  # an external worker's variables
        config[caught_errors.ErrorKeptInData] = config[caught_errors.ErrorEventDefinition]  # keeps the caught code
        config[caught_errors.EscalationKeptInData] = config[caught_errors.EscalationEventDefinition]
        config[caught_errors.ErrorWithMessage] = caught_errors.ErrorWithMessageConverter  # thrown with a message
        config[boundary_data.SeesItsSubProcess] = config[boundary_data.BoundaryEvent]  # sees its sub-process's data
        config[call_variables.PassesOnlyMapped] = config[call_variables.CallActivity]  # passes only what is mapped
        config[compensation.CompensationChoice] = config[compensation.ExclusiveGateway]  # asks what to compensate
        data_stores.register_serializer(config)  # data stores a spec's tasks read and write
        registry = BpmnWorkflowSerializer.configure(config)
        registry.register(Decimal, lambda d: {"value": str(d)}, lambda d: Decimal(d["value"]))
        # Scripts make dates and times with the allowed datetime module; unregistered, they crashed the dump.
        registry.register(date, lambda d: {"value": d.isoformat()}, lambda d: date.fromisoformat(d["value"]))
        registry.register(time, lambda t: {"value": t.isoformat()}, lambda t: time.fromisoformat(t["value"]))
        registry.convert_from_dict[DATA_DICT] = lambda d: {k: registry.restore(v) for k, v in d["items"].items()}
        self.registry = registry
        self._workflows = BpmnWorkflowSerializer(registry, version=STATE_FORMAT)
        # serialize_json switches the shared registry into its encoder mode while it runs: a spec
        # or a state written by another thread meanwhile would be converted half one way.
        self._writing = threading.Lock()

    def dump_state(self, workflow: BpmnWorkflow) -> str:
        with self._writing:
            return self._workflows.serialize_json(workflow)

    def load_state(self, state: str, spec, subprocess_specs: dict) -> BpmnWorkflow:  # noqa: ANN001
        dct = json.loads(state)
        version = dct.pop(STATE_VERSION_KEY, 1)  # the hot path: one lookup, one comparison
        if version != STATE_VERSION:
            upgrade_state(dct, version)
        version = dct.pop(BpmnWorkflowSerializer.VERSION_KEY, None)
        if version != STATE_FORMAT:
            raise StateFormatError(f"instance state is in format {version!r}; this engine reads {STATE_FORMAT}")
        return self._workflows.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)

    def dump_spec(self, spec, embedded: dict) -> str:  # noqa: ANN001
        """A process spec with the specs of its embedded subprocesses, as JSON text."""
        with self._writing:
            return json.dumps({
                "spec": self.registry.convert(spec),
                "embedded": {name: self.registry.convert(s) for name, s in embedded.items()},
            })

    def load_spec(self, text: str) -> tuple[object, dict]:
        dct = json.loads(text)
        spec = self.registry.restore(dct["spec"])
        embedded = {name: self.registry.restore(s) for name, s in dct["embedded"].items()}
        for each in (spec, *embedded.values()):  # a version deployed before the limits had plain classes
            install_fan_out_limits(each)
        return spec, embedded
