"""Compensation — undoing what an instance completed — drawn as what SpiffWorkflow 3.2 runs.

BPMN 2.0 (10.5.6, 13.5.5): an activity with a *compensation boundary event* is joined by an association
to its *compensation handler* (an activity marked `isForCompensation`, on no sequence flow). When a
*compensation throw event* (intermediate or end) is reached, the handler of every activity of the same
(sub)process that completed runs, the last completed first; with an `activityRef`, only that activity's.
A sub-process is compensated by its *compensation event sub-process* if it has one (whose own throw events
compensate the sub-process's activities), else by compensating what it completed inside, in the same way.
A throw event in an event sub-process (an error one, say) compensates the (sub)process around it. A
*transaction* cancelled by a cancel end event compensates what it completed before the path after its
cancel boundary event goes on.

SpiffWorkflow 3.2 has none of this (its parser fails on a compensation boundary event). `prepare` draws it:

- before each compensation throw event `T`, a sub-process `T_compensation` (named as the event), which
  for each activity `T` compensates, in reverse order of the flow (for parallel paths, an order BPMN leaves
  open), asks at an exclusive gateway whether that activity completed and was not compensated since;
  if so, its handler runs (a copy of the handler task, under the handler's own id the first time), or,
  for a sub-process, a sub-process holding its compensation event sub-process's content or, by default,
  the same questions about what it completed inside; `T` itself then passes on (or ends) as a none event;
- after a cancel boundary event on a transaction, a sub-process `B_compensation` asks the same questions
  about what the transaction completed inside, before the path after it goes on;
- the compensation boundary events, the handlers and the compensation event sub-processes as drawn are
  then removed: they run only where a compensation throw event draws them. One no event can reach is
  said as never running.

Each gateway asking the question gets this module's `CompensationChoice` (`install`, after parsing). It
looks in the instance's task tree for the activity's completed runs in the (sub)process the throw event
compensates — reached by climbing out of the sub-processes the import drew, and down into the completed
sub-processes whose compensation this is — marks them compensated (each completion is undone once: an
activity completed several times, in a loop, is undone by its handler once per run, the last first, the
handler looping back to the question; a sub-process completed several times is compensated once for all
its runs), and takes the handler's way only if it found one. The handlers run with the data the instance
has at the throw event (a Camunda 7 handler sees its scope's variables); the throw event always waits for
them (Camunda 7 ignores `waitForCompletion` too). The changes are said as warnings, each refusal names the element.
"""
from __future__ import annotations

from collections import deque
from copy import deepcopy
from typing import Any

from lxml import etree
from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn.specs.defaults import ExclusiveGateway

from app.engine.element_kinds import label
from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.xml import BPMN_NS
from app.engine.xml import new_element as _new
from app.engine.xml import source_line as _line
from app.engine.xml import unique_id as _unique

_B = f"{{{BPMN_NS}}}"
_COMPENSATE = f"{_B}compensateEventDefinition"
_IMPORT = "{urn:loanflow:import}"
COMPENSATES, CLIMB, UP, PATH = (f"{_IMPORT}compensates", f"{_IMPORT}compensationClimb", f"{_IMPORT}compensationUp",
                                f"{_IMPORT}compensationPath")
EACH = f"{_IMPORT}compensationEachRun"  # the question undoes one run at a time, its handler looping back to it
UNDONE = "compensated"  # a completed task's internal data, once a compensation has undone it
COMPENSATING = "compensating"  # the question's internal data when it found runs to undo (for the history)
_ACTIVITIES = frozenset({"task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
                         "receiveTask", "manualTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"})
_SUBS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
_THROWS = frozenset({"intermediateThrowEvent", "endEvent"})
_REF_TAGS = frozenset({f"{_B}incoming", f"{_B}outgoing", f"{_B}sourceRef", f"{_B}targetRef"})
_REF_ATTRIBUTES = ("sourceRef", "targetRef", "attachedToRef", "default", "activityRef")
# compensations one file may draw: each throw event copies what it runs, and a compensation event sub-process
# whose throw events compensate sub-processes with their own would multiply them, level by level. Each is three
# elements on one path, and SpiffWorkflow's parser recurses along a path: at 200 in one throw event it failed
# with a RecursionError (measured; 150 parsed in 0.15 s)
MAX_DRAWN = 100


