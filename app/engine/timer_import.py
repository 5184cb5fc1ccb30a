"""The import layer's word on timer events that say no time.

A `timerEventDefinition` holds a `timeDate`, a `timeDuration` or a `timeCycle`. Modelers draw timer
events before anyone fills them in (the MIWG reference diagrams, Bonita and Camunda Modeler exports
have none), and such a timer has no meaning: it would never fire, or fire at once. Camunda refuses
to deploy it; SpiffWorkflow fails while parsing with "Unknown Time Specification" (no element
at all) or later on a value of None (an empty element). Here it is refused naming the event, so
that the analyst knows which timer to complete, along with whatever else SpiffWorkflow finds in
the file (`set_aside`, called by `parser.parse_diagrams`).
"""
from __future__ import annotations

from lxml import etree

from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.xml import BPMN_NS

_B = f"{{{BPMN_NS}}}"
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
NO_TIME = said("the timer has no time: give it a date, a duration or a cycle")


def _has_time(definition: etree._Element) -> bool:
    """Whether the definition holds a timer value that is not empty (SpiffWorkflow reads the first
    of timeDate, timeDuration and timeCycle it finds, in that order)."""
    for kind in TIMER_KINDS:
        found = definition.find(f".//{_B}{kind}")
        if found is not None:
            return bool("".join(found.itertext()).strip())
    return False


def set_aside(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """A refusal for each timer event of an executable process that has no date, duration or cycle
    (or an empty one). A definition with no value element at all is given an empty `timeDuration`,
    so that SpiffWorkflow reads the rest of the file and reports what else it finds (its "Unknown
    Time Specification" would stop it there); the parser adds these refusals to the file's problems
    after SpiffWorkflow's own, so the file is refused whatever else it holds."""
    refusals = []
    for definition in root.iter(f"{_B}timerEventDefinition"):
        process = next((a for a in definition.iterancestors(f"{_B}process")), None)
        if _has_time(definition) or process is None or process.get("isExecutable", "true") != "true":
            continue  # a process that is not executable never runs: its timers say nothing
        if not any(definition.find(f".//{_B}{kind}") is not None for kind in TIMER_KINDS):
            etree.SubElement(definition, f"{_B}timeDuration")
        owner = definition.getparent()
        line = definition.sourceline if isinstance(definition.sourceline, int) else None
        refusals.append(DiagramProblem(filename, owner.get("id") if owner is not None else None, NO_TIME, line))
    return refusals


__all__ = ["NO_TIME", "TIMER_KINDS", "set_aside"]
