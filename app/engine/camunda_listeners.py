"""Camunda listeners in the import layer: code Camunda runs when an element starts or ends, or a flow is taken.

Camunda 7 runs an execution listener (`camunda:executionListener`, on a flow node, a sequence flow or
the process) and a task listener (`camunda:taskListener`, on a user task) beside the element it is
drawn on. Loanflow runs no code beside an element; left as it was, what the listener did (set a
variable, send a notice, call a system) would silently not happen, and the instance would report a
run that did not do what its diagram says. So `prepare` draws each listener as a step of the path, at
the moment it fires, each change a warning naming it:

| the listener | fires | the import draws |
|---|---|---|
| `start` on an activity or an intermediate event; a task listener `create` or `assignment` | before it | a step before it |
| `start` on a gateway one path reaches, or on an exclusive gateway | as a path reaches it | a step before it |
| `end` on an activity or an intermediate event; a task listener `complete` | after it | a step after it |
| `start` or `end` on a start or boundary event | when the event happens | a step after it |
| `start` or `end` on an end event | when the path ends | a step before it |
| `take` on a sequence flow | as the flow is taken | a step on the flow |
| `start` on the process | when an instance starts | a step after each start event of the process |
| `end` on the process | when the instance ends | a step before its end event (one end event, and no parallel split) |
| `start` or `end` on an event sub-process | when it starts or ends | as on the process, inside it: after its start event, before its end event |

The step is a service task carrying the listener's implementation (`camunda:class`, `expression`,
`delegateExpression`, or a Camunda 8 listener's job type, which `zeebe_elements` writes as such a listener), which the operator mapping table maps to one of Loanflow's operators as it
does a service task's (`camunda_services.rewrite`, after this); a listener's `camunda:script` in
Python becomes a script task. What has no such meaning is refused by the strict check (`problems`:
the file parses, as SpiffWorkflow parses it, and is never deployed so), naming the element: a script in
another language or kept in a file, a listener on a gateway but a `start` listener where one path reaches
it or on an exclusive gateway (drawn before it; Loanflow runs no code at a gateway: a join's `start` and
any `end`, which follows the gateway's choice, are refused), a `start` listener on an event an event-based gateway waits for
(the step would stand between them), a task listener on `delete`, `update` or `timeout`, a process
`start` listener with no start event or `end` listener where several paths may end, a listener that
names no implementation. The listener's
`camunda:field` values are not passed to the operator (the warning names them): the mapping's
parameters give what the operator needs.
"""
from __future__ import annotations

from lxml import etree

from app.engine import path_steps
from app.engine.camunda_services import restored, stored
from app.engine.errors import DiagramProblem
from app.engine.implicit_flow import ACTIVITIES, GATEWAYS
from app.engine.said import said
from app.engine.service_implementations import CAMUNDA_NS
from app.engine.xml import BPMN_NS, ZEEBE_NS
from app.engine.xml import source_line as _line
from app.engine.xml import unique_id as _unique

_B, _C, _Z = f"{{{BPMN_NS}}}", f"{{{CAMUNDA_NS}}}", f"{{{ZEEBE_NS}}}"
_REFUSED = f"{_C}listenerRefused"  # on an element whose listener has no place on the path: the reasons (`stored`)
_KINDS = ("class", "expression", "delegateExpression")
PYTHON = frozenset({"python", "text/x-python", "application/x-python", "py"})
_SCOPES = ("process", "subProcess", "transaction", "adHocSubProcess")


class _Refused(Exception):
    pass


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _named(listener: etree._Element) -> str:
    """How a reason names the listener: as its diagram wrote it (Camunda 8's carries its job, `zeebe_elements`)."""
    drawn_for = "zeebe" if listener.find(f"{_Z}taskDefinition") is not None else "camunda"
    return f"{drawn_for}:{_local(listener)}"


