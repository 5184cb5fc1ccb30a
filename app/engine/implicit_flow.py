"""BPMN 2.0's implicit flow semantics, written out for SpiffWorkflow (which refuses or misreads them).

Diagrams from Bizagi, Bonita, Signavio, Activiti, Camunda and others rely on what BPMN says without
drawing it; SpiffWorkflow 3.2 wants it drawn. `prepare` writes it into the XML tree before SpiffWorkflow
reads it, each change a warning naming the element and the BPMN meaning kept:

- no start event in a (sub)process: every flow node without an incoming flow starts with it (not
  boundary events, compensation handlers, event sub-processes or link catch events): a generated none
  start event, with a parallel split when several start; a process with no flow node at all (a pool
  drawn empty) has nothing to run and is left out (`isExecutable="false"`);
- no end event in a (sub)process: it ends when all its paths have ended: a generated end event after
  each flow node without an outgoing flow; where the (sub)process has end events and a path stops at
  another element (not a gateway), the same, said as a dead end to draw to its end: the path ends there
  (as in Camunda 7), and the instance's history names the generated end event;
- an activity or event with several outgoing flows, or conditional ones (an uncontrolled split; one
  conditional flow included, which SpiffWorkflow would take whatever its condition says): an inclusive
  gateway after it when a flow has a condition or the activity a default flow (conditionless flows
  always taken, the default only when no other is), else a parallel gateway;
- a gateway's non-default flow without a condition: an inclusive gateway always takes it; Camunda 7
  and Activiti take it from an exclusive gateway when it is reached in document order. It gets the
  condition `True`, and the exclusive gateway evaluates its flows in document order
  (`install`, after SpiffWorkflow has sorted them by the diagram's y coordinates). The gateways the
  import draws only split (`SplitOnly`, `InclusiveSplitOnly`): SpiffWorkflow's gateways also join, and
  would make one token of the two an uncontrolled merge sends on.

`dead_ends` is the strict check's error for a gateway without an outgoing flow in a (sub)process that
has end events (SpiffWorkflow would stop the instance at it).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway
from SpiffWorkflow.util.task import TaskState

from app.engine.element_kinds import label_of
from app.engine.errors import DiagramProblem, InstanceFault
from app.engine.said import Said, said
from app.engine.xml import BPMN_NS
from app.engine.xml import source_line as _line
from app.engine.xml import unique_id as _unique

_B = f"{{{BPMN_NS}}}"
IMPORT_NS = "urn:loanflow:import"
_DOCUMENT_ORDER = f"{{{IMPORT_NS}}}conditionOrder"
_SPLIT = f"{{{IMPORT_NS}}}split"  # a gateway the import drew to split the flow, never to join it

ACTIVITIES = frozenset({
    "task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask", "manualTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess"})
_EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
                       "complexGateway"})
FLOW_NODES = ACTIVITIES | _EVENTS | GATEWAYS  # the elements a token passes through
_SCOPES = frozenset({"process", "subProcess", "transaction"})  # what SpiffWorkflow reads as a workflow of its own


def _name(node: etree._Element) -> str:
    return etree.QName(node).localname


def _scopes(root: etree._Element) -> Iterator[etree._Element]:
    """Executable processes and the sub-processes and transactions inside them."""
    for process in root.iter(f"{_B}process"):
        if process.get("isExecutable", "true") != "true":
            continue
        yield process
        yield from (n for n in process.iter() if isinstance(n.tag, str) and n is not process
                    and etree.QName(n).namespace == BPMN_NS and _name(n) in _SCOPES - {"process"})


def _nodes(scope: etree._Element) -> list[etree._Element]:
    return [n for n in scope if isinstance(n.tag, str) and etree.QName(n).namespace == BPMN_NS
            and _name(n) in FLOW_NODES]


def _flows(scope: etree._Element) -> list[etree._Element]:
    return scope.findall(f"{_B}sequenceFlow")


def _has(node: etree._Element, definition: str) -> bool:
    return node.find(f"{_B}{definition}") is not None


def _is_event_subprocess(node: etree._Element) -> bool:
    return _name(node) in ("subProcess", "transaction", "adHocSubProcess") and node.get("triggeredByEvent") == "true"


_KINDS = {"process": said("process"), "subProcess": said("sub-process"), "transaction": said("transaction")}


def _kind(scope: etree._Element) -> Said:
    return _KINDS[_name(scope)]


def _condition(flow: etree._Element) -> etree._Element | None:
    """The flow's condition, None when it has none (or an empty one)."""
    node = flow.find(f"{_B}conditionExpression")
    return node if node is not None and (node.text or "").strip() else None


