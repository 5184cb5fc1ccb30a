"""Event sub-processes, which SpiffWorkflow 3.2 parses and never runs, drawn as what they mean.

An event sub-process (`<subProcess triggeredByEvent="true">`) starts when its start event's event comes
— an error, a message, a timer, a signal, an escalation, a condition — while its parent (sub)process
runs; an interrupting one ends the rest of its parent, a non-interrupting one runs beside it. SpiffWorkflow
3.2 parses it as a plain sub-process no flow reaches (an error or escalation start event as a none
event): it never ran, and an instance whose error it was drawn to handle "completed" without it.

`prepare` draws the same meaning with what SpiffWorkflow runs, in each (sub)process that has event
sub-processes (the innermost first), each change a warning:

- the rest of the (sub)process — every flow node, flow and artifact but its start event — moves into a
  new sub-process `EventScope_<scope>` that the start event leads to and that ends at `EventScope_<scope>_end`;
- each event sub-process's start event becomes a boundary event on that sub-process, under the start
  event's own id (so history names the event the analyst drew), interrupting as the start event is
  (`cancelActivity`), with its event definition (and its `camunda:` attributes, read as on any boundary
  event); it leads to the event sub-process, now a plain sub-process that starts at a none start event
  `<start>_begun` and ends at `<sub-process>_end`.

The path after the boundary event sees the data the watched part set before the event came
(`boundary_data`), as Camunda's event sub-process sees its scope's variables. An event sub-process
drawn otherwise — without exactly one start event with one event definition, or in a (sub)process
with several start events (which one would lead into the new sub-process?) — stays as drawn, and the
strict check (`problems`, read by `bpmn_import.process_problems`) names it and why.
"""
from __future__ import annotations

from lxml import etree

from app.engine.camunda_services import restored, stored
from app.engine.element_kinds import label
from app.engine.errors import DiagramProblem
from app.engine.implicit_flow import FLOW_NODES
from app.engine.said import Said, said
from app.engine.xml import BPMN_NS
from app.engine.xml import new_element as _new
from app.engine.xml import source_line as _line
from app.engine.xml import unique_id as _unique

_B = f"{{{BPMN_NS}}}"
_SCOPES = ("process", "subProcess", "transaction")
_EVENT_SCOPES = ("subProcess", "transaction", "adHocSubProcess")
_TRIGGERS = ("errorEventDefinition", "messageEventDefinition", "timerEventDefinition", "signalEventDefinition",
             "escalationEventDefinition", "conditionalEventDefinition")
# what moves into the watched sub-process besides the flow nodes (data objects stay: both parts read them)
_MOVED = frozenset({"sequenceFlow", "dataObjectReference", "dataStoreReference", "association", "textAnnotation",
                    "group"})
_NOT_RUN = "{http://loanflow.local/import}eventSubProcessNotRun"  # on one left as drawn: why (for `problems`)


