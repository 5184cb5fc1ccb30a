"""The import layer's word on timer events that say no time.

A `timerEventDefinition` holds a `timeDate`, a `timeDuration` or a `timeCycle`. Modelers draw timer
events before anyone fills them in (the MIWG reference diagrams, Bonita and Camunda Modeler exports
have none), and such a timer has no meaning: it would never fire, or fire at once. Camunda refuses
to deploy it; SpiffWorkflow fails while parsing with "Unknown Time Specification" (no element
at all) or later on a value of None (an empty element). Here it is refused before SpiffWorkflow
reads the file, naming the event, so that the analyst knows which timer to complete.
"""
from __future__ import annotations

from lxml import etree

from app.engine.errors import DiagramProblem
from app.engine.xml import BPMN_NS

_B = f"{{{BPMN_NS}}}"
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
NO_TIME = "the timer has no time: give it a date, a duration or a cycle"


def _has_time(definition: etree._Element) -> bool:
    """Whether the definition holds a timer value that is not empty (SpiffWorkflow reads the first
    of timeDate, timeDuration and timeCycle it finds, in that order)."""
    for kind in TIMER_KINDS:
        found = definition.find(f".//{_B}{kind}")
        if found is not None:
            return bool("".join(found.itertext()).strip())
    return False


def timers_without_time(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """A refusal for each timer event that has no date, duration or cycle (or an empty one)."""
    refusals = []
    for definition in root.iter(f"{_B}timerEventDefinition"):
        if _has_time(definition):
            continue
        owner = definition.getparent()
        line = definition.sourceline if isinstance(definition.sourceline, int) else None
        refusals.append(DiagramProblem(filename, owner.get("id") if owner is not None else None, NO_TIME, line))
    return refusals


__all__ = ["NO_TIME", "TIMER_KINDS", "timers_without_time"]