def _new(scope: etree._Element, tag: str, **attributes: str) -> etree._Element:
    node = etree.SubElement(scope, f"{_B}{tag}")
    for key, value in attributes.items():
        node.set(key, value)
    return node


def _connect(scope: etree._Element, source: str, target: str, taken: set[str]) -> etree._Element:
    return _new(scope, "sequenceFlow", id=_unique(f"ImplicitFlow_{source}_{target}", taken),
                sourceRef=source, targetRef=target)


def _set_true(flow: etree._Element) -> None:
    for empty in flow.findall(f"{_B}conditionExpression"):
        flow.remove(empty)
    _new(flow, "conditionExpression").text = "True"


def prepare(root: etree._Element, filename: str, taken: set[str]) -> list[DiagramProblem]:
    """Write BPMN's implicit starts, ends, splits and gateway flows into the tree; the changes said."""
    changes: list[DiagramProblem] = []
    for scope in list(_scopes(root)):
        if _name(scope) == "process" and not _nodes(scope):
            scope.set("isExecutable", "false")
            changes.append(DiagramProblem(
                filename, scope.get("id"), said("the process has no flow elements (a pool drawn empty): there is "
                                                "nothing to run, and the import leaves it out as not executable"),
                _line(scope), "warning"))
            continue
        changes += _implicit_start(scope, filename, taken)
        changes += _implicit_ends(scope, filename, taken)
        changes += _uncontrolled_splits(scope, filename, taken)
        changes += _gateway_flows(scope, filename)
    return changes


def _starts_by_itself(node: etree._Element) -> bool:
    """Whether a flow node without incoming flow starts when its (sub)process starts (BPMN 2.0, 10.5.2)."""
    kind = _name(node)
    if kind in ("boundaryEvent", "startEvent") or node.get("isForCompensation") == "true":
        return False
    if _is_event_subprocess(node):
        return False
    return not (kind == "intermediateCatchEvent" and _has(node, "linkEventDefinition"))


def _implicit_start(scope: etree._Element, filename: str, taken: set[str]) -> list[DiagramProblem]:
    if scope.find(f"{_B}startEvent") is not None or _is_event_subprocess(scope):
        return []
    scope_id = scope.get("id") or "process"
    targets = {f.get("targetRef") for f in _flows(scope)}
    starting = [n for n in _nodes(scope) if n.get("id") not in targets and _starts_by_itself(n)]
    if not starting:
        if _nodes(scope):
            return []  # every node is reached by a flow: SpiffWorkflow's refusal names the (sub)process
        start = _new(scope, "startEvent", id=_unique(f"ImplicitStart_{scope_id}", taken))
        end = _new(scope, "endEvent", id=_unique(f"ImplicitEnd_{scope_id}", taken))
        _connect(scope, start.get("id"), end.get("id"), taken)
        return [DiagramProblem(
            filename, scope_id, said("the %(kind)s is empty: by BPMN it completes as soon as it starts; the import "
                                     "drew that as the start event %(start)s joined to the end event %(end)s",
                                     kind=_kind(scope), start=start.get("id"), end=end.get("id")), _line(scope),
            "warning")]
    start = _new(scope, "startEvent", id=_unique(f"ImplicitStart_{scope_id}", taken))
    ids = [n.get("id") for n in starting]
    if len(starting) == 1:
        _connect(scope, start.get("id"), ids[0], taken)
        added = said("the start event %(start)s before it", start=start.get("id"))
    else:
        split = _new(scope, "parallelGateway", id=_unique(f"ImplicitStartSplit_{scope_id}", taken))
        split.set(_SPLIT, "only")
        _connect(scope, start.get("id"), split.get("id"), taken)
        for node_id in ids:
            _connect(scope, split.get("id"), node_id, taken)
        added = said("the start event %(start)s and the parallel gateway %(split)s that starts them all",
                     start=start.get("id"), split=split.get("id"))
    return [DiagramProblem(
        filename, scope_id, said("the %(kind)s has no start event: by BPMN every element without an incoming flow "
                                 "(%(ids)s) starts when the %(kind)s starts; the import added %(added)s",
                                 kind=_kind(scope), ids=", ".join(ids), added=added), _line(scope),
        "warning")]


