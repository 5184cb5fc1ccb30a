"""Instance state and spec (de)serialization: Decimal-aware, with specs stored once per version.

An instance's state never embeds its spec: the spec is stored once with its process version and
spliced back in when the instance is loaded.
"""
from __future__ import annotations

import json
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG as SPIFF_CONFIG

STATE_FORMAT = "1.5"  # SpiffWorkflow's serialization version this state is written in


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Writes a workflow without its specs; restores it around specs handed in by the caller."""

    def to_dict(self, workflow):  # noqa: ANN001, ANN201
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):  # noqa: ANN001, ANN201
        if spec is None:
            raise ValueError("an instance's state is restored around its process version's spec")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateSerializer:
    """The one place that turns workflows and specs into JSON text and back."""

    def __init__(self) -> None:
        config = dict(SPIFF_CONFIG)
        config[BpmnWorkflow] = SpeclessWorkflowConverter
        registry = BpmnWorkflowSerializer.configure(config)
        registry.register(Decimal, lambda d: {"value": str(d)}, lambda d: Decimal(d["value"]))
        self.registry = registry
        self._workflows = BpmnWorkflowSerializer(registry, version=STATE_FORMAT)

    def dump_state(self, workflow: BpmnWorkflow) -> str:
        return self._workflows.serialize_json(workflow)

    def load_state(self, state: str, spec, subprocess_specs: dict) -> BpmnWorkflow:  # noqa: ANN001
        dct = json.loads(state)
        version = dct.pop(BpmnWorkflowSerializer.VERSION_KEY, None)
        if version != STATE_FORMAT:
            raise ValueError(f"instance state is in format {version!r}; this engine reads {STATE_FORMAT}")
        return self._workflows.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)

    def dump_spec(self, spec, embedded: dict) -> str:  # noqa: ANN001
        """A process spec with the specs of its embedded subprocesses, as JSON text."""
        return json.dumps({
            "spec": self.registry.convert(spec),
            "embedded": {name: self.registry.convert(s) for name, s in embedded.items()},
        })

    def load_spec(self, text: str) -> tuple[object, dict]:
        dct = json.loads(text)
        return self.registry.restore(dct["spec"]), {
            name: self.registry.restore(s) for name, s in dct["embedded"].items()}
