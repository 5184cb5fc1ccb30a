"""Camunda 8's extension elements where Camunda 7 says the same with an attribute (issue 17).

Camunda 8 (Zeebe) writes in `zeebe:` elements what Camunda 7 writes in `camunda:` attributes, and its
values are FEEL after a leading `=` (else a fixed text). Before the import's modules read the tree,
`prepare` writes each as the attribute those modules read, so that one module reads one meaning:

| Camunda 8 | read as | by |
|---|---|---|
| `zeebe:calledElement processId="x"` on a call activity | `calledElement="x"` | SpiffWorkflow's call activity |
| `zeebe:script expression="=a + b" resultVariable="c"` on a script task | the script `c = a + b` | the sandbox |
| `zeebe:assignmentDefinition assignee candidateGroups candidateUsers` | `camunda:assignee`... | `camunda_user_tasks` |
| `zeebe:taskSchedule dueDate followUpDate` | `camunda:dueDate`, `camunda:followUpDate` | `camunda_user_tasks`, `camunda_process` |
| `zeebe:priorityDefinition priority` (0 to 100, 50 normal, as Camunda 7's) | `camunda:priority` | `camunda_user_tasks` |

A FEEL value is kept with its `=` and the reading module translates it (`juel.feel`). A call activity's
`propagateAllParentVariables="false"` and `propagateAllChildVariables="false"` (only the inputs pass in, only
the outputs come back, in Camunda 8) are followed: the targets of its `zeebe:input`s and `zeebe:output`s are
written as the call's `call_variables.INPUTS` and `OUTPUTS`, the only names that pass.
An execution or task listener (a job of a type, as the element starts or ends, as a user task is created,
assigned or completed) is written as Camunda 7's listener of that moment whose implementation is the job:
`camunda_listeners` draws it as a step of the path, run by the operator the type is mapped to. Camunda 8's
marker of a task its own task list runs (`zeebe:userTask`), its version tag and its properties (an
application's metadata) mean nothing to how a process runs here and are dropped. What else the file writes under `zeebe:` that no module of the import
reads is said in a warning naming the element (`unread`), never dropped in silence.
"""
from __future__ import annotations

import ast
import json
from collections.abc import Callable

from lxml import etree

from app.engine import call_variables, correlation_keys
from app.engine.camunda_user_tasks import set_properties
from app.engine.element_kinds import label
from app.engine.errors import DiagramProblem
from app.engine.juel import ExpressionRefused, feel
from app.engine.said import parts, said
from app.engine.xml import BPMN_NS, CAMUNDA_NS, ZEEBE_NS
from app.engine.xml import source_line as _line

_B, _C, _Z = f"{{{BPMN_NS}}}", f"{{{CAMUNDA_NS}}}", f"{{{ZEEBE_NS}}}"
# zeebe: elements -> the camunda: attribute each of their attributes is
_AS_CAMUNDA = {
    "assignmentDefinition": {"assignee": "assignee", "candidateGroups": "candidateGroups",
                             "candidateUsers": "candidateUsers"},
    "taskSchedule": {"dueDate": "dueDate", "followUpDate": "followUpDate"},
    "priorityDefinition": {"priority": "priority"},
}
# what means nothing to how a process runs here: Camunda 8's own task list, versions, an application's metadata
_DROPPED = frozenset({"userTask", "versionTag", "properties", "property"})
# zeebe: elements the import's modules read, each where it has its meaning
READ = frozenset({
    "taskDefinition", "ioMapping", "input", "output",  # camunda_services
    "formDefinition", "userTaskForm",  # camunda_user_tasks
    "calledDecision",  # camunda_decisions
    "loopCharacteristics",  # camunda_multi_instance
    "taskHeaders", "header",  # camunda_services: a job's headers are its operator's parameters
    "subscription",  # a message's key (`correlation_keys`)
    "executionListeners", "executionListener", "taskListeners", "taskListener",  # steps of the path (`_listeners`)
})


def _text(node: etree._Element, name: str) -> str:
    return (node.get(name) or "").strip()


def prepare(root: etree._Element, filename: str) -> tuple[list[DiagramProblem], list[DiagramProblem]]:
    """Write Camunda 8's elements as the attributes the import reads; the refusals and the changes said."""
    refusals: list[DiagramProblem] = []
    changes: list[DiagramProblem] = []
    readers: list[tuple[str, Callable[[etree._Element], tuple[str, str]]]] = [
        ("calledElement", _called_element), ("script", _script),
        ("subscription", lambda node: _subscription(root, node))]
    for name, read in readers:
        for node in list(root.iter(f"{_Z}{name}")):
            element, line = _owner(node), _line(node)  # before the reader removes it
            refusal, change = read(node)
            if refusal or change:
                (refusals if refusal else changes).append(DiagramProblem(
                    filename, element.get("id") if element is not None else None, refusal or change, line,
                    "error" if refusal else "warning"))
    refusals += [DiagramProblem(filename, element_id, reason, line) for element_id, reason, line in _listeners(root)]
    as_camunda(root)
    return refusals, changes