def _path_ends_here(node: etree._Element) -> bool:
    """Whether a flow node without outgoing flow is where a path ends (not a compensation handler, a
    compensation boundary event, an event sub-process, a link throw event or an end event)."""
    kind = _name(node)
    if kind == "endEvent" or node.get("isForCompensation") == "true" or _is_event_subprocess(node):
        return False
    if kind == "boundaryEvent" and _has(node, "compensateEventDefinition"):
        return False
    return not (kind == "intermediateThrowEvent" and _has(node, "linkEventDefinition"))


def _stopping(scope: etree._Element) -> list[etree._Element]:
    sources = {f.get("sourceRef") for f in _flows(scope)}
    return [n for n in _nodes(scope) if n.get("id") not in sources and _path_ends_here(n)]


def _implicit_ends(scope: etree._Element, filename: str, taken: set[str]) -> list[DiagramProblem]:
    """An end event after each flow node where a path stops (not a gateway there, when the (sub)process
    has end events: the strict check refuses that, `dead_ends`). Where the (sub)process has end events
    elsewhere, the change is said as a dead end the analyst should draw to its end: an instance whose
    path reaches it ends that path there (as Camunda 7 does), and its history names the end drawn."""
    has_ends = scope.find(f"{_B}endEvent") is not None
    changes = []
    for node in _stopping(scope):
        if has_ends and _name(node) in GATEWAYS:
            continue
        node_id = node.get("id") or "node"
        end = _new(scope, "endEvent", id=_unique(f"ImplicitEnd_{node_id}", taken))
        _connect(scope, node_id, end.get("id"), taken)
        reason = (said("this path stops here without an end event, though the %(kind)s has end events elsewhere: "
                       "an instance whose path reaches %(node)s ends it there (the import added the end event "
                       "%(end)s after it, which its history will name); draw an end event after it",
                       kind=_kind(scope), node=node_id, end=end.get("id"))
                  if has_ends else
                  said("the path stops at %(node)s and its %(kind)s has no end event: by BPMN the %(kind)s ends when "
                       "all its paths have ended; the import added the end event %(end)s after it",
                       node=node_id, kind=_kind(scope), end=end.get("id")))
        changes.append(DiagramProblem(filename, node_id, reason, _line(node), "warning"))
    return changes


