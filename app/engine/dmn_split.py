"""The import layer for DMN: one document per decision, so every decision of a file can be called.

SpiffWorkflow's DMN reader takes the first decision of a document and nothing else, so a file drawn
in Camunda Modeler with several decisions (a decision requirements graph) lost all but one of them.
`split` makes one copy of the file per decision, holding that decision and every definitions-level
item it may need (item definitions, input data, knowledge sources, the diagram), and leaves the
other decisions out; the parser reads each copy as its own decision, while the file itself stays
what is deployed.

What SpiffWorkflow cannot evaluate is refused, naming the decision:

- a decision that requires another (`informationRequirement/requiredDecision`): SpiffWorkflow
  evaluates one decision table against the task's data and never evaluates a required decision
  first, so the table would read a value nobody computed;
- a decision that is not a decision table (a literal expression, a context, an invocation):
  SpiffWorkflow's engine evaluates decision tables only, and fails on anything else when a process
  reaches it.
"""
from __future__ import annotations

import copy

from lxml import etree

from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.xml import source_line as _line


def _href_id(href: str) -> str:
    return href.rsplit("#", 1)[-1] if href else "?"


def decision_problems(decision: etree._Element, filename: str) -> list[DiagramProblem]:
    """Why SpiffWorkflow cannot evaluate this decision, if it cannot (see the module's docstring)."""
    ns = f"{{{etree.QName(decision).namespace}}}"
    decision_id = decision.get("id")
    problems = []
    told: set[str] = set()
    for required in decision.findall(f"{ns}informationRequirement/{ns}requiredDecision"):
        needed = _href_id(required.get("href") or "")
        if needed in told:
            continue
        told.add(needed)
        problems.append(DiagramProblem(
            filename, decision_id, said("the decision %(decision)s requires the decision %(needed)s "
                                        "(informationRequirement): Loanflow evaluates one decision table at a time "
                                        "and would not evaluate %(needed)s first; have the process call %(needed)s in "
                                        "a business rule task before this one, and remove the requirement",
                                        decision=decision_id, needed=needed), _line(required)))
    if decision.find(f"{ns}decisionTable") is None:
        kinds = [etree.QName(c).localname for c in decision if isinstance(c.tag, str)
                 and etree.QName(c).localname not in ("description", "question", "allowedAnswers", "variable",
                                                      "extensionElements", "informationRequirement",
                                                      "knowledgeRequirement", "authorityRequirement")]
        problems.append(DiagramProblem(
            filename, decision_id, said("the decision %(decision)s is a %(kind)s, not a decision table: Loanflow "
                                        "evaluates decision tables only", decision=decision_id, kind=kinds[0])
            if kinds else said("the decision %(decision)s is empty, not a decision table: Loanflow evaluates decision "
                               "tables only", decision=decision_id), _line(decision)))
    return problems


def split(root: etree._Element, filename: str) -> tuple[list[tuple[str, etree._Element]], list[DiagramProblem]]:
    """One document per decision of `root` that Loanflow can evaluate, as (decision id, document), and
    the problems of the others. A file with one decision is returned as it is."""
    ns = f"{{{etree.QName(root).namespace}}}"
    decisions = root.findall(f"{ns}decision")
    documents: list[tuple[str, etree._Element]] = []
    problems: list[DiagramProblem] = []
    for index, decision in enumerate(decisions):
        found = decision_problems(decision, filename)
        if found:
            problems += found
            continue
        if len(decisions) == 1:
            documents.append((decision.get("id") or "", root))
            continue
        document = copy.deepcopy(root)
        for position, other in enumerate(document.findall(f"{ns}decision")):
            if position != index:
                document.remove(other)
        documents.append((decision.get("id") or "", document))
    return documents, problems