# Camunda 8's listener events -> Camunda 7's (an execution listener's are the same)
_LISTENER_EVENTS = {"executionListener": {}, "taskListener": {
    "creating": "create", "assigning": "assignment", "completing": "complete"}}


def _listeners(root: etree._Element) -> list[tuple[str | None, str, int | None]]:
    """Camunda 8's execution and task listeners — a job of a type, run as the element starts or ends — as Camunda
    7's listeners whose implementation is that job (`zeebe:taskDefinition` inside the listener): `camunda_listeners`
    draws each as a step of the path, run by the operator the job type is mapped to; in place. The refusals:
    (element id, reason, line) of a listener with no moment."""
    refused: list[tuple[str | None, str, int | None]] = []
    for container in list(root.iter(f"{_Z}executionListeners", f"{_Z}taskListeners")):
        holder, element = container.getparent(), _owner(container)
        if holder is None:
            continue
        at = holder.index(container)
        for node in [n for n in container if isinstance(n.tag, str)]:
            kind = etree.QName(node).localname
            if etree.QName(node).namespace != ZEEBE_NS or kind not in _LISTENER_EVENTS:
                continue
            event = _text(node, "eventType")
            why = _no_moment(kind, event, element)
            if why:
                refused.append((element.get("id") if element is not None else None, why, _line(node)))
                continue
            listener = etree.Element(f"{_C}{kind}", event=_LISTENER_EVENTS[kind].get(event, event))
            listener.sourceline = node.sourceline
            job = etree.SubElement(listener, f"{_Z}taskDefinition", type=_text(node, "type"))
            if _text(node, "retries"):
                job.set("retries", _text(node, "retries"))
            holder.insert(at, listener)
            at += 1
        _remove(container)
    return refused


def _no_moment(kind: str, event: str, element: etree._Element | None) -> str:
    """Why a Camunda 8 listener has no moment on the path, or "" when it has one."""
    if kind == "executionListener" and event not in ("start", "end"):
        return said("zeebe:executionListener on event %(event)r: an element's listener fires on start or end",
                    event=event)
    if kind == "taskListener" and (element is None or etree.QName(element).localname != "userTask"):
        return said("zeebe:taskListener on the %(element)s: a task listener belongs to a user task",
                    element=label(element) if element is not None else said("diagram"))
    if kind == "taskListener" and event not in ("creating", "assigning", "completing"):
        return said("zeebe:taskListener (%(event)s) has no moment on Loanflow's path (a task is not updated or "
                    "canceled beside it): draw the work as a step of the process, or remove it", event=event)
    return ""


def as_camunda(root: etree._Element) -> None:
    """Write a user task's assignment, schedule and priority as Camunda 7's attributes (a value the task
    already has in Camunda's words wins), and drop what means nothing here; in place."""
    for kind, attributes in _AS_CAMUNDA.items():
        for node in list(root.iter(f"{_Z}{kind}")):
            element = _owner(node)
            if element is None:
                continue
            for name, camunda in attributes.items():
                value = _text(node, name)
                if value and element.get(f"{_C}{camunda}") is None:
                    element.set(f"{_C}{camunda}", value)
            _remove(node)
    for node in list(root.iter(*(f"{_Z}{k}" for k in _DROPPED))):
        _remove(node)


def _owner(node: etree._Element) -> etree._Element | None:
    """The BPMN element whose extension elements hold `node`."""
    return next((a for a in node.iterancestors() if a.tag != f"{_B}extensionElements"
                 and etree.QName(a).namespace == BPMN_NS), None)


def _remove(node: etree._Element) -> None:
    parent = node.getparent()
    if parent is not None:
        parent.remove(node)


def _called_element(node: etree._Element) -> tuple[str, str]:
    """A call activity's zeebe:calledElement as its calledElement: (refusal, change), one of them empty."""
    call = _owner(node)
    process_id = _text(node, "processId")
    if call is None or etree.QName(call).localname != "callActivity":
        _remove(node)
        return "", said("zeebe:calledElement is read on a call activity only; here it has no meaning")
    if not process_id:
        if (call.get("calledElement") or "").strip():  # the BPMN attribute says it: nothing to read here
            _remove(node)
            return "", ""
        return said("zeebe:calledElement names no processId: name the process the call activity calls"), ""
    if process_id.startswith("="):
        try:
            literal = ast.literal_eval(feel(process_id))  # a FEEL string: the process it names
        except (ExpressionRefused, ValueError, SyntaxError):
            literal = None
        if not (isinstance(literal, str) and literal.strip()):
            return said("the call activity chooses the process it calls at run time by the expression %(called)r "
                        "(zeebe:calledElement processId); Loanflow calls one named process, known at deploy: name "
                        "it, or draw a gateway to a call activity per process", called=process_id), ""
        process_id = literal.strip()
    if not (call.get("calledElement") or "").strip():
        call.set("calledElement", process_id)
    _remove(node)
    properties: dict[str, str] = {}
    passes: list[str] = []
    for attribute, mapping, prop in (("propagateAllParentVariables", "input", call_variables.INPUTS),
                                     ("propagateAllChildVariables", "output", call_variables.OUTPUTS)):
        if (node.get(attribute) or "").strip() != "false":
            continue
        names = _targets(call, mapping)
        properties[prop] = json.dumps(names)
        shown = ", ".join(names) or said("nothing")
        if mapping == "input":
            passes.append(said("propagateAllParentVariables=\"false\": only its inputs pass in (%(names)s)",
                               names=shown))
        else:
            passes.append(said("propagateAllChildVariables=\"false\": only its outputs come back (%(names)s)",
                               names=shown))
    if properties:
        set_properties(call, properties)
        return "", said("zeebe:calledElement: the call activity calls the process %(process)r, the latest version "
                        "deployed when the call starts; %(passes)s", process=process_id, passes=parts(passes, "; "))
    return "", said("zeebe:calledElement: the call activity calls the process %(process)r, the latest version "
                    "deployed when the call starts", process=process_id)