def _listeners(element: etree._Element) -> list[etree._Element]:
    ext = element.find(f"{_B}extensionElements")
    if ext is None:
        return []
    return [child for child in ext if isinstance(child.tag, str) and etree.QName(child).namespace == CAMUNDA_NS
            and _local(child) in ("executionListener", "taskListener")]


def listener_implementations(root: etree._Element) -> list[tuple[str, str]]:
    """(kind, value) of every listener's implementation: keys of the operator mapping table."""
    found = []
    for listener in root.iter(f"{_C}executionListener", f"{_C}taskListener"):
        for kind in _KINDS:
            if (listener.get(kind) or "").strip():
                found.append((kind, (listener.get(kind) or "").strip()))
    for listener in root.iter(f"{_Z}executionListener", f"{_Z}taskListener"):  # Camunda 8's: a job of a type
        if (listener.get("type") or "").strip():
            found.append(("job", (listener.get("type") or "").strip()))
    return found


def _step(scope: etree._Element, listener: etree._Element, owner_id: str, event: str,
          taken: set[str]) -> tuple[etree._Element, str]:
    """The service (or script) task that runs the listener, and how the warning names the listener."""
    step_id = _unique(f"Listener_{owner_id}_{event}", taken)
    implementation = next(((k, (listener.get(k) or "").strip()) for k in _KINDS if (listener.get(k) or "").strip()),
                          None)
    script = next((c for c in listener if _local(c) == "script"), None)
    job = next((c for c in listener if c.tag == f"{_Z}taskDefinition"), None)  # Camunda 8's (`zeebe_elements`)
    named = f"{_named(listener)} ({event})"  # the listener and its event: data
    what: str = named
    if job is not None:  # a job of a type: a service task the operator mapping table maps, as a job task's
        step = etree.SubElement(scope, f"{_B}serviceTask", id=step_id, name=f"{_local(listener)} {event}")
        etree.SubElement(step, f"{_B}extensionElements").append(job)
        what = f"{named} job {job.get('type')!r}"
    elif implementation is not None:
        step = etree.SubElement(scope, f"{_B}serviceTask", id=step_id, name=f"{_local(listener)} {event}")
        step.set(f"{_C}{implementation[0]}", implementation[1])
        what = f"{named} camunda:{implementation[0]} {implementation[1]!r}"
    elif script is not None:
        language = (script.get("scriptFormat") or "").strip()
        if script.get("resource"):
            raise _Refused(said("%(listener)s: its script is kept in a file (%(resource)s), which is never read: "
                                "write it in the diagram, in Python, or map the step as a service task",
                                listener=named, resource=script.get("resource")))
        if language.lower() not in PYTHON:
            raise _Refused(said("%(listener)s: its script is written in %(language)s; Loanflow runs only Python "
                                "scripts and will not run this one as Python: rewrite it in Python", listener=named,
                                language=language or said("no language it names")))
        step = etree.SubElement(scope, f"{_B}scriptTask", id=step_id, name=f"{_local(listener)} {event}")
        etree.SubElement(step, f"{_B}script").text = script.text or ""
        what = said("%(listener)s (a Python script)", listener=named)
    else:
        raise _Refused(said("%(listener)s names no implementation (no class, expression, delegateExpression or "
                            "script): say what it runs, or remove it", listener=named))
    fields = [f.get("name") or "?" for f in listener if _local(f) == "field"]
    if fields:
        what = said("%(listener)s; its camunda:field values (%(fields)s) are not passed: give them as the mapping's "
                    "parameters", listener=what, fields=", ".join(fields))
    return step, what


