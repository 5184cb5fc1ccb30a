"""What a diagram refers to and does not hold, found before SpiffWorkflow reads it (issue 17).

SpiffWorkflow builds a process from each flow node's sequence flows, found by their `sourceRef`. What
the file names and does not hold, it drops without a word, or trips over with an exception that names
nothing a person could fix:

- a sequence flow whose `sourceRef` names no element of its (sub)process is never seen: the path
  before it ends there, and an instance completes having run half its diagram; one whose `targetRef`
  names none failed with "perhaps a form has the same ID?";
- a flow node's `<outgoing>` naming a flow its (sub)process does not have, where no flow leaves the
  node: the flow was lost from the file (cut out by hand, or by a tool), and the path would end where
  it was. A stale `<incoming>`, or a stale `<outgoing>` beside flows that do leave, is a warning:
  SpiffWorkflow reads the flows, never these references (SpiffArena's own files carry some);
- a sequence flow into a start event, or out of an end event: SpiffWorkflow ran the start event again
  as a task, or went on after the end;
- a multi-instance or loop marker on a gateway or an event (only an activity repeats): SpiffWorkflow
  built a multi-instance gateway, which no deploy could store (`TypeError: ... not JSON serializable`);
  two markers on one activity: the instance failed with `RecursionError`;
- a boundary event attached to nothing, or to an element that is no activity (a start event): the
  instance stopped with SpiffWorkflow's "Split at StartEvent_1.BoundaryEventSplit was not reached";
- an event-based gateway leading to something else than a catch event or a receive task: the instance
  waited there for nothing;
- two flow elements of a file with the same id: SpiffWorkflow keeps one of them, whichever it met last;
- a shape of the drawing whose position is not a number: SpiffWorkflow orders a node's outgoing flows
  by their targets' height, and failed with `ValueError: could not convert string to float`;
- a message or signal an event uses without a name (its waits were written with none:
  `IntegrityError`); an event or
  a task naming a message, signal, error or escalation its file does not define, or defines twice: SpiffWorkflow's reader of SpiffArena's extensions (Loanflow's) looks each up in the
  event's own file, and failed with a `TypeError` of its own.

Each is an error naming the element and what to draw (`file_problems`, before the import layer
changes the file; processes marked `isExecutable="false"` are not read).
"""
from __future__ import annotations

from collections import Counter

from lxml import etree

from app.engine.element_kinds import label, label_of
from app.engine.errors import DiagramProblem
from app.engine.implicit_flow import ACTIVITIES, FLOW_NODES
from app.engine.said import parts, said
from app.engine.xml import BPMN_NS
from app.engine.xml import source_line as _line

_B = f"{{{BPMN_NS}}}"
_DC = "{http://www.omg.org/spec/DD/20100524/DC}"
_BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
_SCOPES = ("process", "subProcess", "transaction", "adHocSubProcess")
# (event definition or task, the attribute naming the definition, the element defining it, what it is called)
_USERS = (
    ("messageEventDefinition", "messageRef", "message", "message"),
    ("receiveTask", "messageRef", "message", "message"),
    ("sendTask", "messageRef", "message", "message"),
    ("signalEventDefinition", "signalRef", "signal", "signal"),
    ("errorEventDefinition", "errorRef", "error", "error"),
    ("escalationEventDefinition", "escalationRef", "escalation", "escalation"),
)


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


# what an event names, and the event that names it when nothing else does
_DEFINED = {"message": said("message"), "signal": said("signal"), "error": said("error"),
            "escalation": said("escalation")}
_EVENT = said("event")


def _label(node: etree._Element) -> str:
    """`label(node).strip()`, still said when there was nothing to strip."""
    named = label(node)
    return named if named == named.strip() else named.strip()