def _targets(call: etree._Element, mapping: str) -> list[str]:
    """The variables a call's zeebe:input or zeebe:output mappings set (a path's first name), in order, each once."""
    return list(dict.fromkeys(
        (each.get("target") or "").strip().split(".")[0] for each in call.iter(f"{_Z}{mapping}")
        if etree.QName(each.getparent()).localname == "ioMapping" and (each.get("target") or "").strip()))


def _script(node: etree._Element) -> tuple[str, str]:
    """A script task's zeebe:script (a FEEL expression and the variable that keeps its value) as a Python
    script setting that variable: (refusal, change), one of them empty."""
    task = _owner(node)
    expression, result = _text(node, "expression"), _text(node, "resultVariable")
    if task is None or etree.QName(task).localname != "scriptTask":
        _remove(node)
        return "", said("zeebe:script is read on a script task only; here it has no meaning")
    if not expression:
        return said("zeebe:script has no expression: write the FEEL expression whose value the task keeps"), ""
    if not (result.isidentifier() and not result.startswith("_")):
        return said("zeebe:script keeps its value in %(result)r, which is no variable name: name the "
                    "resultVariable", result=result), ""
    try:
        python = feel(expression)
    except ExpressionRefused as exc:
        return said("zeebe:script %(expression)r cannot run: %(why)s", expression=expression, why=exc.reason), ""
    script = task.find(f"{_B}script")
    if script is not None and (script.text or "").strip():
        return said("the script task has both a script and a zeebe:script: keep one"), ""
    if script is None:
        script = etree.SubElement(task, f"{_B}script")
    script.text = f"{result} = {python}"
    task.set("scriptFormat", "python")
    _remove(node)
    return "", said("zeebe:script %(expression)r is FEEL; the task runs %(python)r", expression=expression,
                    python=script.text)


_CATCHING = frozenset({"intermediateCatchEvent", "boundaryEvent"})


def _subscription(root: etree._Element, node: etree._Element) -> tuple[str, str]:
    """A message's zeebe:subscription: the key each event and receive task that catches it is found by, written
    on them as the `correlationKey` property (`correlation_keys`); (refusal, change), both empty when no such
    element catches it (a message start event starts an instance under the key the message is sent with)."""
    message = _owner(node)
    key = _text(node, "correlationKey")
    _remove(node)
    if message is None or etree.QName(message).localname != "message" or not key:
        return "", ""
    try:
        python = feel(key) if key.startswith("=") else repr(key)
    except ExpressionRefused as exc:
        return said("zeebe:subscription correlationKey %(key)r cannot run: %(why)s", key=key, why=exc.reason), ""
    message_id = message.get("id")
    catching = [d.getparent() for d in root.iter(f"{_B}messageEventDefinition")
                if d.get("messageRef") == message_id and etree.QName(d.getparent()).localname in _CATCHING]
    catching += [t for t in root.iter(f"{_B}receiveTask") if t.get("messageRef") == message_id]
    for element in catching:
        set_properties(element, {correlation_keys.PROPERTY: python})
    if not catching:
        return "", ""
    return "", said("zeebe:subscription correlationKey %(key)r: an event waiting for the message %(name)r is found by "
                    "the value of %(python)s when it starts to wait; send the message with that value as its "
                    "correlation key", key=key, name=message.get("name") or message_id, python=python)


def unread(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """A warning for each zeebe: element no module of the import read (they are read before this is asked)."""
    found = []
    for node in root.iter(f"{_Z}*"):
        name = etree.QName(node).localname
        if name in READ or name in _DROPPED:
            continue
        element = _owner(node)
        found.append(DiagramProblem(filename, element.get("id") if element is not None else None, said(
            "zeebe:%(name)s on the %(element)s is not read: Loanflow does not know it, and runs the %(element)s "
            "without it", name=name, element=label(element) if element is not None else said("diagram")),
            _line(node), "warning"))
    return found


__all__ = ["READ", "as_camunda", "prepare", "unread"]
