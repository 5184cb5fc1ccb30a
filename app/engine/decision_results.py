"""A decision's result kept in one variable, as Camunda 7 and Camunda 8 keep it (issue 17).

SpiffWorkflow's business-rule task sets each output of the decision as a variable of its own name.
Camunda 7 keeps the result in `camunda:resultVariable`, shaped by `camunda:mapDecisionResult`;
Camunda 8 always keeps it in `zeebe:calledDecision`'s `resultVariable`. The import (`camunda_decisions`)
writes the variable and the shape as properties of the task (`RESULT_VARIABLE`, `RESULT_SHAPE`);
`install` makes such a task a `ResultInOneVariable`, which sets that one variable instead. The shapes,
over the rules the table's hit policy keeps (their outputs by name; `decision_logic`):

| shape | the variable holds | refused (an incident naming the task) |
|---|---|---|
| `resultList` (Camunda 7's default) | a list of one map per rule | |
| `singleResult` | the one rule's map, or None when none matched | more than one rule matched |
| `singleEntry` | the one rule's one output, or None | more than one rule, or more than one output |
| `collectEntries` | a list of each rule's one output | a rule with more than one output |
| `zeebe` (Camunda 8) | one output: its value (None without a match); several: a map; for a table that keeps a list (COLLECT, RULE ORDER) a list of those | |
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask

from app.engine.errors import InstanceFault
from app.engine.said import parts, said

RESULT_VARIABLE = "decisionResultVariable"
RESULT_SHAPE = "decisionResultShape"
SHAPES = ("resultList", "singleResult", "singleEntry", "collectEntries", "zeebe")


def _one(outputs: dict[str, Any], element: str, shape: str) -> Any:
    if len(outputs) != 1:
        raise InstanceFault(said("the decision's result is kept as %(shape)s, which takes one output per rule, and a "
                                 "rule of the decision gives %(count)d (%(outputs)s)", shape=shape, count=len(outputs),
                                 outputs=parts(list(outputs))), element)
    return next(iter(outputs.values()))


def shaped(matched: list[dict[str, Any]], shape: str, collect: bool, element: str) -> Any:
    """The value the result variable holds: `matched` are the outputs of the rules that matched, in order."""
    if shape == "zeebe":
        values = [outputs if len(outputs) != 1 else next(iter(outputs.values())) for outputs in matched]
        return values if collect else (values[0] if values else None)
    if shape == "resultList":
        return matched
    if shape == "collectEntries":
        return [_one(outputs, element, shape) for outputs in matched]
    if len(matched) > 1:
        raise InstanceFault(said("the decision's result is kept as %(shape)s, which takes one matching rule, and "
                                 "%(count)d rules matched: make the rules exclusive, or keep the result as a list",
                                 shape=shape, count=len(matched)), element)
    if not matched:
        return None
    return matched[0] if shape == "singleResult" else _one(matched[0], element, shape)


class ResultInOneVariable(BusinessRuleTask):
    """A business-rule task whose decision's result goes into one variable (the task's RESULT_VARIABLE
    property) in the shape its RESULT_SHAPE property names, not into one variable per output."""

    def _run_hook(self, my_task: Any) -> bool:
        properties = (self.extensions or {}).get("properties", {})
        engine = self.dmnEngine  # a DecisionTableEngine: the hit policy applied, the requirements evaluated
        matched = engine.outputs(my_task)
        my_task.data[properties[RESULT_VARIABLE]] = shaped(matched, properties.get(RESULT_SHAPE, "resultList"),
                                                           engine.keeps_list, self.bpmn_id)
        return SpiffBpmnTask._run_hook(self, my_task)


def install(spec: Any) -> None:
    """After parsing: each business-rule task with a result variable keeps its result there."""
    for task_spec in spec.task_specs.values():
        properties = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
        if type(task_spec) is BusinessRuleTask and properties.get(RESULT_VARIABLE):
            task_spec.__class__ = ResultInOneVariable
