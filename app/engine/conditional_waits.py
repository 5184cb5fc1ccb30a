"""Whether a wait on a condition can ever end: the strict check's word on conditional catch events.

An intermediate conditional catch event waits until its condition holds. SpiffWorkflow checks the
condition whenever the instance moves, against the data the event's own path brought — which nothing
changes while that path waits — and the process's **data objects**, which any other path of the instance
may write (a data output association to a data object reference). So a wait can end only if its condition
reads a data object that another element of the process writes (or, after an event-based gateway, by the
gateway's other events). Any other is refused naming the event: nothing in Loanflow changes an instance's
data from outside, and the instance would wait for ever.
"""
from __future__ import annotations

import ast

from lxml import etree

from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.xml import BPMN_NS
from app.engine.xml import source_line as _line

_B = f"{{{BPMN_NS}}}"


def _read_names(condition: str) -> set[str] | None:
    """The names a (Python) condition reads; None if it does not compile (said elsewhere)."""
    try:
        tree = ast.parse(condition.strip(), mode="eval")
    except SyntaxError:
        return None
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def written_data_objects(process: etree._Element) -> set[str]:
    """The ids of the data objects some element of `process` writes (its data output associations)."""
    objects = {o.get("id") for o in process.iter(f"{_B}dataObject")}
    by_reference = {r.get("id"): r.get("dataObjectRef") for r in process.iter(f"{_B}dataObjectReference")}
    written = set()
    for association in process.iter(f"{_B}dataOutputAssociation"):
        for target in association.findall(f"{_B}targetRef"):
            ref = (target.text or "").strip()
            written.add(by_reference.get(ref, ref))
    return written & objects


def _after_event_gateway(event: etree._Element) -> bool:
    scope = event.getparent()
    gateways = {g.get("id") for g in scope.findall(f"{_B}eventBasedGateway")}
    return any(f.get("targetRef") == event.get("id") and f.get("sourceRef") in gateways
               for f in scope.findall(f"{_B}sequenceFlow"))


def problems(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """An error for each conditional catch event whose wait nothing could end."""
    found = []
    written = None
    for event in process.iter(f"{_B}intermediateCatchEvent"):
        definition = event.find(f"{_B}conditionalEventDefinition")
        if definition is None or _after_event_gateway(event):
            continue
        condition = "".join(definition.xpath("./*[local-name()='condition']//text()"))
        names = _read_names(condition)
        if names is None:
            continue
        written = written_data_objects(process) if written is None else written
        if names & written:
            continue
        found.append(DiagramProblem(filename, event.get("id"), said(
            "the instance would wait here for a condition that nothing can make true while it waits: the "
            "condition sees the data its path brought and the process's data objects, and it reads no data "
            "object another element writes; have another path write a data object the condition reads, or "
            "wait for a message, a signal or a timer instead"), _line(event)))
    return found