def _uncontrolled_splits(scope: etree._Element, filename: str, taken: set[str]) -> list[DiagramProblem]:
    changes = []
    by_source: dict[str, list[etree._Element]] = {}
    for flow in _flows(scope):
        by_source.setdefault(flow.get("sourceRef") or "", []).append(flow)
    for node in _nodes(scope):
        kind, node_id = _name(node), node.get("id") or ""
        outgoing = by_source.get(node_id, [])
        if kind in GATEWAYS or not outgoing:
            continue
        conditional = [f for f in outgoing if _condition(f) is not None]
        default = node.get("default")
        if not conditional and (len(outgoing) == 1 or kind == "startEvent") and not default:
            continue  # one flow, or a start event's unconditioned flows (SpiffWorkflow takes them all)
        if not conditional and not (default and len(outgoing) > 1):
            split = _new(scope, "parallelGateway", id=_unique(f"ImplicitSplit_{node_id}", taken))
            meaning = said("by BPMN each is taken (an uncontrolled split)")
            what = said("parallel")
        else:
            split = _new(scope, "inclusiveGateway", id=_unique(f"ImplicitSplit_{node_id}", taken))
            taken_when = (said("the default flow %(default)s only when no other is", default=default)
                          if default else said("and when none is, the instance stops with an incident"))
            meaning = said("by BPMN each flow whose condition holds is taken, a flow without a condition always, "
                           "%(taken_when)s", taken_when=taken_when)
            what = said("inclusive")
            for flow in outgoing:
                if _condition(flow) is None and flow.get("id") != default:
                    _set_true(flow)
            if default:
                split.set("default", default)
                del node.attrib["default"]
        split.set(_SPLIT, "only")
        for flow in outgoing:
            flow.set("sourceRef", split.get("id"))
        _connect(scope, node_id, split.get("id"), taken)
        ids = ", ".join(f.get("id") or "?" for f in outgoing)
        changes.append(DiagramProblem(
            filename, node_id, said("%(node)s has %(flows)s: %(meaning)s; the import added the %(what)s gateway "
                                    "%(split)s after it", node=node_id, flows=_outgoing(len(outgoing), ids, conditional),
                                    meaning=meaning, what=what, split=split.get("id")), _line(node), "warning"))
    return changes


def _outgoing(count: int, ids: str, conditional: list[etree._Element]) -> Said:
    """'3 outgoing flows (a, b, c) with conditions'."""
    if count > 1:
        return (said("%(count)d outgoing flows (%(ids)s) with conditions", count=count, ids=ids) if conditional
                else said("%(count)d outgoing flows (%(ids)s)", count=count, ids=ids))
    return (said("%(count)d outgoing flow (%(ids)s) with conditions", count=count, ids=ids) if conditional
            else said("%(count)d outgoing flow (%(ids)s)", count=count, ids=ids))


def _gateway_flows(scope: etree._Element, filename: str) -> list[DiagramProblem]:
    changes = []
    by_source: dict[str, list[etree._Element]] = {}
    for flow in _flows(scope):
        by_source.setdefault(flow.get("sourceRef") or "", []).append(flow)
    for gateway in _nodes(scope):
        kind = _name(gateway)
        outgoing = by_source.get(gateway.get("id") or "", [])
        if kind not in ("exclusiveGateway", "inclusiveGateway") or len(outgoing) < 2:
            continue  # a single flow without a condition is the gateway's default in SpiffWorkflow
        always: str | None = None  # an exclusive gateway's first flow without a condition: later ones never run
        for n, flow in enumerate(outgoing):
            if _condition(flow) is not None or flow.get("id") == gateway.get("default"):
                continue
            _set_true(flow)
            if kind == "exclusiveGateway":
                gateway.set(_DOCUMENT_ORDER, "document")
                meaning = said("as in Camunda 7 and Activiti, it is taken when it is reached in document order (the "
                               "first flow whose condition holds or that has none); the import gave it the condition "
                               "True, and %(gateway)s evaluates its flows in document order", gateway=gateway.get("id"))
                if always is not None:
                    meaning = said("%(meaning)s; it comes after %(flow)s, which has no condition either, so it is "
                                   "never taken", meaning=meaning, flow=always)
                else:
                    always = flow.get("id")
                    later = [f.get("id") or "?" for f in outgoing[n + 1:] if f.get("id") != gateway.get("default")]
                    if later:
                        meaning = said("%(meaning)s; the flows after it (%(later)s) are never taken",
                                       meaning=meaning, later=", ".join(later))
            else:
                meaning = said("by BPMN an inclusive gateway always takes it; the import gave it the condition True")
            changes.append(DiagramProblem(
                filename, flow.get("id"), said("the flow %(flow)s leaving the %(kind)s %(gateway)s has no condition and "
                                               "is not its default: %(meaning)s", flow=flow.get("id"), kind=label_of(kind),
                                               gateway=gateway.get("id"), meaning=meaning), _line(flow), "warning"))
    return changes


