"""A call activity that passes only what Camunda passes: into the called process, and back from it.

SpiffWorkflow 3.2 starts a called process with all of the calling instance's data and gives the call all
of the called process's data when it ends. Camunda does not always:

| drawn for | passes in | passes back |
|---|---|---|
| Camunda 7, a call with `camunda:in` or `camunda:out` mappings | only what the ins set (all with `variables="all"`) | only what the outs set (all with `variables="all"`) |
| Camunda 8, `propagateAllParentVariables="false"` | only the targets of the call's `zeebe:input`s | |
| Camunda 8, `propagateAllChildVariables="false"` | | only the targets of the call's `zeebe:output`s |

The import (`camunda_services`, `zeebe_elements`) writes the names as the call's `INPUTS` and `OUTPUTS`
properties (JSON lists, empty when nothing passes); a direction without its property passes everything, as
SpiffWorkflow does (a call without any mapping, or a diagram not drawn for Camunda). `install` gives such a
call this class after parsing. The mappings themselves run where they did: the ins as the call's pre-script,
in the calling instance's data, before the called process starts with what they set; the outs as its
post-script, on the called process's data, before the calling instance keeps only what they set over its own
data as it was.

It is serialized as SpiffWorkflow's call activity is, under its own type name.
"""
from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.defaults import CallActivity

INPUTS = "callInputs"  # the call's property: the JSON list of the names the called process starts with
OUTPUTS = "callOutputs"  # the call's property: the JSON list of the names that come back
_BEFORE = "data_before_call"  # the call task's internal data: its data when the called process ended


class PassesOnlyMapped(CallActivity):
    """SpiffWorkflow's call activity, passing in only the names its INPUTS property lists and taking back only
    those its OUTPUTS property lists (everything, in a direction without its property)."""

    def copy_data(self, my_task: Any, subworkflow: Any) -> None:
        names = listed(self, INPUTS)
        if names is None:
            super().copy_data(my_task, subworkflow)
            return
        start = subworkflow.get_next_task(spec_name="Start")
        start.set_data(**{name: deepcopy(my_task.data[name]) for name in names if name in my_task.data})

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
        names = listed(self, OUTPUTS)
        if isinstance(before, dict) and names is not None:
            my_task.data = {**before, **{name: my_task.data[name] for name in names if name in my_task.data}}
        BpmnTaskSpec._on_complete_hook(self, my_task)  # what follows SpiffBpmnTask's post-script


def listed(task_spec: Any, prop: str) -> list[str] | None:
    """The names a call activity's INPUTS or OUTPUTS property lists, None when it has none (everything passes)."""
    written = ((getattr(task_spec, "extensions", None) or {}).get("properties") or {}).get(prop)
    if written is None:
        return None
    try:
        names = json.loads(written)
    except ValueError:
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


def install(spec: Any) -> None:
    """After parsing: each call activity whose properties list what passes in or back passes only that."""
    for task_spec in spec.task_specs.values():
        if type(task_spec) is CallActivity and (listed(task_spec, INPUTS) is not None
                                                or listed(task_spec, OUTPUTS) is not None):
            task_spec.__class__ = PassesOnlyMapped


__all__ = ["INPUTS", "OUTPUTS", "PassesOnlyMapped", "install", "listed"]
