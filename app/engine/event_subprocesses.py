"""Event sub-processes, which SpiffWorkflow 3.2 reads and never runs: refused, naming each one.

An event sub-process (`<subProcess triggeredByEvent="true">`) starts when its start event's event
comes — an error, a message, a timer, a signal, an escalation — while its parent (sub)process runs.
SpiffWorkflow 3.2 parses it as a plain sub-process that no flow reaches, and reads an error or
escalation start event as a none event: the instance runs as if it were not drawn, and an error it was
drawn to handle ends the path as an unhandled error does. A diagram that relies on one would be
reported as run when what it says should happen never did; so each is an error of the strict check
(`problems`, read by `bpmn_import.process_problems`: `processes validate` and every deploy), naming it and
what to draw instead (a boundary event on a sub-process that holds the path it watches means the same).

Why not draw that rewrite here: a boundary event on a sub-process does not see the data the
sub-process set before the event came (SpiffWorkflow 3.2 starts the boundary event's path from the data
the sub-process started with), where Camunda's event sub-process sees every variable of its scope. The
rewrite would run the handler on stale data.
"""
from __future__ import annotations

from lxml import etree

from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.xml import BPMN_NS
from app.engine.xml import source_line as _line

_B = f"{{{BPMN_NS}}}"
_SCOPES = ("subProcess", "transaction", "adHocSubProcess")


def problems(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """The strict check's errors: one per event sub-process of the process (its sub-processes included)."""
    found = []
    for node in process.iter(*(f"{_B}{kind}" for kind in _SCOPES)):
        if node.get("triggeredByEvent") != "true":
            continue
        found.append(DiagramProblem(filename, node.get("id"), said(
            "the event sub-process would never start: Loanflow does not run event sub-processes yet; put the path it "
            "watches in a sub-process and draw its start event as a boundary event on that sub-process (not "
            "interrupting, if the start event is not)"), _line(node)))
    return found
