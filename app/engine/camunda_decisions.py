"""Camunda 7's `camunda:decisionRef`: the decision a business-rule task calls, read by the import.

SpiffWorkflow's parser reads the called decision only from `spiffworkflow:calledDecisionId`; a task
drawn in Camunda Modeler names it in the `camunda:decisionRef` attribute, which it never reads, and
the diagram was refused with "No DMN Diagram available with id None". `prepare` writes the id where
the parser reads it, and says so: the decision's outputs then become variables of the instance by
their names (as SpiffWorkflow's own Camunda support runs them), where Camunda 7 saves a result only
through `camunda:resultVariable` or a mapping. What has no such meaning is refused, the task named:
a decision chosen by an expression at run time, a result kept in one variable
(`camunda:resultVariable`, shaped by `camunda:mapDecisionResult`), a pinned decision version, and
Camunda 8's `zeebe:calledDecision`, whose result always lands in one `resultVariable`.
"""
from __future__ import annotations

from lxml import etree

from app.engine.errors import DiagramProblem
from app.engine.xml import BPMN_NS
from app.engine.xml import source_line as _line

_B = f"{{{BPMN_NS}}}"
CAMUNDA_NAMESPACES = ("http://camunda.org/schema/1.0/bpmn", "http://activiti.org/bpmn")
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"


def _camunda(task: etree._Element, name: str) -> str | None:
    for ns in CAMUNDA_NAMESPACES:
        value = task.get(f"{{{ns}}}{name}")
        if value is not None:
            return value.strip()
    return None


def _refusal(filename: str, task: etree._Element, ref: str) -> str | None:
    if "${" in ref or "#{" in ref:
        return (f"the decision is chosen at run time by the expression {ref!r} (camunda:decisionRef); Loanflow "
                "calls one named decision: name it")
    result = _camunda(task, "resultVariable")
    if result:
        shape = _camunda(task, "mapDecisionResult") or "resultList"
        return (f"the decision's result is kept in the variable {result!r} (camunda:resultVariable, shaped as "
                f"{shape}); Loanflow sets each output of the decision as a variable of its own name: remove "
                "camunda:resultVariable and read the outputs by their names")
    binding = _camunda(task, "decisionRefBinding")
    if binding in ("version", "versionTag"):
        return (f"the task calls a fixed version of decision {ref!r} (camunda:decisionRefBinding={binding!r}); "
                "Loanflow calls the decision deployed with the process: remove the binding")
    return None


def prepare(root: etree._Element, filename: str) -> tuple[list[DiagramProblem], list[DiagramProblem]]:
    """(refusals, changes) for the business-rule tasks that name their decision with camunda:decisionRef."""
    refusals: list[DiagramProblem] = []
    changes: list[DiagramProblem] = []
    for task in root.iter(f"{_B}businessRuleTask"):
        for called in task.iter(f"{{{ZEEBE_NS}}}calledDecision"):
            refusals.append(DiagramProblem(
                filename, task.get("id"), f"the task calls decision {called.get('decisionId')!r} the Camunda 8 way "
                f"(zeebe:calledDecision), its result kept in the variable {called.get('resultVariable')!r}; Loanflow "
                "sets each output of the decision as a variable of its own name: name the decision with "
                "spiffworkflow:calledDecisionId and read the outputs by their names", _line(task)))
        ref = _camunda(task, "decisionRef")
        if not ref:
            continue
        extensions = task.find(f"{_B}extensionElements")
        named = extensions.find(f"{{{SPIFF_NS}}}calledDecisionId") if extensions is not None else None
        if named is not None and (named.text or "").strip():
            if named.text.strip() != ref:
                changes.append(DiagramProblem(
                    filename, task.get("id"), f"the task names two decisions: it calls {named.text.strip()!r} "
                    f"(spiffworkflow:calledDecisionId), not {ref!r} (camunda:decisionRef)", _line(task), "warning"))
            continue
        refused = _refusal(filename, task, ref)
        if refused is not None:
            refusals.append(DiagramProblem(filename, task.get("id"), refused, _line(task)))
            continue
        if extensions is None:
            extensions = etree.Element(f"{_B}extensionElements")
            task.insert(0, extensions)
        etree.SubElement(extensions, f"{{{SPIFF_NS}}}calledDecisionId").text = ref
        changes.append(DiagramProblem(
            filename, task.get("id"), f"the task calls decision {ref!r} (camunda:decisionRef); its outputs become "
            "variables of the instance by their names, where Camunda 7 saves the result only through "
            "camunda:resultVariable, which this task does not set", _line(task), "warning"))
    return refusals, changes