def _name(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _is_event_subprocess(node: etree._Element) -> bool:
    return _name(node) in _EVENT_SCOPES and node.get("triggeredByEvent") == "true"


def _executable(node: etree._Element) -> bool:
    process = node if _name(node) == "process" else next(node.iterancestors(f"{_B}process"), None)
    return process is None or process.get("isExecutable", "true") == "true"



def _flow(scope: etree._Element, source: str, target: str, taken: set[str]) -> None:
    _new(scope, "sequenceFlow", id=_unique(f"Flow_{source}_{target}", taken), sourceRef=source, targetRef=target)


def _resource(scope: etree._Element, old: str, new: etree._Element) -> None:
    """The flows leaving `old` in `scope` leave `new` instead."""
    for flow in scope.findall(f"{_B}sequenceFlow"):
        if flow.get("sourceRef") == old:
            flow.set("sourceRef", new.get("id"))
            _new(new, "outgoing").text = flow.get("id")


def _why_not(scope: etree._Element, events: list[etree._Element]) -> Said | None:
    starts = [c for c in scope if _name(c) == "startEvent"]
    if len(starts) != 1:
        return said("its %(kind)s has %(count)d start events; the import can draw an event sub-process only where "
                    "one start event begins the rest", kind=label(scope), count=len(starts))
    for event in events:
        inner = [c for c in event if _name(c) == "startEvent"]
        triggers = [d for s in inner for d in s if _name(d) in _TRIGGERS]
        if len(inner) != 1 or len(triggers) != 1 or len([d for d in inner[0] if _name(d).endswith("Definition")]) != 1:
            return said("an event sub-process starts at one start event with one event definition (an error, a "
                        "message, a timer, a signal, an escalation or a condition); %(id)s does not", id=event.get("id"))
    return None


def prepare(root: etree._Element, filename: str, taken: set[str]) -> list[DiagramProblem]:
    """Draw each (sub)process's event sub-processes as boundary events on the rest of it; the changes."""
    changes: list[DiagramProblem] = []
    scopes = [s for s in root.iter(*(f"{_B}{k}" for k in _SCOPES))
              if _executable(s) and any(_is_event_subprocess(c) for c in s)]
    for scope in sorted(scopes, key=lambda s: -sum(1 for _ in s.iterancestors())):  # the innermost first
        events = [c for c in scope if _is_event_subprocess(c)]
        why = _why_not(scope, events)
        if why is not None:
            for event in events:
                event.set(_NOT_RUN, stored(why))
            continue
        changes += _draw(scope, events, filename, taken)
    return changes


def _draw(scope: etree._Element, events: list[etree._Element], filename: str,
          taken: set[str]) -> list[DiagramProblem]:
    [start] = [c for c in scope if _name(c) == "startEvent"]
    scope_id = scope.get("id") or "process"
    moved = [c for c in scope if c is not start and not _is_event_subprocess(c)
             and (_name(c) in FLOW_NODES or _name(c) in _MOVED)]
    watched = _new(scope, "subProcess", index=scope.index(moved[0]) if moved else None,
                   id=_unique(f"EventScope_{scope_id}", taken))
    begin = _new(watched, "startEvent", id=_unique(f"{watched.get('id')}_start", taken))
    for child in moved:
        watched.append(child)
    for old in start.findall(f"{_B}outgoing"):
        start.remove(old)
    _resource(watched, start.get("id"), begin)
    end = _new(scope, "endEvent", id=_unique(f"{watched.get('id')}_end", taken))
    _flow(scope, start.get("id"), watched.get("id"), taken)
    _flow(scope, watched.get("id"), end.get("id"), taken)
    changes = []
    for event in events:
        [trigger] = [c for c in event if _name(c) == "startEvent"]
        interrupting = trigger.get("isInterrupting", "true") != "false"
        boundary = _new(scope, "boundaryEvent", id=trigger.get("id"), name=trigger.get("name"),
                        attachedToRef=watched.get("id"), cancelActivity="true" if interrupting else "false")
        for child in list(trigger):
            if _name(child) not in ("incoming", "outgoing"):
                boundary.append(child)
        for key, value in trigger.attrib.items():  # camunda: and other attributes the import reads on the event
            if etree.QName(key).namespace and key not in boundary.attrib:
                boundary.set(key, value)
        begun = etree.Element(f"{_B}startEvent", id=_unique(f"{trigger.get('id')}_begun", taken))
        event.replace(trigger, begun)
        _resource(event, trigger.get("id"), begun)
        del event.attrib["triggeredByEvent"]
        event_end = _new(scope, "endEvent", id=_unique(f"{event.get('id')}_end", taken))
        _flow(scope, boundary.get("id"), event.get("id"), taken)
        _flow(scope, event.get("id"), event_end.get("id"), taken)
        how = said("interrupting") if interrupting else said("not interrupting")
        changes.append(DiagramProblem(filename, event.get("id"), said(
            "the event sub-process runs when its start event %(event)s fires: the import drew the rest of the "
            "%(kind)s %(scope)s as the sub-process %(watched)s, and the start event as a boundary event on it "
            "(%(how)s) that leads here", event=boundary.get("id"), kind=label(scope), scope=scope_id,
            watched=watched.get("id"), how=how), _line(event), "warning"))
    return changes


def problems(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """The strict check's errors: each event sub-process `prepare` left as drawn, and why."""
    found = []
    for node in process.iter(*(f"{_B}{kind}" for kind in _EVENT_SCOPES)):
        if node.get("triggeredByEvent") != "true":
            continue
        why = restored(node.get(_NOT_RUN)) if node.get(_NOT_RUN) else said(
            "Loanflow runs event sub-processes only in a process, a sub-process or a transaction")
        found.append(DiagramProblem(filename, node.get("id"), said(
            "the event sub-process would never start: %(why)s", why=why), _line(node)))
    return found
