"""Camunda 7's `camunda:decisionRef`: the decision a business-rule task calls, read by the import.

SpiffWorkflow's parser reads the called decision only from `spiffworkflow:calledDecisionId`; a task
drawn in Camunda Modeler names it in the `camunda:decisionRef` attribute, which it never reads, and
the diagram was refused with "No DMN Diagram available with id None". `prepare` writes the id where
the parser reads it, and says so: the decision's outputs then become variables of the instance by
their names (as SpiffWorkflow's own Camunda support runs them), where Camunda 7 saves a result only
through `camunda:resultVariable` or a mapping. A `camunda:resultVariable` keeps the result in that one
variable, shaped by `camunda:mapDecisionResult`, and Camunda 8's `zeebe:calledDecision` in its
`resultVariable` (`decision_results`). What has no such meaning is refused, the task named: a decision
chosen by an expression at run time, an unknown shape, a pinned decision version.
"""
from __future__ import annotations

from lxml import etree

from app.engine.decision_results import RESULT_SHAPE, RESULT_VARIABLE, SHAPES
from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.xml import BPMN_NS, CAMUNDA_NS, ZEEBE_NS, extension_elements
from app.engine.xml import source_line as _line

_B = f"{{{BPMN_NS}}}"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def _camunda(task: etree._Element, name: str) -> str | None:
    value = task.get(f"{{{CAMUNDA_NS}}}{name}")
    return None if value is None else value.strip()


def _is_variable(name: str) -> bool:
    """Whether the result can be kept under `name` (a name a script may read; the sandbox refuses `_x`)."""
    return name.isidentifier() and not name.startswith("_")


def _refusal(filename: str, task: etree._Element, ref: str) -> str | None:
    if "${" in ref or "#{" in ref:
        return said("the decision is chosen at run time by the expression %(ref)r (camunda:decisionRef); Loanflow "
                    "calls one named decision: name it", ref=ref)
    shape = _camunda(task, "mapDecisionResult")
    if shape and shape not in SHAPES[:-1]:
        return said("camunda:mapDecisionResult %(shape)r is no shape Camunda 7 knows: use one of %(shapes)s",
                    shape=shape, shapes=", ".join(SHAPES[:-1]))
    result = _camunda(task, "resultVariable")
    if result is not None and not _is_variable(result):
        return said("camunda:resultVariable %(result)r is no variable name: name the variable that keeps the result",
                    result=result)
    binding = _camunda(task, "decisionRefBinding")
    if binding in ("version", "versionTag"):
        return said("the task calls a fixed version of decision %(ref)r (camunda:decisionRefBinding=%(binding)r); "
                    "Loanflow calls the decision deployed with the process: remove the binding", ref=ref, binding=binding)
    return None


def prepare(root: etree._Element, filename: str) -> tuple[list[DiagramProblem], list[DiagramProblem]]:
    """(refusals, changes) for the business-rule tasks that name their decision with camunda:decisionRef."""
    refusals: list[DiagramProblem] = []
    changes: list[DiagramProblem] = []
    for task in root.iter(f"{_B}businessRuleTask"):
        called = next(task.iter(f"{{{ZEEBE_NS}}}calledDecision"), None)
        if called is not None:
            zeebe_refusals, zeebe_changes = _zeebe(filename, task, called)
            refusals += zeebe_refusals
            changes += zeebe_changes
            continue
        ref = _camunda(task, "decisionRef")
        if not ref:
            continue
        extensions = task.find(f"{_B}extensionElements")
        named = extensions.find(f"{{{SPIFF_NS}}}calledDecisionId") if extensions is not None else None
        if named is not None and (named.text or "").strip():
            if named.text.strip() != ref:
                changes.append(DiagramProblem(
                    filename, task.get("id"), said("the task names two decisions: it calls %(called)r "
                                                   "(spiffworkflow:calledDecisionId), not %(ref)r (camunda:decisionRef)",
                                                   called=named.text.strip(), ref=ref), _line(task), "warning"))
            continue
        refused = _refusal(filename, task, ref)
        if refused is not None:
            refusals.append(DiagramProblem(filename, task.get("id"), refused, _line(task)))
            continue
        result = _camunda(task, "resultVariable")
        if result:
            shape = _camunda(task, "mapDecisionResult") or "resultList"
            _call(task, ref, result, shape)
            kept = said("its result is kept in the variable %(result)r as %(shape)s (camunda:resultVariable, "
                        "camunda:mapDecisionResult), as in Camunda 7", result=result, shape=shape)
        else:
            _call(task, ref)
            kept = said("its outputs become variables of the instance by their names, where Camunda 7 saves the "
                        "result only through camunda:resultVariable, which this task does not set")
        changes.append(DiagramProblem(filename, task.get("id"), said("the task calls decision %(ref)r "
                                      "(camunda:decisionRef); %(kept)s", ref=ref, kept=kept), _line(task), "warning"))
    return refusals, changes


def _call(task: etree._Element, decision_id: str, result: str | None = None, shape: str | None = None) -> None:
    """Write where SpiffWorkflow reads the called decision, and where `decision_results` reads the result's variable."""
    extensions = extension_elements(task)
    etree.SubElement(extensions, f"{{{SPIFF_NS}}}calledDecisionId").text = decision_id
    if result is None:
        return
    holder = extensions.find(f"{{{SPIFF_NS}}}properties")
    if holder is None:
        holder = etree.SubElement(extensions, f"{{{SPIFF_NS}}}properties")
    etree.SubElement(holder, f"{{{SPIFF_NS}}}property", name=RESULT_VARIABLE, value=result)
    etree.SubElement(holder, f"{{{SPIFF_NS}}}property", name=RESULT_SHAPE, value=shape or "resultList")


def _zeebe(filename: str, task: etree._Element, called: etree._Element,
           ) -> tuple[list[DiagramProblem], list[DiagramProblem]]:
    """Camunda 8's zeebe:calledDecision: the decision by its id, the result in its resultVariable."""
    decision_id = (called.get("decisionId") or "").strip()
    result = (called.get("resultVariable") or "").strip()
    if not decision_id or decision_id.startswith("="):
        why = (said("names no decision") if not decision_id
               else said("chooses the decision at run time (%(decision)r)", decision=decision_id))
        return [DiagramProblem(filename, task.get("id"), said("zeebe:calledDecision %(why)s; Loanflow calls one named "
                               "decision: name it", why=why), _line(task))], []
    if not _is_variable(result):
        return [DiagramProblem(filename, task.get("id"), said("zeebe:calledDecision keeps the result in %(result)r, "
                               "which is no variable name: name the resultVariable", result=result), _line(task))], []
    _call(task, decision_id, result, "zeebe")
    return [], [DiagramProblem(filename, task.get("id"), said("the task calls decision %(decision)r "
                               "(zeebe:calledDecision); its result is kept in the variable %(result)r, as in "
                               "Camunda 8 (one output: its value; several: a map; a COLLECT table: a list)",
                               decision=decision_id, result=result), _line(task), "warning")]
