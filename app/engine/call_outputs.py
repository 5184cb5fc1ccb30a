"""A call activity that takes back only its outputs from the process it called.

SpiffWorkflow 3.2 gives a call activity all of the called process's data when it ends. Camunda does
not always: Camunda 7 passes back only what the call's `camunda:out` mappings name (unless one says
`variables="all"`), Camunda 8 only its `zeebe:output` targets when the call says
`propagateAllChildVariables="false"`. The import (`zeebe_elements`, `camunda_services`) writes the names
that come back as the call's `OUTPUTS` property (a JSON list, empty when nothing does); `install` gives
such a call this class after parsing. When the call ends, the outputs are computed from the called
process's data as before (its post-script: the mappings), then the calling instance keeps its own data as
it was when the call started, with only those names laid over it.

It is serialized as SpiffWorkflow's call activity is, under its own type name.
"""
from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.defaults import CallActivity

OUTPUTS = "callOutputs"  # the call's property: the JSON list of the names that come back
_BEFORE = "data_before_call"  # the call task's internal data: its data when the called process ended


class KeepsOnlyItsOutputs(CallActivity):
    """SpiffWorkflow's call activity, which keeps only the names its OUTPUTS property lists of what comes back."""

    def update_data(self, my_task: Any, subworkflow: Any) -> None:
        my_task.internal_data[_BEFORE] = deepcopy(my_task.data)
        super().update_data(my_task, subworkflow)

    def _on_complete_hook(self, my_task: Any) -> None:
        if self.postscript is not None:  # the outputs, read from the called process's data (SpiffBpmnTask's way)
            try:
                self.execute_script(my_task, self.postscript)
            except SpiffWorkflowException as exc:
                exc.add_note("Error occurred in the Post-Script")
                raise
        before = my_task.internal_data.pop(_BEFORE, None)
        if isinstance(before, dict):
            returned = {name: my_task.data[name] for name in outputs(self) or () if name in my_task.data}
            my_task.data = {**before, **returned}
        BpmnTaskSpec._on_complete_hook(self, my_task)  # what follows SpiffBpmnTask's post-script


def outputs(task_spec: Any) -> list[str] | None:
    """The names a call activity takes back, None when it takes back all (no OUTPUTS property)."""
    written = ((getattr(task_spec, "extensions", None) or {}).get("properties") or {}).get(OUTPUTS)
    if written is None:
        return None
    try:
        names = json.loads(written)
    except ValueError:
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


def install(spec: Any) -> None:
    """After parsing: each call activity whose OUTPUTS property names what comes back keeps only that."""
    for task_spec in spec.task_specs.values():
        if type(task_spec) is CallActivity and outputs(task_spec) is not None:
            task_spec.__class__ = KeepsOnlyItsOutputs


__all__ = ["OUTPUTS", "KeepsOnlyItsOutputs", "install", "outputs"]
