"""Whether a wait on a condition can ever end: the strict check's word on conditional catch events.

An intermediate conditional catch event waits until its condition holds. SpiffWorkflow checks the
condition whenever the instance moves, against the data the event's own path brought — which nothing
changes while that path waits — and the process's **data objects**, which any other path of the instance
may write (a data output association to a data object reference). So a wait can end only if its condition
reads a data object that another element of the process writes (or, after an event-based gateway, by the
gateway's other events: a message, a timer, a signal — a gateway waiting only on conditions is no way out). Any other is refused naming the event: nothing in Loanflow changes an instance's
data from outside, and the instance would wait for ever.

A process whose start events are all conditional starts when its condition holds (Camunda 7 starts it when
its variables make the condition true). Its instance is given its data when it starts, and nothing changes
that data afterwards: `why_not_started` says why a start is refused when no start condition holds for
that data (or cannot be evaluated on it), so that no instance waits at its start for ever.
"""
from __future__ import annotations

import ast
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition

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
    """Whether an event-based gateway waits for `event` beside an event of another kind (a message, a timer, a
    signal), which can end the wait; a gateway that waits only on conditions is no way out."""
    scope = event.getparent()
    gateways = {g.get("id") for g in scope.findall(f"{_B}eventBasedGateway")}
    flows = scope.findall(f"{_B}sequenceFlow")
    feeding = {f.get("sourceRef") for f in flows if f.get("targetRef") == event.get("id") and f.get("sourceRef") in gateways}
    by_id = {n.get("id"): n for n in scope if isinstance(n.tag, str)}
    beside = [by_id.get(f.get("targetRef")) for f in flows if f.get("sourceRef") in feeding]
    return any(other is not None and other.find(f"{_B}conditionalEventDefinition") is None for other in beside)


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


def why_not_started(workflow: Any, start: Any) -> str | None:
    """Why an instance of `workflow` (its start task `start` holding the data it starts with) is not started:
    every start event is conditional and none of their conditions holds for the data; None otherwise."""
    found = [getattr(s, "event_definition", None) for s in workflow.spec.start.outputs]
    definitions = [d for d in found if isinstance(d, ConditionalEventDefinition)]
    if not definitions or len(definitions) != len(found):
        return None
    failures = []
    for definition in definitions:
        try:
            if workflow.script_engine.evaluate(start, definition.expression, external_context=workflow.data_objects):
                return None
            failures.append(said("its start condition %(condition)r does not hold for the data it is started with",
                                 condition=definition.expression))
        except Exception as exc:  # noqa: BLE001 - a condition that cannot be evaluated on the data: said why
            failures.append(said("its start condition %(condition)r cannot be evaluated on the data it is started "
                                 "with (%(why)s)", condition=definition.expression, why=str(exc).strip()))
    return "; ".join(failures)