def _moment(kind: str, listener: etree._Element, event: str, incoming: int) -> str:
    """"before", "after" or "on" (a flow), for a listener on an element of that kind (`incoming` flows reach
    it); `_Refused` otherwise."""
    task_listener = _local(listener) == "taskListener"
    if kind == "sequenceFlow":
        return "on"
    if kind in GATEWAYS:
        # a gateway starts as each path reaches it: a step before it, where one path does (or each path
        # passes through it, an exclusive merge); a join waits for several, and its end follows its choice
        if event == "start" and (incoming <= 1 or kind == "exclusiveGateway"):
            return "before"
        raise _Refused(said("%(listener)s (%(event)s) on a gateway: Loanflow runs no code at a gateway; "
                            "draw the step as a service task before or after it", listener=_named(listener),
                            event=event))
    if task_listener:
        if event in ("create", "assignment"):
            return "before"
        if event == "complete":
            return "after"
        raise _Refused(said("camunda:taskListener (%(event)s) has no moment on Loanflow's path (a task is not "
                            "deleted, updated or timed out beside it): draw the work as a step of the process, or "
                            "remove it", event=event))
    if kind in ("startEvent", "boundaryEvent"):
        return "after"
    if kind == "endEvent":
        return "before"
    if event in ("start", "end"):
        return "before" if event == "start" else "after"
    raise _Refused(said("camunda:executionListener on event %(event)r: an element's listener fires on start or end",
                        event=event))


def _on_element(scope: etree._Element, element: etree._Element, filename: str,
                taken: set[str]) -> list[DiagramProblem]:
    changes: list[DiagramProblem] = []
    listeners = _listeners(element)
    if not listeners:
        return changes
    kind, owner = _local(element), element.get("id") or "element"
    kinds = {c.get("id"): _local(c) for c in scope if c.get("id")}
    incoming = [f for f in path_steps.flows(scope) if f.get("targetRef") == owner]
    after_event_gateway = any(kinds.get(f.get("sourceRef")) == "eventBasedGateway" for f in incoming)
    placed: list[tuple[str, etree._Element, str]] = []
    for listener in listeners:
        event = (listener.get("event") or ("take" if kind == "sequenceFlow" else "")).strip()
        try:
            moment = _moment(kind, listener, event, len(incoming))
            if moment == "before" and after_event_gateway:
                raise _Refused(said("%(listener)s (%(event)s) on an event an event-based gateway waits for: "
                                    "a step before it would stand between the gateway and its event; do the work "
                                    "after the event", listener=_named(listener), event=event))
            step, what = _step(scope, listener, owner, event or "start", taken)
        except _Refused as exc:
            _refuse(element, exc.args[0])
            continue
        placed.append((moment, step, what))
    for moment, step, _what in placed:
        if moment == "on":
            path_steps.on_flow(scope, element, step, taken)
        elif moment == "before":
            path_steps.before(scope, owner, step, taken)
    # after the element: a task listener's complete first, then the execution listeners' end (as Camunda fires them)
    afters = sorted((step for moment, step, _what in placed if moment == "after"),
                    key=lambda step: not (step.get("name") or "").startswith("taskListener"))
    for step in reversed(afters):
        path_steps.after(scope, element, step, taken)
    for moment, step, what in placed:
        changes.append(DiagramProblem(filename, owner, _placed(moment, what, step.get("id")), _line(element),
                                      "warning"))
    for listener in listeners:
        listener.getparent().remove(listener)
    return changes


def _placed(moment: str, what: str, step: str | None) -> str:
    """The warning for a listener drawn as a step at `moment` ("before", "after" or "on" its flow)."""
    if moment == "before":
        return said("%(listener)s runs as the step %(step)s the import drew before it (as Camunda runs it beside the "
                    "element)", listener=what, step=step)
    if moment == "after":
        return said("%(listener)s runs as the step %(step)s the import drew after it (as Camunda runs it beside the "
                    "element)", listener=what, step=step)
    return said("%(listener)s runs as the step %(step)s the import drew on the flow (as Camunda runs it beside the "
                "element)", listener=what, step=step)


