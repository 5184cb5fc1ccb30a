"""Camunda's multi-instance counters, for a completion condition that reads them, and each instance's
`loopCounter` (issue 17).

Camunda 7 keeps four variables on a multi-instance activity, and its documentation's own example of a
completion condition reads two of them (`${nrOfCompletedInstances/nrOfInstances >= 0.6}`: done when
60% of the approvers have answered). SpiffWorkflow keeps none: such a condition failed with "no value
for nrOfCompletedInstances", so the import refused it. `CountedCompletion` evaluates the completion
condition, as SpiffWorkflow does, on the data of the instance that just ended, with the counters beside
that data (never written into it):

- `nrOfInstances`: how many instances the activity runs (all of a parallel one; for a sequential one its
  cardinality, or the items of its collection);
- `nrOfCompletedInstances`: how many have ended, this one included;
- `nrOfActiveInstances`: how many are still running (a sequential one runs one at a time: 1, as Camunda
  says);
- `loopCounter`: the index of the instance that just ended (0 for the first).

Each instance also sees its own index as `loopCounter`, as Camunda keeps it local to the instance
(`camunda:assignee="kermit_${loopCounter}"`, a script numbering its work): set in the instance's data when it
is made, and dropped as it ends, so it never reaches the process's data (a variable of the process named so
is left as it is, and not shadowed).

The multi-instances of a parsed spec get it with the fan-out bounds (`fanout.BOUNDED`).
"""
from __future__ import annotations

from collections.abc import Sized
from typing import Any

from SpiffWorkflow.spiff.specs.defaults import ParallelMultiInstanceTask

COUNTERS = ("nrOfInstances", "nrOfCompletedInstances", "nrOfActiveInstances", "loopCounter")


def counters(spec: Any, my_task: Any, ended: Any) -> dict[str, int]:
    """The counters of the multi-instance `my_task` (of `spec`) as its instance `ended` has just ended."""
    instances = list(spec._instances(my_task))
    completed = len(my_task.internal_data.get("merged") or [])
    if isinstance(spec, ParallelMultiInstanceTask):
        total, active = len(instances), len(instances) - completed
    else:
        known = my_task.internal_data
        remaining = known.get("remaining")
        total = known["cardinality"] if known.get("cardinality") is not None else (
            len(remaining) + completed if isinstance(remaining, Sized) else completed)
        active = 1
    return {"nrOfInstances": total, "nrOfCompletedInstances": completed, "nrOfActiveInstances": active,
            "loopCounter": instances.index(ended) if ended in instances else completed - 1}


LOOP_COUNTER = "loopCounter"


class CountedCompletion:
    """A multi-instance whose completion condition sees Camunda's counters, and whose instances each see their
    `loopCounter` (a mixin before SpiffWorkflow's class)."""

    condition: Any

    def create_child(self, my_task: Any, item: Any, key_or_index: Any = None) -> None:
        super().create_child(my_task, item, key_or_index)  # type: ignore[misc]
        instances = list(self._instances(my_task))  # type: ignore[attr-defined]
        if instances and LOOP_COUNTER not in my_task.data:
            instances[-1].data[LOOP_COUNTER] = len(instances) - 1

    def merge_child(self, workflow: Any, child: Any) -> None:
        if LOOP_COUNTER not in child.parent.data:
            child.data.pop(LOOP_COUNTER, None)
        super().merge_child(workflow, child)  # type: ignore[misc]

    def check_completion_condition(self, my_task: Any) -> Any:
        merged = my_task.internal_data.get("merged", [])
        if not merged or self.condition is None:
            return None
        ended = next(c for c in my_task.children if str(c.id) == merged[-1])
        return my_task.workflow.script_engine.evaluate(ended, self.condition,
                                                       external_context=counters(self, my_task, ended))