class _TooMuch(Exception):
    """The drawing passed MAX_DRAWN (at the throw event `_Drawing.current`)."""


def _name(node: Any) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _executable(node: etree._Element) -> bool:
    process = next(node.iterancestors(f"{_B}process"), None)
    return process is None or process.get("isExecutable", "true") == "true"


def _is_event_subprocess(node: etree._Element) -> bool:
    return _name(node) in _SUBS and node.get("triggeredByEvent") == "true"


def _is_compensation_esp(node: etree._Element) -> bool:
    return _is_event_subprocess(node) and any(
        _name(c) == "startEvent" and c.find(_COMPENSATE) is not None for c in node)


def _flows(scope: etree._Element) -> list[etree._Element]:
    return scope.findall(f"{_B}sequenceFlow")



def _connect(scope: etree._Element, source: str, target: str, taken: set[str]) -> etree._Element:
    return _new(scope, "sequenceFlow", id=_unique(f"Flow_{source}_{target}", taken), sourceRef=source,
                targetRef=target)


def _in_flow_order(scope: etree._Element, nodes: list[etree._Element]) -> list[etree._Element]:
    """`nodes` in the order a token reaches them along the scope's sequence flows (document order where
    the flows leave it open: parallel paths, loops)."""
    ids = {n.get("id") for n in scope if _name(n) and n.get("id")}
    after: dict[str, list[str]] = {}
    before_count = dict.fromkeys(ids, 0)
    for flow in _flows(scope):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in ids and target in ids and source != target:
            after.setdefault(source, []).append(target)
            before_count[target] += 1
    for node in scope:  # a boundary event follows its activity
        if _name(node) == "boundaryEvent" and node.get("attachedToRef") in ids and node.get("id") in ids:
            after.setdefault(node.get("attachedToRef"), []).append(node.get("id"))
            before_count[node.get("id")] += 1
    document = [n.get("id") for n in scope if n.get("id") in ids]
    rank: dict[str, int] = {}
    ready = deque(i for i in document if before_count[i] == 0)
    unplaced = iter(document)  # for a loop: the earliest in the document not yet placed
    while len(rank) < len(document):
        if not ready:
            ready.append(next(i for i in unplaced if i not in rank))
        current = ready.popleft()
        if current in rank:
            continue
        rank[current] = len(rank)
        for target in after.get(current, []):
            before_count[target] -= 1
            if before_count[target] <= 0 and target not in rank:
                ready.append(target)
    return sorted(nodes, key=lambda n: rank.get(n.get("id"), len(rank)))