def _on_process(process: etree._Element, filename: str, taken: set[str]) -> list[DiagramProblem]:
    """The listeners of a process, or of an event sub-process (which fire as its own start and end)."""
    changes: list[DiagramProblem] = []
    pid = process.get("id") or "process"
    scope = said("the event sub-process") if _is_event_subprocess(process) else said("the process")
    starts = [n for n in process if _local(n) == "startEvent"]
    ends = [n for n in process if _local(n) == "endEvent"]
    parallel = process.find(f".//{_B}parallelGateway") is not None or process.find(f".//{_B}inclusiveGateway") is not None
    for listener in _listeners(process):
        event = (listener.get("event") or "").strip()
        targets = starts if event == "start" else ends
        try:
            if event not in ("start", "end"):
                raise _Refused(said("camunda:executionListener on event %(event)r on %(scope)s: it fires on start "
                                    "or end", event=event, scope=scope))
            if event == "start" and not starts:
                raise _Refused(said("camunda:executionListener (start) on %(scope)s: it draws no start event for "
                                    "the step to follow; draw one", scope=scope))
            if event == "end" and (len(ends) != 1 or parallel):
                raise _Refused(said("camunda:executionListener (end) on %(scope)s: it fires once, when the last "
                                    "of its paths ends, which no single step of the diagram is here (several end "
                                    "events, or paths in parallel); draw the work as a step before the end of the "
                                    "path that ends it", scope=scope))
            for target in (reversed(targets) if event == "start" else targets):
                step, what = _step(process, listener, pid, event, taken)
                if event == "start":
                    path_steps.after(process, target, step, taken)
                else:
                    path_steps.before(process, target.get("id") or "", step, taken)
                drawn = (said("%(listener)s on %(scope)s runs as the step %(step)s the import drew after "
                              "%(target)s", listener=what, scope=scope, step=step.get("id"), target=target.get("id"))
                         if event == "start"
                         else said("%(listener)s on %(scope)s runs as the step %(step)s the import drew before "
                                   "%(target)s", listener=what, scope=scope, step=step.get("id"),
                                   target=target.get("id")))
                changes.append(DiagramProblem(filename, pid, drawn, _line(listener), "warning"))
        except _Refused as exc:
            _refuse(process, exc.args[0])
        listener.getparent().remove(listener)
    return changes


def _refuse(element: etree._Element, reason: str) -> None:
    """Note on the element why one of its listeners cannot run, for the strict check (`problems`): the
    file still parses, as SpiffWorkflow parses it, and is never deployed so."""
    noted, kept = element.get(_REFUSED), stored(reason)  # one reason a line (`stored` writes no line break)
    element.set(_REFUSED, f"{noted}\n{kept}" if noted else kept)


def prepare(root: etree._Element, filename: str, taken: set[str]) -> list[DiagramProblem]:
    """Draw every listener as a step of the path (see the module); the changes, as warnings (what has no
    place on the path is noted on its element for `problems`)."""
    changes: list[DiagramProblem] = []
    for scope in list(root.iter(*(f"{_B}{s}" for s in _SCOPES))):
        for element in list(scope):
            kind = _local(element)
            if _is_event_subprocess(element):
                continue  # on no path: its listeners fire as its own start and end (below, as a process's)
            if kind in ACTIVITIES or kind in GATEWAYS or kind == "sequenceFlow" or kind.endswith("Event"):
                changes += _on_element(scope, element, filename, taken)
    for process in root.iter(f"{_B}process"):
        changes += _on_process(process, filename, taken)
    for event_subprocess in [n for n in root.iter(f"{_B}subProcess") if _is_event_subprocess(n)]:
        changes += _on_process(event_subprocess, filename, taken)
    return changes


def _is_event_subprocess(element: etree._Element) -> bool:
    return _local(element) == "subProcess" and element.get("triggeredByEvent") == "true"


def problems(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """The strict check's errors: each listener that has no place on the path, naming its element."""
    return [DiagramProblem(filename, node.get("id"), reason, _line(node))
            for node in process.iter() if isinstance(node.tag, str) and node.get(_REFUSED)
            for kept in (node.get(_REFUSED) or "").split("\n") for reason in _lines(restored(kept))]


def _lines(reason: str) -> list[str]:
    """A reason, one problem a line (a name with a line break in it breaks it, as it always did)."""
    return str(reason).split("\n") if "\n" in reason else [reason]
