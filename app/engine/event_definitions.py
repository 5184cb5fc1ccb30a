"""Link events, which SpiffWorkflow 3.2 does not read, made to mean what BPMN says or refused.

SpiffWorkflow's parser knows neither link nor compensation events. It reads a link *throw* event as a
none event (the token passes on, or, with no outgoing flow, its path just stops) and a link *catch*
event as a none event nothing ever reaches. A process drawn with links would then "complete" without
running what lies after the link: a completion that never happened. (Compensation events: `compensation`.)

- **Link events** are a drawing convenience: a link throw event jumps to the link catch event of the
  same name in the same (sub)process (BPMN 2.0, 10.5.4; Camunda 7 matches the linkEventDefinition's
  `name`, falling back to the event's). `prepare` draws the sequence flow each link stands for and
  makes both events plain intermediate events (a none throw event passes the token on), each change a
  warning. A throw event whose name no catch event of its (sub)process has, a catch event no throw
  event jumps to, or two catch events of one name are refused naming the element.
"""
from __future__ import annotations

from collections import defaultdict

from lxml import etree

from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.xml import BPMN_NS
from app.engine.xml import source_line as _line
from app.engine.xml import unique_id as _unique

_B = f"{{{BPMN_NS}}}"
_LINK = f"{_B}linkEventDefinition"


def _kind(node: etree._Element) -> str:
    return etree.QName(node).localname


_WORDS = {"startEvent": said("start event"), "endEvent": said("end event"), "boundaryEvent": said("boundary event"),
          "intermediateThrowEvent": said("intermediate throw event"),
          "intermediateCatchEvent": said("intermediate catch event")}


def _words(node: etree._Element) -> str:
    return _WORDS.get(_kind(node), _kind(node))


def _link_name(event: etree._Element, definition: etree._Element) -> str:
    return (definition.get("name") or event.get("name") or "").strip()


def prepare(root: etree._Element, filename: str, taken: set[str]) -> tuple[list[DiagramProblem], list[DiagramProblem]]:
    """Rewrite link events as the flows they stand for: `(refusals, changes)`."""
    return _links(root, filename, taken)


def _executable(node: etree._Element) -> bool:
    """Whether the element is in a process that may run (a process marked isExecutable="false" is a
    drawing: nothing of it is read, and the file says 'no executable process' when none is left)."""
    process = next(node.iterancestors(f"{_B}process"), None)
    return process is None or process.get("isExecutable", "true") == "true"



def _links(root: etree._Element, filename: str, taken: set[str]) -> tuple[list[DiagramProblem], list[DiagramProblem]]:
    throws: dict[tuple[int, str], list[etree._Element]] = defaultdict(list)
    catches: dict[tuple[int, str], list[etree._Element]] = defaultdict(list)
    scopes: dict[int, etree._Element] = {}
    refusals: list[DiagramProblem] = []
    for definition in (d for d in root.iter(_LINK) if _executable(d)):
        event = definition.getparent()
        scope = event.getparent()
        kind = _kind(event)
        name = _link_name(event, definition)
        if kind not in ("intermediateThrowEvent", "intermediateCatchEvent"):
            refusals.append(DiagramProblem(filename, event.get("id"), said("a %(kind)s cannot be a link event: only an "
                                                                          "intermediate throw event jumps to an "
                                                                          "intermediate catch event",
                                                                          kind=_words(event)), _line(event)))
            continue
        if not event.get("id"):
            refusals.append(DiagramProblem(filename, None, said("a link event (%(name)s) has no id: give it one, so "
                                                                "that the flow it stands for can name it",
                                                                name=name or said("unnamed")), _line(event)))
            continue
        if not name:
            refusals.append(DiagramProblem(filename, event.get("id"), said("the link event has no name: a link throw "
                                                                          "event jumps to the link catch event of the "
                                                                          "same name; name both"), _line(event)))
            continue
        scopes[id(scope)] = scope
        (throws if kind == "intermediateThrowEvent" else catches)[(id(scope), name)].append(event)
    for key, events in catches.items():
        if len(events) > 1:
            ids = ", ".join(e.get("id") or "?" for e in events)
            refusals.append(DiagramProblem(filename, events[1].get("id"), said("the link catch events %(ids)s share "
                                                                              "the name %(name)r: a link throw event "
                                                                              "would not know where to jump; rename "
                                                                              "one", ids=ids, name=key[1]),
                                           _line(events[1])))
        elif key not in throws:
            refusals.append(DiagramProblem(filename, events[0].get("id"), said("no link throw event of its (sub)process "
                                                                              "jumps to the link catch event %(name)r: "
                                                                              "the path after it would never run; draw "
                                                                              "the throw event, or remove the catch "
                                                                              "event", name=key[1]), _line(events[0])))
    for key, events in throws.items():
        if key not in catches:
            for event in events:
                refusals.append(DiagramProblem(filename, event.get("id"), said("the link throw event jumps to %(name)r, "
                                                                              "and no link catch event of its "
                                                                              "(sub)process has that name: the path "
                                                                              "would stop here; draw the catch event",
                                                                              name=key[1]), _line(event)))
    if refusals:
        return refusals, []
    changes = []
    for (scope_key, name), events in throws.items():
        catch = catches[(scope_key, name)][0]
        for event in events:
            flow = etree.SubElement(scopes[scope_key], f"{_B}sequenceFlow")
            flow.set("id", _unique(f"LinkFlow_{event.get('id')}_{catch.get('id')}", taken))
            flow.set("sourceRef", event.get("id") or "")
            flow.set("targetRef", catch.get("id") or "")
            changes.append(DiagramProblem(
                filename, event.get("id"), said("the link throw event jumps to the link catch event %(catch)s "
                                                "(%(name)r); the import drew that as the sequence flow %(flow)s",
                                                catch=catch.get("id"), name=name, flow=flow.get("id")),
                _line(event), "warning"))
    for events in catches.values():
        for event in events:
            event.remove(event.find(_LINK))
            event.tag = f"{_B}intermediateThrowEvent"  # a none catch event would wait; a none throw event passes on
    for events in throws.values():
        for event in events:
            event.remove(event.find(_LINK))
    return [], changes