class SplitOnly(ParallelGateway):
    """The parallel split the import draws: every token that reaches it goes on along each flow.
    SpiffWorkflow's parallel gateway also joins, and would make one token of two that an uncontrolled
    merge sent on (dropping what the first had started)."""

    def _update_hook(self, my_task: Any) -> bool:
        return BpmnTaskSpec._update_hook(self, my_task)  # ready at once, with its own token's data

    def _run_hook(self, my_task: Any) -> bool:
        return True


class InclusiveSplitOnly(InclusiveGateway):
    """The inclusive split the import draws after an activity with conditional flows: each token goes on
    along every flow whose condition holds (the default when none does), without SpiffWorkflow's join."""

    def _update_hook(self, my_task: Any) -> bool:
        return BpmnTaskSpec._update_hook(self, my_task)

    def _run_hook(self, my_task: Any) -> bool:
        matches, defaults = self._get_matching_outputs(my_task)
        if not matches + defaults:
            source = my_task.parent
            while source is not None and not getattr(source.task_spec, "bpmn_id", None):
                source = source.parent
            element = source.task_spec.bpmn_id if source is not None else self.bpmn_id
            raise InstanceFault(said("none of the conditions on the flows leaving %(element)s holds, and it has no "
                                     "default flow: the instance cannot go on from there (as in Camunda 7); give it a "
                                     "default flow or a condition that holds", element=element), element)
        my_task._sync_children(matches or defaults, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


SPLITS: dict[type, type] = {ParallelGateway: SplitOnly, InclusiveGateway: InclusiveSplitOnly}


def install(spec: Any, node: etree._Element) -> None:
    """After SpiffWorkflow has parsed `node` into `spec`: the gateways the import drew only split (`SPLITS`),
    and exclusive gateways it gave a `True` condition evaluate their flows in document order, as Camunda
    does (SpiffWorkflow sorts them by the y coordinate of their targets on the canvas)."""
    for gateway in node.iter(f"{_B}parallelGateway", f"{_B}inclusiveGateway"):
        task_spec = spec.task_specs.get(gateway.get("id"))
        if gateway.get(_SPLIT) == "only" and task_spec is not None:
            plain = next(p for p in SPLITS if isinstance(task_spec, p))
            task_spec.__class__ = SPLITS[plain]
    for gateway in node.iter(f"{_B}exclusiveGateway"):
        task_spec = spec.task_specs.get(gateway.get("id"))
        if gateway.get(_DOCUMENT_ORDER) != "document" or task_spec is None:
            continue
        order: list[str] = []
        for flow in gateway.getparent().findall(f"{_B}sequenceFlow"):
            if flow.get("sourceRef") == gateway.get("id"):
                target = flow.get("targetRef") or ""
                order += [target, f"{target}.BoundaryEventSplit"]
        rank = {name: n for n, name in reversed(list(enumerate(order)))}
        task_spec.cond_task_specs.sort(key=lambda pair: rank.get(pair[1], len(order)))


def dead_ends(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """Errors for a gateway without an outgoing flow in a (sub)process that has end events (a path that
    stops at another element there ends at the end event `prepare` drew after it, said as a warning)."""
    errors = []
    scopes = [process, *(n for n in process.iter() if isinstance(n.tag, str) and n is not process
                         and etree.QName(n).namespace == BPMN_NS and _name(n) in _SCOPES - {"process"})]
    for scope in scopes:
        if scope.find(f"{_B}endEvent") is None:
            continue
        for node in _stopping(scope):
            if _name(node) in GATEWAYS:
                errors.append(DiagramProblem(
                    filename, node.get("id"), said("the gateway has no outgoing flow: an instance that reaches it "
                                                   "could go nowhere and would stop there with an incident; draw the "
                                                   "flow it leads to"), _line(node)))
    return errors