def file_problems(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """The errors of one BPMN file: ids used twice, flows naming what their (sub)process lacks, shapes
    whose position is no number."""
    problems = _same_ids(root, filename)
    for scope in root.iter(*(f"{_B}{s}" for s in _SCOPES)):
        if not _read(scope):
            continue
        problems += _flows(scope, filename)
        problems += _repeat_markers(scope, filename)
        problems += _boundaries(scope, filename)
    problems += _positions(root, filename)
    problems += _definitions(root, filename)
    return problems


def _read(node: etree._Element) -> bool:
    """Whether the element is in a process that runs (not one marked isExecutable="false")."""
    process = node if _local(node) == "process" else next((a for a in node.iterancestors(f"{_B}process")), node)
    return process.get("isExecutable") != "false"


def _same_ids(root: etree._Element, filename: str) -> list[DiagramProblem]:
    semantic = [n for n in root.iter() if isinstance(n.tag, str) and etree.QName(n).namespace == BPMN_NS
                and n.get("id") and (_local(n) in FLOW_NODES or _local(n) == "sequenceFlow")]
    counts = Counter(n.get("id") for n in semantic)
    problems, told = [], set()
    for node in semantic:
        element_id = node.get("id")
        if counts[element_id] < 2 or element_id in told:
            continue
        told.add(element_id)
        kinds = parts(sorted({label(n) for n in semantic if n.get("id") == element_id}))
        problems.append(DiagramProblem(
            filename, element_id, said("%(count)d elements of the file have the id %(id)r (%(kinds)s): only one of "
                                       "them would be read; give each an id of its own",
                                       count=counts[element_id], id=element_id, kinds=kinds), _line(node)))
    return problems


def _flows(scope: etree._Element, filename: str) -> list[DiagramProblem]:
    kind = _label(scope)
    kinds = {c.get("id"): _local(c) for c in scope if _local(c) in FLOW_NODES and c.get("id")}
    nodes = set(kinds)
    flows = [c for c in scope if _local(c) == "sequenceFlow"]
    flow_ids = {f.get("id") for f in flows if f.get("id")}
    problems = []
    for flow in flows:
        flow_id = flow.get("id") or "sequence flow"
        for end in ("sourceRef", "targetRef"):
            ref = (flow.get(end) or "").strip()
            if not ref:
                problems.append(DiagramProblem(
                    filename, flow_id, said("the sequence flow has no sourceRef: the file does not say where it comes "
                                            "from; draw it again between two elements") if end == "sourceRef" else
                    said("the sequence flow has no targetRef: the file does not say where it goes; draw it again "
                         "between two elements"), _line(flow)))
            elif ref not in nodes:
                problems.append(DiagramProblem(
                    filename, flow_id, said("the sequence flow comes from %(ref)r, which no element of the %(kind)s "
                                            "%(scope)s has: it would be lost, and the path it joins would stop; draw "
                                            "it again between two elements of the same (sub)process",
                                            ref=ref, kind=kind, scope=scope.get("id") or "") if end == "sourceRef" else
                    said("the sequence flow goes to %(ref)r, which no element of the %(kind)s %(scope)s has: it would "
                         "be lost, and the path it joins would stop; draw it again between two elements of the same "
                         "(sub)process", ref=ref, kind=kind, scope=scope.get("id") or ""), _line(flow)))
            elif (end == "targetRef" and kinds.get(flow.get("sourceRef") or "") == "eventBasedGateway"
                  and kinds[ref] not in ("intermediateCatchEvent", "receiveTask")):
                problems.append(DiagramProblem(
                    filename, flow_id, said("the sequence flow goes from the event-based gateway %(gateway)r to the "
                                            "%(kind)s %(ref)r: an event-based gateway waits for the first of the "
                                            "events after it (a message, a timer, a signal or a receive task); draw "
                                            "one of those there", gateway=flow.get("sourceRef"),
                                            kind=label_of(kinds[ref]), ref=ref), _line(flow)))
            elif kinds[ref] == ("startEvent" if end == "targetRef" else "endEvent"):
                problems.append(DiagramProblem(
                    filename, flow_id, said("the sequence flow goes to the start event %(ref)r: a start event begins "
                                            "its (sub)process and takes no incoming flow; draw the flow to the "
                                            "element after it", ref=ref) if end == "targetRef" else
                    said("the sequence flow comes from the end event %(ref)r: an end event ends its path and has no "
                         "outgoing flow; draw the flow from the element before it, or make the end event an "
                         "intermediate event", ref=ref), _line(flow)))
    leaving = {f.get("sourceRef") for f in flows}
    for gateway in scope.findall(f"{_B}eventBasedGateway"):
        if gateway.get("id") not in leaving:
            problems.append(DiagramProblem(
                filename, gateway.get("id"), said("the event-based gateway has no flow leaving it: it waits for the "
                                                  "first of the events after it (a message, a timer, a signal or a "
                                                  "receive task), and none is drawn; draw them"), _line(gateway)))
    for node in scope:
        if _local(node) not in FLOW_NODES:
            continue
        for child in node:
            direction = _local(child)
            ref = (child.text or "").strip()
            if direction not in ("incoming", "outgoing") or not ref or ref in flow_ids:
                continue
            if direction == "outgoing" and node.get("id") not in leaving and _local(node) != "endEvent":
                problems.append(DiagramProblem(
                    filename, node.get("id"), said("the %(node)s names the outgoing flow %(ref)r, which the %(kind)s "
                                                   "does not have, and no other flow leaves it: the flow was lost from "
                                                   "the file, and the path would stop here; draw it again",
                                                   node=_label(node), ref=ref, kind=kind), _line(child)))
            else:
                problems.append(DiagramProblem(
                    filename, node.get("id"), said("the %(node)s names the incoming flow %(ref)r, which the %(kind)s "
                                                   "does not have: a stale reference, which the import ignores (the "
                                                   "flows drawn say where the path goes); remove it",
                                                   node=_label(node), ref=ref, kind=kind) if direction == "incoming"
                    else said("the %(node)s names the outgoing flow %(ref)r, which the %(kind)s does not have: a stale "
                              "reference, which the import ignores (the flows drawn say where the path goes); remove it",
                              node=_label(node), ref=ref, kind=kind), _line(child), "warning"))
    return problems


def _repeat_markers(scope: etree._Element, filename: str) -> list[DiagramProblem]:
    problems = []
    for node in scope:
        kind = _local(node)
        markers = [m for m in node if _local(m) in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics")]
        if kind in ACTIVITIES and len(markers) > 1:
            names: str = ""
            for m in markers:
                marker = said("a multi-instance marker") if _local(m).startswith("multi") else said("a loop marker")
                names = said("%(first)s and %(second)s", first=names, second=marker) if names else marker
            problems.append(DiagramProblem(
                filename, node.get("id"), said("the %(node)s carries %(count)d repeat markers (%(names)s): an activity "
                                               "repeats in one way; keep one of them",
                                               node=label(node), count=len(markers), names=names), _line(markers[1])))
        event_subprocess = kind == "subProcess" and node.get("triggeredByEvent") == "true"
        if kind not in FLOW_NODES or (kind in ACTIVITIES and not event_subprocess):
            continue
        for marker in node:
            if _local(marker) in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
                what = said("multi-instance") if _local(marker).startswith("multi") else said("loop")
                holder = said("event sub-process") if event_subprocess else label(node)
                problems.append(DiagramProblem(
                    filename, node.get("id"), said("the %(holder)s carries a %(what)s marker: only an activity (a "
                                                   "task, a sub-process, a call activity) runs several times, and an "
                                                   "event sub-process runs when its event comes; move the marker to "
                                                   "an activity, or remove it", holder=holder, what=what),
                    _line(marker)))
    return problems


def _boundaries(scope: etree._Element, filename: str) -> list[DiagramProblem]:
    problems = []
    elements = {c.get("id"): c for c in scope if c.get("id")}
    for event in scope.findall(f"{_B}boundaryEvent"):
        host = (event.get("attachedToRef") or "").strip()
        if not host:
            where = said("is attached to nothing (it has no attachedToRef)")
        elif host not in elements:
            where = said("is attached to %(host)r, which no element of its (sub)process is", host=host)
        elif _local(elements[host]) not in ACTIVITIES:
            where = said("is attached to the %(kind)s %(host)r", kind=label(elements[host]), host=host)
        elif elements[host].get("triggeredByEvent") == "true":
            where = said("is attached to the event sub-process %(host)r, which starts on its own event", host=host)
        else:
            continue
        problems.append(DiagramProblem(
            filename, event.get("id"), said("the boundary event %(where)s: a boundary event sits on an activity (a "
                                            "task, a sub-process, a call activity) and fires while it runs; attach it "
                                            "to one", where=where), _line(event)))
    return problems


def _positions(root: etree._Element, filename: str) -> list[DiagramProblem]:
    problems = []
    for shape in root.iter(f"{_BPMNDI}BPMNShape"):
        bounds = shape.find(f".//{_DC}Bounds")
        if bounds is None:
            continue
        for axis in ("x", "y"):
            value = bounds.get(axis)
            try:
                float(value if value is not None else 0)
            except ValueError:
                problems.append(DiagramProblem(
                    filename, shape.get("bpmnElement") or shape.get("id"),
                    said("the drawing places the element at %(axis)s=%(value)r, which is not a number: the file is "
                         "damaged; open it in the modeler and save it again", axis=axis, value=value), _line(bounds)))
    return problems


def _definitions(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Messages, signals, errors and escalations named in the file and defined in it not exactly once."""
    counts: Counter[tuple[str, str]] = Counter()
    defined: dict[tuple[str, str], etree._Element] = {}
    for element in {element for _user, _attribute, element, _what in _USERS}:
        for n in root.iter(f"{_B}{element}"):
            if n.get("id"):
                counts[(element, n.get("id") or "")] += 1
                defined[(element, n.get("id") or "")] = n
    problems = []
    for element in ("message", "signal", "error", "escalation"):
        for node in root.iter(f"{_B}{element}"):
            if not (node.get("id") or "").strip():
                problems.append(DiagramProblem(
                    filename, None, said("the %(kind)s %(name)r has no id: an event names its %(kind)s by its id; give "
                                         "it one", kind=_DEFINED[element], name=node.get("name"))
                    if node.get("name") else
                    said("the %(kind)s has no id: an event names its %(kind)s by its id; give it one",
                         kind=_DEFINED[element]), _line(node)))
    unnamed_said: set[tuple[str, str]] = set()
    for user, attribute, element, what in _USERS:
        for node in root.iter(f"{_B}{user}"):
            ref = (node.get(attribute) or "").strip()
            found = counts[(element, ref)]
            if not ref or not _read(node):
                continue
            owner = node if user in ("receiveTask", "sendTask") else node.getparent()
            if found == 1:
                if element in ("message", "signal") and (ref, element) not in unnamed_said and not (
                        defined[(element, ref)].get("name") or "").strip():
                    unnamed_said.add((ref, element))
                    problems.append(DiagramProblem(
                        filename, ref, said("the %(kind)s %(ref)r has no name: a %(kind)s is sent and caught by its "
                                            "name; give it one", kind=_DEFINED[element], ref=ref), _line(node)))
                continue
            who = _label(owner) if owner is not None else _EVENT
            problems.append(DiagramProblem(
                filename, owner.get("id") if owner is not None else None,
                said("the %(who)s names the %(what)s %(ref)r, which its file does not define: define it once in the "
                     "file (a <%(element)s> element), or choose one that is",
                     who=who, what=_DEFINED[what], ref=ref, element=element) if not found else
                said("the %(who)s names the %(what)s %(ref)r, which its file defines %(count)d times: define it once "
                     "in the file (a <%(element)s> element), or choose one that is",
                     who=who, what=_DEFINED[what], ref=ref, count=found, element=element), _line(node)))
    return problems
