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

from app.engine.errors import DiagramProblem
from app.engine.implicit_flow import ACTIVITIES, FLOW_NODES
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


def label(node: etree._Element) -> str:
    """`userTask`, as a person reads it: 'user task'."""
    return label_of(_local(node))


def label_of(name: str) -> str:
    return "".join(f" {c.lower()}" if c.isupper() else c for c in name)


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
    problems, said = [], set()
    for node in semantic:
        element_id = node.get("id")
        if counts[element_id] < 2 or element_id in said:
            continue
        said.add(element_id)
        kinds = ", ".join(sorted({label(n) for n in semantic if n.get("id") == element_id}))
        problems.append(DiagramProblem(
            filename, element_id, f"{counts[element_id]} elements of the file have the id {element_id!r} ({kinds}): "
            "only one of them would be read; give each an id of its own", _line(node)))
    return problems


def _flows(scope: etree._Element, filename: str) -> list[DiagramProblem]:
    kind = label(scope).strip()
    kinds = {c.get("id"): _local(c) for c in scope if _local(c) in FLOW_NODES and c.get("id")}
    nodes = set(kinds)
    flows = [c for c in scope if _local(c) == "sequenceFlow"]
    flow_ids = {f.get("id") for f in flows if f.get("id")}
    problems = []
    for flow in flows:
        flow_id = flow.get("id") or "sequence flow"
        for end, says in (("sourceRef", "comes from"), ("targetRef", "goes to")):
            ref = (flow.get(end) or "").strip()
            if not ref:
                problems.append(DiagramProblem(
                    filename, flow_id, f"the sequence flow has no {end}: the file does not say where it "
                    f"{'comes from' if end == 'sourceRef' else 'goes'}; draw it again between two elements",
                    _line(flow)))
            elif ref not in nodes:
                problems.append(DiagramProblem(
                    filename, flow_id, f"the sequence flow {says} {ref!r}, which no element of the {kind} "
                    f"{scope.get('id') or ''} has: it would be lost, and the path it joins would stop; draw it "
                    "again between two elements of the same (sub)process", _line(flow)))
            elif (end == "targetRef" and kinds.get(flow.get("sourceRef") or "") == "eventBasedGateway"
                  and kinds[ref] not in ("intermediateCatchEvent", "receiveTask")):
                problems.append(DiagramProblem(
                    filename, flow_id, f"the sequence flow goes from the event-based gateway "
                    f"{flow.get('sourceRef')!r} to the {label_of(kinds[ref])} {ref!r}: an event-based gateway waits "
                    "for the first of the events after it (a message, a timer, a signal or a receive task); draw "
                    "one of those there", _line(flow)))
            elif kinds[ref] == ("startEvent" if end == "targetRef" else "endEvent"):
                problems.append(DiagramProblem(
                    filename, flow_id, f"the sequence flow {says} the {label_of(kinds[ref])} {ref!r}: "
                    + ("a start event begins its (sub)process and takes no incoming flow; draw the flow to the "
                       "element after it" if end == "targetRef" else
                       "an end event ends its path and has no outgoing flow; draw the flow from the element "
                       "before it, or make the end event an intermediate event"), _line(flow)))
    leaving = {f.get("sourceRef") for f in flows}
    for gateway in scope.findall(f"{_B}eventBasedGateway"):
        if gateway.get("id") not in leaving:
            problems.append(DiagramProblem(
                filename, gateway.get("id"), "the event-based gateway has no flow leaving it: it waits for the first "
                "of the events after it (a message, a timer, a signal or a receive task), and none is drawn; draw "
                "them", _line(gateway)))
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
                    filename, node.get("id"), f"the {label(node).strip()} names the outgoing flow {ref!r}, which the "
                    f"{kind} does not have, and no other flow leaves it: the flow was lost from the file, and the "
                    "path would stop here; draw it again", _line(child)))
            else:
                problems.append(DiagramProblem(
                    filename, node.get("id"), f"the {label(node).strip()} names the {direction} flow {ref!r}, which "
                    f"the {kind} does not have: a stale reference, which the import ignores (the flows drawn say "
                    "where the path goes); remove it", _line(child), "warning"))
    return problems


def _repeat_markers(scope: etree._Element, filename: str) -> list[DiagramProblem]:
    problems = []
    for node in scope:
        kind = _local(node)
        markers = [m for m in node if _local(m) in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics")]
        if kind in ACTIVITIES and len(markers) > 1:
            names = " and ".join(f"a {'multi-instance' if _local(m).startswith('multi') else 'loop'} marker"
                                 for m in markers)
            problems.append(DiagramProblem(
                filename, node.get("id"), f"the {label(node)} carries {len(markers)} repeat markers ({names}): an "
                "activity repeats in one way; keep one of them", _line(markers[1])))
        event_subprocess = kind == "subProcess" and node.get("triggeredByEvent") == "true"
        if kind not in FLOW_NODES or (kind in ACTIVITIES and not event_subprocess):
            continue
        for marker in node:
            if _local(marker) in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
                what = "multi-instance" if _local(marker).startswith("multi") else "loop"
                holder = "event sub-process" if event_subprocess else label(node)
                problems.append(DiagramProblem(
                    filename, node.get("id"), f"the {holder} carries a {what} marker: only an activity (a task, a "
                    "sub-process, a call activity) runs several times, and an event sub-process runs when its event "
                    "comes; move the marker to an activity, or remove it", _line(marker)))
    return problems


def _boundaries(scope: etree._Element, filename: str) -> list[DiagramProblem]:
    problems = []
    elements = {c.get("id"): c for c in scope if c.get("id")}
    for event in scope.findall(f"{_B}boundaryEvent"):
        host = (event.get("attachedToRef") or "").strip()
        if not host:
            said = "is attached to nothing (it has no attachedToRef)"
        elif host not in elements:
            said = f"is attached to {host!r}, which no element of its (sub)process is"
        elif _local(elements[host]) not in ACTIVITIES:
            said = f"is attached to the {label(elements[host])} {host!r}"
        elif elements[host].get("triggeredByEvent") == "true":
            said = f"is attached to the event sub-process {host!r}, which starts on its own event"
        else:
            continue
        problems.append(DiagramProblem(
            filename, event.get("id"), f"the boundary event {said}: a boundary event sits on an activity (a task, a "
            "sub-process, a call activity) and fires while it runs; attach it to one", _line(event)))
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
                    filename, shape.get("bpmnElement") or shape.get("id"), f"the drawing places the element at "
                    f"{axis}={value!r}, which is not a number: the file is damaged; open it in the modeler and save "
                    "it again", _line(bounds)))
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
                named = f" {node.get('name')!r}" if node.get("name") else ""
                problems.append(DiagramProblem(
                    filename, None, f"the {element}{named} has no id: an event names its {element} by its id; give it "
                    "one", _line(node)))
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
                        filename, ref, f"the {element} {ref!r} has no name: a {element} is sent and caught by its "
                        "name; give it one", _line(node)))
                continue
            said = "its file does not define" if not found else f"its file defines {found} times"
            problems.append(DiagramProblem(
                filename, owner.get("id") if owner is not None else None,
                f"the {label(owner).strip() if owner is not None else 'event'} names the {what} {ref!r}, which "
                f"{said}: define it once in the file (a <{element}> element), or choose one that is", _line(node)))
    return problems