class _Drawing:
    """One file's compensation: what it says, checked, then drawn."""

    def __init__(self, root: etree._Element, filename: str, taken: set[str]) -> None:
        self.filename, self.taken = filename, taken
        self.refusals: list[DiagramProblem] = []
        self.changes: list[DiagramProblem] = []
        self.handler_of: dict[int, etree._Element] = {}  # id(activity) -> its handler
        self.boundaries: list[etree._Element] = []
        self.associations: list[etree._Element] = []
        self.esps: list[etree._Element] = []
        self.throws: list[tuple[etree._Element, etree._Element, int]] = []  # (event, scope, up)
        self.copies: dict[str, int] = {}
        self.drawn = 0
        self.current: etree._Element | None = None  # the throw event being drawn
        self.used: set[int] = set()  # id() of the handlers and event sub-processes a throw event drew
        self._compensable: dict[int, list[tuple[etree._Element, str, etree._Element]]] = {}
        definitions = [d for d in root.iter(_COMPENSATE) if _executable(d)]
        for definition in definitions:
            self._read(definition.getparent())
        self.cancels = [(b, t) for b in root.iter(f"{_B}boundaryEvent") if definitions and _executable(b)
                        and b.find(f"{_B}cancelEventDefinition") is not None
                        for t in b.getparent() if t.get("id") == b.get("attachedToRef") and _name(t) == "transaction"]

    def refuse(self, node: etree._Element, reason: str) -> None:
        self.refusals.append(DiagramProblem(self.filename, node.get("id"), reason, _line(node)))

    def said(self, node: etree._Element, reason: str) -> None:
        self.changes.append(DiagramProblem(self.filename, node.get("id"), reason, _line(node), "warning"))

    # -- reading and checking ---------------------------------------------------------------------------

    def _read(self, event: etree._Element) -> None:
        kind, container = _name(event), event.getparent()
        inside = next((a for a in event.iterancestors() if _is_compensation_esp(a)), None)
        if inside is not None and not (kind in ("startEvent", *_THROWS) and container is inside):
            self.refuse(event, said("inside a compensation event sub-process, a compensation event compensates "
                                    "its sub-process's activities, and only at the top of it: Loanflow does not "
                                    "draw a %(kind)s deeper in it", kind=label(event)))
        elif kind == "boundaryEvent":
            self._read_boundary(event, container)
        elif kind == "startEvent":
            self._read_start(event, container)
        elif kind in _THROWS:
            self._read_throw(event, container, inside is not None)
        else:
            self.refuse(event, said("a %(kind)s cannot be a compensation event: compensation is thrown by an "
                                    "intermediate throw or end event, and caught by a boundary event or the "
                                    "start of a compensation event sub-process", kind=label(event)))

    def _read_boundary(self, event: etree._Element, container: etree._Element) -> None:
        attached = next((n for n in container if n.get("id") == event.get("attachedToRef")), None)
        what = event.get("attachedToRef") or "?"
        if attached is None or _name(attached) not in _ACTIVITIES:
            return  # said by `references` (attachedToRef naming nothing) or SpiffWorkflow's parser
        if any(f.get("sourceRef") == event.get("id") for f in _flows(container)):
            self.refuse(event, said("a compensation boundary event has no outgoing sequence flow: its handler is "
                                    "joined to it by an association; draw one to the activity that undoes %(id)s",
                                    id=what))
            return
        process = next(event.iterancestors(f"{_B}process"))
        ends = [(a, a.get("targetRef") if a.get("sourceRef") == event.get("id") else a.get("sourceRef"))
                for a in process.iter(f"{_B}association") if event.get("id") in (a.get("sourceRef"), a.get("targetRef"))]
        handlers = [(a, n) for a, other in ends for n in container
                    if n.get("id") == other and _name(n) in _ACTIVITIES and n is not attached]
        if len(handlers) != 1:
            self.refuse(event, said("the compensation boundary event names no handler: draw an association from it "
                                    "to the activity that undoes %(id)s (marked for compensation)", id=what)
                        if not handlers else
                        said("the compensation boundary event is joined to %(count)d activities; one handler "
                             "undoes %(id)s", count=len(handlers), id=what))
            return
        association, handler = handlers[0]
        if any(handler.get("id") in (f.get("sourceRef"), f.get("targetRef")) for f in _flows(container)):
            self.refuse(handler, said("the compensation handler %(id)s is on a sequence flow: it runs only when "
                                      "the activity it undoes is compensated; remove its flows",
                                      id=handler.get("id")))
            return
        self.handler_of[id(attached)] = handler
        self.boundaries.append(event)
        self.associations.append(association)

    def _read_start(self, event: etree._Element, container: etree._Element) -> None:
        if not _is_event_subprocess(container):
            self.refuse(event, said("a start event is a compensation event only in an event sub-process (which runs "
                                    "when its sub-process is compensated)"))
        elif _name(container.getparent()) not in _SUBS:
            self.refuse(container, said("the compensation event sub-process would never run: it runs when its "
                                        "sub-process is compensated, and it is in a process, which nothing "
                                        "compensates; draw it in the sub-process whose compensation it is"))
        elif sum(1 for c in container if _name(c) == "startEvent") != 1:
            self.refuse(container, said("a compensation event sub-process has one start event"))
        else:
            self.esps.append(container)

    def _read_throw(self, event: etree._Element, container: etree._Element, in_esp: bool) -> None:
        up = 1 if _is_event_subprocess(container) else 0  # an event sub-process compensates what is around it
        scope = container.getparent() if up else container
        definition = event.find(_COMPENSATE)
        ref = (definition.get("activityRef") or "").strip()
        if ref and next((n for n in scope if n.get("id") == ref and _name(n) in _ACTIVITIES), None) is None:
            self.refuse(event, said("the compensation event names %(ref)s, which is not an activity of the "
                                    "%(kind)s it compensates", ref=ref, kind=label(scope)))
            return
        if definition.get("waitForCompletion") == "false":
            self.said(event, said("waitForCompletion=\"false\": Loanflow waits for the compensation to finish "
                                  "before the path goes on, as Camunda 7 does"))
        if not in_esp:
            self.throws.append((event, scope, up))

    # -- what can be compensated ---------------------------------------------------------------------------

    def compensable(self, scope: etree._Element) -> list[tuple[etree._Element, str, etree._Element]]:
        """The activities of `scope` that can be compensated, in flow order: (activity, how, with what)."""
        key = id(scope)
        if key not in self._compensable:
            found = []
            for node in _in_flow_order(scope, [n for n in scope if _name(n) in _ACTIVITIES
                                               and not _is_event_subprocess(n)]):
                if id(node) in self.handler_of:
                    found.append((node, "handler", self.handler_of[id(node)]))
                elif _name(node) in _SUBS:
                    esp = next((c for c in node if any(c is e for e in self.esps)), None)
                    if esp is not None:
                        found.append((node, "event sub-process", esp))
                    elif self.compensable(node):
                        found.append((node, "inside", node))
            self._compensable[key] = found
        return self._compensable[key]

    @staticmethod
    def _ref(event: etree._Element) -> str:
        definition = event.find(_COMPENSATE)
        return (definition.get("activityRef") or "").strip() if definition is not None else ""

    def _targets(self, event: etree._Element, scope: etree._Element) -> list[tuple[etree._Element, str, Any]]:
        ref = self._ref(event)
        every = self.compensable(scope)
        return [t for t in every if t[0].get("id") == ref] if ref else list(reversed(every))

    # -- drawing -----------------------------------------------------------------------------------------

    def draw(self) -> None:
        for event, scope, up in self.throws:
            self.current = event
            self._throw(event, scope, 0, up, [])
        for event, transaction in self.cancels:
            self.current = event
            self._after_cancel(event, transaction)
        for event in self.boundaries:
            event.getparent().remove(event)
        for association in self.associations:
            association.getparent().remove(association)
        for handler in set(self.handler_of.values()) | set(self.esps):
            if id(handler) not in self.used:
                self.said(handler, said("the %(kind)s %(id)s never runs: no compensation event compensates what it "
                                        "undoes", kind=label(handler), id=handler.get("id")))
            handler.getparent().remove(handler)

    def _throw(self, event: etree._Element, scope: etree._Element, climb: int, up: int, path: list[str]) -> None:
        targets, ref = self._targets(event, scope), self._ref(event)
        event.remove(event.find(_COMPENSATE))
        if not targets:
            self.said(event, said("%(ref)s cannot be compensated (it has no compensation boundary event, nor "
                                  "anything inside to compensate): the event passes on", ref=ref) if ref else
                      said("nothing in the %(kind)s %(id)s can be compensated (no activity with a compensation "
                           "boundary event): the event passes on", kind=label(scope), id=scope.get("id") or "?"))
            return
        region = self._region(event, before=True)
        self._chain(region, targets, climb + 1, up, path)
        self.said(event, said("the compensation event undoes, the last completed first, what the %(kind)s %(scope)s "
                              "completed of %(ids)s: the import drew that as the sub-process %(region)s before it, "
                              "which runs each one's compensation if it completed",
                              kind=label(scope), scope=scope.get("id") or "?", region=region.get("id"),
                              ids=", ".join(t[0].get("id") or "?" for t in targets)))

    def _region(self, event: etree._Element, before: bool) -> etree._Element:
        """A new sub-process `<event>_compensation` on the path just before (or after) `event`."""
        container, event_id = event.getparent(), event.get("id") or "compensation"
        region = _new(container, "subProcess", index=container.index(event) + (0 if before else 1),
                      id=_unique(f"{event_id}_compensation", self.taken), name=event.get("name"))
        moved, side = ("targetRef", "incoming") if before else ("sourceRef", "outgoing")
        for flow in _flows(container):
            if flow.get(moved) == event_id:
                flow.set(moved, region.get("id"))
        for old in event.findall(f"{_B}{side}"):
            event.remove(old)
        if before:
            _connect(container, region.get("id"), event_id, self.taken)
        else:
            _connect(container, event_id, region.get("id"), self.taken)
        return region

    def _after_cancel(self, event: etree._Element, transaction: etree._Element) -> None:
        """What the transaction completed, compensated after its cancel boundary event `event`."""
        targets = list(reversed(self.compensable(transaction)))
        if not targets:
            return
        region = self._region(event, before=False)
        self._chain(region, targets, 1, 0, [transaction.get("id")])
        self.said(event, said("the transaction %(id)s is cancelled here: what it completed of %(ids)s is compensated, the "
                              "last completed first, before the path goes on; the import drew that as the sub-process "
                              "%(region)s after the event", id=transaction.get("id"), region=region.get("id"),
                              ids=", ".join(t[0].get("id") or "?" for t in targets)))

    def _chain(self, sub: etree._Element, targets: list[tuple[etree._Element, str, Any]], climb: int, up: int,
               path: list[str]) -> None:
        sub_id = sub.get("id")
        previous = _new(sub, "startEvent", id=_unique(f"{sub_id}_start", self.taken)).get("id")
        for activity, how, what in targets:
            self.drawn += 1
            if self.drawn > MAX_DRAWN:
                raise _TooMuch
            activity_id = activity.get("id")
            ask = _new(sub, "exclusiveGateway", id=_unique(f"{sub_id}_{activity_id}", self.taken))
            ask.set(COMPENSATES, activity_id)
            ask.set(CLIMB, str(climb))
            ask.set(UP, str(up))
            ask.set(PATH, " ".join(path))
            join = _new(sub, "exclusiveGateway", id=_unique(f"{ask.get('id')}_done", self.taken))
            _connect(sub, previous, ask.get("id"), self.taken)
            undo = self._undoing(sub, activity, how, what, climb, up, path)
            yes = _connect(sub, ask.get("id"), undo.get("id"), self.taken)
            _new(yes, "conditionExpression").text = "True"  # the way taken is CompensationChoice's to choose
            ask.set("default", _connect(sub, ask.get("id"), join.get("id"), self.taken).get("id"))
            if how == "handler":  # its handler runs once for each run it undoes, then asks again
                ask.set(EACH, "true")
                _connect(sub, undo.get("id"), ask.get("id"), self.taken)
            else:
                _connect(sub, undo.get("id"), join.get("id"), self.taken)
            previous = join.get("id")
        _connect(sub, previous, _new(sub, "endEvent", id=_unique(f"{sub_id}_end", self.taken)).get("id"), self.taken)

    def _undoing(self, sub: etree._Element, activity: etree._Element, how: str, what: etree._Element, climb: int,
                 up: int, path: list[str]) -> etree._Element:
        """What undoes `activity`, drawn in `sub`."""
        if how == "inside":
            inner = _new(sub, "subProcess", id=_unique(f"{activity.get('id')}_compensation", self.taken),
                         name=activity.get("name"))
            self._chain(inner, list(reversed(self.compensable(activity))), climb + 1, up,
                        [*path, activity.get("id")])
            return inner
        self.used.add(id(what))
        copy = self._copy(what)
        for old in copy.findall(f"{_B}incoming") + copy.findall(f"{_B}outgoing"):
            copy.remove(old)
        copy.attrib.pop("isForCompensation", None)
        sub.append(copy)
        if how == "event sub-process":
            del copy.attrib["triggeredByEvent"]
            start = next(c for c in copy if _name(c) == "startEvent")
            start.remove(start.find(_COMPENSATE))
            for event in [c for c in copy if _name(c) in _THROWS and c.find(_COMPENSATE) is not None]:
                self._throw(event, activity, climb + 1, up, [*path, activity.get("id")])
        return copy

    def _copy(self, node: etree._Element) -> etree._Element:
        """A copy of a handler: under its own ids the first time, then under new ones."""
        copy = deepcopy(node)
        uses = self.copies.get(node.get("id") or "", 0)
        self.copies[node.get("id") or ""] = uses + 1
        if uses:
            renamed = {n.get("id"): _unique(f"{n.get('id')}_{uses + 1}", self.taken)
                       for n in copy.iter() if isinstance(n.tag, str) and n.get("id")}
            for n in copy.iter():
                if not isinstance(n.tag, str):
                    continue
                for attribute in ("id", *_REF_ATTRIBUTES):
                    if n.get(attribute) in renamed:
                        n.set(attribute, renamed[n.get(attribute)])
                if n.tag in _REF_TAGS and (n.text or "").strip() in renamed:
                    n.text = renamed[n.text.strip()]
        return copy


def prepare(root: etree._Element, filename: str, taken: set[str]) -> tuple[list[DiagramProblem], list[DiagramProblem]]:
    """Draw each compensation throw event as the handlers it runs; `(refusals, changes)`."""
    drawing = _Drawing(root, filename, taken)
    if drawing.refusals:
        return drawing.refusals, []
    try:
        drawing.draw()
    except _TooMuch:
        event = drawing.current
        assert event is not None
        return [DiagramProblem(filename, event.get("id"), said(
            "the compensation events of this file would run more than %(limit)d compensations (each throw event "
            "draws what it compensates, and a compensation event sub-process what it compensates in turn): draw "
            "fewer compensation events, or compensate less deeply", limit=MAX_DRAWN), _line(event))], []
    return [], drawing.changes


# -- running --------------------------------------------------------------------------------------------

class CompensationChoice(ExclusiveGateway):
    """The import's question: did this activity complete, and was it not compensated since? Its first way
    (the handler's) when it did, its default way when not. `extensions` says where to look."""

    def _run_hook(self, my_task: Any) -> bool:
        found = completed_runs(my_task, self.extensions)
        if found and self.extensions.get("each"):  # the last completed run, its handler then asks again
            found = [max(found, key=lambda t: (t.last_state_change, t.depth))]
        for task in found:
            task.internal_data[UNDONE] = True
        if found:
            my_task.internal_data[COMPENSATING] = {"activity": self.extensions["compensates"], "runs": len(found)}
        name = self.cond_task_specs[0][1] if found else self.default_task_spec
        my_task._sync_children([my_task.workflow.spec.get_task_spec_from_name(name)], TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


def undoing(task: Any) -> dict[str, Any] | None:
    """What a question that has just run found to compensate (the activity, how many of its runs), once."""
    if not isinstance(task.task_spec, CompensationChoice):
        return None
    return task.internal_data.pop(COMPENSATING, None)


def completed_runs(my_task: Any, how: dict[str, Any]) -> list[Any]:
    """The completed, not yet compensated runs of the activity `how` names, in the (sub)process it is in."""
    workflow = my_task.workflow
    for _ in range(int(how["climb"]) + int(how["up"])):
        workflow = workflow.parent_workflow or workflow
    top = workflow.top_workflow
    scopes = [workflow]
    for sub in how["path"]:
        scopes = [top.subprocesses[t.id] for t in _completed(top, scopes, sub) if t.id in top.subprocesses]
    return [t for t in _completed(top, scopes, how["compensates"]) if not t.internal_data.get(UNDONE)]


def _completed(top: Any, scopes: list[Any], name: str) -> list[Any]:
    """The completed tasks of the element `name` in `scopes` and the sub-processes they hold (at any depth:
    the import may have drawn the (sub)process's content as a sub-process of its own, `event_subprocesses`)."""
    workflows = list(scopes)
    for each in top.subprocesses.values():
        parent = each.parent_workflow
        while parent is not None and all(parent is not s for s in scopes) and parent is not top:
            parent = parent.parent_workflow
        if parent is not None and any(parent is s for s in scopes) and all(each is not s for s in scopes):
            workflows.append(each)
    return [t for w in workflows for t in w.tasks.values()
            if t.task_spec.name == name and t.state == TaskState.COMPLETED]


def install(spec: Any, node: etree._Element) -> None:
    """Give each gateway the import drew to ask about a compensation its question (after parsing)."""
    for gateway in node.iter(f"{_B}exclusiveGateway"):
        task_spec = spec.task_specs.get(gateway.get("id"))
        if gateway.get(COMPENSATES) is None or task_spec is None:
            continue
        task_spec.__class__ = CompensationChoice
        task_spec.extensions = {"compensates": gateway.get(COMPENSATES), "climb": int(gateway.get(CLIMB) or 0),
                                "up": int(gateway.get(UP) or 0), "path": (gateway.get(PATH) or "").split(),
                                "each": gateway.get(EACH) == "true"}
