"""The import layer: what a BPMN file drawn in another tool needs before SpiffWorkflow reads it.

SpiffWorkflow indexes a process's elements by their `id` and silently skips any element without
one, so a sequence flow without an id disappears and the cut graph ends early — a completion that
never happened. This module looks at the XML tree first and either repairs what has one safe
meaning (a flow without an id gets a generated one; a message event without a message, joined to
another by a message flow, is given the message that flow carries; a condition or timer written in
JUEL, FEEL, bare ISO 8601 or cron becomes the Python expression it means, `translate`; BPMN's implicit
starts, ends and splits are drawn, `implicit_flow`; a link event becomes the flow it stands for,
`event_definitions`) or says what will not run:

- `prepare(root, filename, operators)` changes the tree in place and returns `(refusals, changes)`; a refusal
  stops the file, a change is a warning the analyst reads ("what the import layer changed").
- `process_problems(node, filename)` are errors about one process that the strict check
  (`lint_bundle`, run by `processes validate` and every deploy) reports element by element:
  conditions and timers in another language that `translate` refuses (those it translates were
  rewritten by `prepare`, each change a warning), scripts in a language other than Python (never
  run as Python), message events nothing can send or catch, a wait for a condition that nothing
  would check, a gateway without an outgoing flow (and, as a warning, a path that stops without an
  end event where its (sub)process has end events elsewhere, `implicit_flow.dead_ends`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from lxml import etree

from app.engine import (
    camunda_dates,
    camunda_decisions,
    camunda_listeners,
    camunda_multi_instance,
    camunda_process,
    camunda_refs,
    camunda_retries,
    camunda_services,
    camunda_user_tasks,
    caught_errors,
    compensation,
    conditional_waits,
    data_stores,
    event_definitions,
    event_subprocesses,
    implicit_flow,
    references,
    reserved_ids,
    service_implementations,
    translate,
    vendor_namespaces,
    zeebe_elements,
)
from app.engine.element_kinds import label
from app.engine.errors import DiagramProblem
from app.engine.juel import is_juel
from app.engine.said import said
from app.engine.xml import BPMN_NS
from app.engine.xml import source_line as _line
from app.engine.xml import unique_id as _unique

_B = f"{{{BPMN_NS}}}"
PYTHON_SCRIPT_FORMATS = frozenset({"python", "text/x-python", "application/x-python", "py"})
_MESSAGE_EVENTS = ("startEvent", "intermediateCatchEvent", "boundaryEvent", "intermediateThrowEvent", "endEvent")


def prepare(root: etree._Element, filename: str, operators: camunda_services.OperatorMap | None = None,
            groups: camunda_user_tasks.GroupMap | None = None) -> tuple[list[DiagramProblem], list[DiagramProblem]]:
    """Repair what has one meaning, refuse what cannot be deployed; see the module's docstring."""
    vendors = [DiagramProblem(filename, None, said(
        "the file's %(vendor)s extensions are read as Camunda 7's, which kept their names and meaning; the warnings "
        "name them as Camunda does (%(prefix)s:assignee is camunda:assignee)", vendor=vendor, prefix=vendor.lower()),
        None, "warning") for vendor in vendor_namespaces.as_camunda(root)]
    camunda_7 = camunda_services.drawn_for_camunda_7(root)  # before any module reads (and removes) an extension
    zeebe_refusals, zeebe_changes = zeebe_elements.prepare(root, filename)  # Camunda 8's, as Camunda 7's attributes
    renames = [DiagramProblem(filename, new, said(
        "the %(kind)s's id %(old)r is a name SpiffWorkflow keeps for itself; it runs as %(new)r", kind=label(node),
        old=old, new=new), _line(node), "warning") for node, old, new in reserved_ids.renamed(root)]
    renames += camunda_refs.prepare(root, filename)  # references as Camunda resolves them
    found = renames + references.file_problems(root, filename)
    refusals = [p for p in found if p.severity == "error"]
    if refusals:  # what the file names and does not hold: nothing below can read it safely
        return refusals, []
    changes: list[DiagramProblem] = [p for p in found if p.severity != "error"] + zeebe_changes
    refusals += zeebe_refusals
    taken = {i for i in root.xpath("//@id")}
    for process in root.iter(f"{_B}process"):
        if not (process.get("id") or "").strip():
            refusal = (said("the process %(name)r has no id: give it one to deploy it", name=process.get("name"))
                       if process.get("name") else said("the process has no id: give it one to deploy it"))
            refusals.append(DiagramProblem(filename, None, refusal, _line(process)))
    for gateway in root.iter(f"{_B}complexGateway"):  # SpiffWorkflow: "no support implemented for this task type"
        process = next(gateway.iterancestors(f"{_B}process"), None)
        if process is not None and process.get("isExecutable", "true") == "true":
            refusals.append(DiagramProblem(filename, gateway.get("id"), said(
                "a complex gateway cannot run: its activation rule has no meaning in Loanflow (nor in Camunda 7); "
                "draw an inclusive gateway, whose conditions choose the ways taken, or a parallel one"),
                _line(gateway)))
    refusals += _cmmn_cases(root, filename)
    for event in root.iter(f"{_B}boundaryEvent"):  # SpiffWorkflow: "Unsupported Catch Event: " and the XML
        if not any(isinstance(c.tag, str) and etree.QName(c).localname.endswith(("EventDefinition", "eventDefinitionRef"))
                   for c in event):
            refusals.append(DiagramProblem(filename, event.get("id"), said(
                "the boundary event has no event definition: it waits for nothing on its activity; give it the "
                "timer, message, signal, error, escalation or condition it catches, or remove it"), _line(event)))
    for flow in root.iter(f"{_B}sequenceFlow"):
        if (flow.get("id") or "").strip():
            continue
        source, target = flow.get("sourceRef") or "start", flow.get("targetRef") or "end"
        flow_id = _unique(f"Flow_{source}_{target}", taken)
        flow.set("id", flow_id)
        changes.append(DiagramProblem(
            filename, flow_id, said("sequence flow from %(source)s to %(target)s had no id; the import gave it id "
                                    "%(id)s", source=source, target=target, id=flow_id),
            _line(flow), "warning"))
    for node in root.iter(*(f"{_B}{kind}" for kind in references.FLOW_NODES)):
        if (node.get("id") or "").strip():
            continue  # an element without an id, which SpiffWorkflow would skip; no flow can name it
        kind = etree.QName(node).localname
        node_id = _unique(f"{kind[0].upper()}{kind[1:]}_{_line(node) or 'noid'}", taken)
        node.set("id", node_id)
        changes.append(DiagramProblem(
            filename, node_id, said("the %(kind)s had no id (no flow can reach it); the import gave it id %(id)s",
                                    kind=label(node), id=node_id), _line(node), "warning"))
    changes += _name_messages_by_their_flows(root, filename, taken)
    changes += _unnamed_messages_as_camunda_runs_them(root, filename, taken)
    stores_refused, stores_changed = data_stores.prepare(root, filename)  # data stores and data associations
    refusals += stores_refused
    changes += stores_changed
    changes += _relative_timer_dates(root, filename)
    changes += _translate_expressions(root, filename)
    event_refusals, event_changes = event_definitions.prepare(root, filename, taken)  # link events
    refusals += event_refusals
    changes += event_changes
    compensation_refusals, compensation_changes = compensation.prepare(root, filename, taken)  # undoing
    refusals += compensation_refusals
    changes += compensation_changes
    changes += camunda_listeners.prepare(root, filename, taken)  # listeners as steps of the path
    changes += implicit_flow.prepare(root, filename, taken)  # BPMN's implicit starts, ends and splits
    changes += event_subprocesses.prepare(root, filename, taken)  # as boundary events on the rest of their scope
    changes += camunda_services.rewrite(root, filename, operators, camunda_7)  # services, inputOutput, calls
    changes += camunda_retries.prepare(root, filename)  # after the services: a service's retry cycle
    changes += camunda_multi_instance.prepare(root, filename)  # after inputOutput: each instance drops its item last
    changes += camunda_user_tasks.prepare(root, filename, groups)  # assignment and forms
    changes += caught_errors.prepare(root, filename)  # where a caught error's code and message go
    changes += camunda_process.prepare(root, filename)  # the initiator; every camunda: attribute nothing reads
    decision_refusals, decision_changes = camunda_decisions.prepare(root, filename)  # camunda:decisionRef
    refusals += decision_refusals
    changes += decision_changes
    changes += zeebe_elements.unread(root, filename)  # after every module has read what it reads
    return refusals, changes + vendors  # said last: the changes above say what it meant, element by element


def _cmmn_cases(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Each call activity of an executable process that starts a CMMN case (Camunda 7's `camunda:caseRef`)
    instead of a process: before, SpiffWorkflow's "No calledElement attribute" said only what was missing; and
    each that chooses its process at run time (`calledElement="${name}"`): it passed the check, and a deploy
    said no process of that name (the expression) was deployed."""
    found = []
    for call in root.iter(f"{_B}callActivity"):
        process = next(call.iterancestors(f"{_B}process"), None)
        if process is None or process.get("isExecutable", "true") != "true":
            continue
        called = (call.get("calledElement") or "").strip()
        if is_juel(called):
            found.append(DiagramProblem(filename, call.get("id"), said(
                "the call activity chooses the process it calls at run time by the expression %(called)r "
                "(calledElement); Loanflow calls one named process, known at deploy: name it, or draw a gateway to "
                "a call activity per process", called=called), _line(call)))
            continue
        case = service_implementations.camunda_attribute(call, "caseRef")
        if case is None or called:
            continue
        found.append(DiagramProblem(filename, call.get("id"), said(
            "the call activity starts the CMMN case %(case)r (camunda:caseRef); Loanflow runs BPMN processes and DMN "
            "decisions, not CMMN cases: draw the case as a BPMN process and call it by its id (calledElement)",
            case=case), _line(call)))
    return found


_TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")


def _expressions(scope: etree._Element) -> Iterator[tuple[etree._Element, str | None, str,
                                                             Callable[[], translate.Translation | None]]]:
    """The conditions and timer values under `scope`: (node, element id, what it is, its translation)."""
    for flow in scope.iter(f"{_B}sequenceFlow"):
        for node in flow.findall(f"{_B}conditionExpression"):
            yield node, flow.get("id"), said("condition"), partial(translate.condition, node.text, node.get("language"))
    for definition in scope.iter(f"{_B}conditionalEventDefinition"):
        owner = definition.getparent()
        for node in definition.findall(f"{_B}condition"):
            yield (node, owner.get("id") if owner is not None else None, said("condition"),
                   partial(translate.condition, node.text, node.get("language")))
    for definition in scope.iter(f"{_B}timerEventDefinition"):
        owner = definition.getparent()
        for kind in _TIMER_KINDS:
            for node in definition.findall(f"{_B}{kind}"):
                yield (node, owner.get("id") if owner is not None else None, said("timer %(kind)s", kind=kind),
                       partial(translate.timer, kind, node.text))


def _relative_timer_dates(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """A timer's date written as Camunda's `${dateTime().plusDays(1).toDate()}` is that long after the timer
    starts: the import writes it as the timeDuration it means (`camunda_dates`), and says so."""
    changes = []
    for node in root.iter(f"{_B}timeDate"):
        duration = camunda_dates.offset(node.text)
        if duration is None:
            continue
        owner = node.getparent().getparent() if node.getparent() is not None else None
        before = (node.text or "").strip()
        node.tag = f"{_B}timeDuration"
        node.text = repr(duration)
        node.attrib.pop("language", None)
        changes.append(DiagramProblem(filename, owner.get("id") if owner is not None else None, said(
            "the timer timeDate %(before)r is a moment %(duration)s after the timer starts (Camunda's dateTime()); the "
            "import runs it as the timeDuration '%(duration)s'", before=before, duration=duration), _line(node),
            "warning"))
    return changes


def _translate_expressions(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Conditions and timers written in JUEL, FEEL, bare ISO 8601 or cron, rewritten as the Python
    expressions the sandbox runs (`translate`); each change is said. A refused one is left as it is
    and reported by `process_problems`."""
    changes: list[DiagramProblem] = []
    for node, element_id, what, translation in _expressions(root):
        try:
            done = translation()
        except translate.ExpressionRefused:
            continue
        if done is None:
            continue
        before = (node.text or "").strip()
        node.text = done.python
        node.attrib.pop("language", None)  # the text is Python now
        change = (said("the %(what)s %(before)r is %(language)s; the import runs it as %(python)r; %(note)s",
                       what=what, before=before, language=done.language, python=done.python, note=done.note)
                  if done.note else
                  said("the %(what)s %(before)r is %(language)s; the import runs it as %(python)r",
                       what=what, before=before, language=done.language, python=done.python))
        changes.append(DiagramProblem(filename, element_id, change, _line(node), "warning"))
    return changes


def _name_messages_by_their_flows(root: etree._Element, filename: str, taken: set[str]) -> list[DiagramProblem]:
    """A message event without a message whose message flow joins it to another gets a message named
    after that flow, on both ends: the flow is what the diagram's author meant them to exchange."""
    changes: list[DiagramProblem] = []
    by_id = {node.get("id"): node for node in root.iter() if isinstance(node.tag, str) and node.get("id")}
    for flow in root.iter(f"{_B}messageFlow"):
        ends = [by_id.get(flow.get("sourceRef")), by_id.get(flow.get("targetRef"))]
        unnamed = [d for end in ends if end is not None for d in end.findall(f"{_B}messageEventDefinition")
                   if not d.get("messageRef")]
        if not unnamed:
            continue
        message_id = _unique(f"Message_{flow.get('id') or 'flow'}", taken)
        message = etree.Element(f"{_B}message", id=message_id, name=flow.get("name") or flow.get("id") or message_id)
        root.insert(0, message)
        for definition in unnamed:
            definition.set("messageRef", message_id)
            owner = definition.getparent()
            changes.append(DiagramProblem(
                filename, owner.get("id") if owner is not None else None,
                said("message event had no message; the import gave it %(message)r, the message flow %(flow)s "
                     "carries", message=message.get("name"), flow=flow.get("id")), _line(definition), "warning"))
    return changes


def _unnamed_messages_as_camunda_runs_them(root: etree._Element, filename: str, taken: set[str]) -> list[DiagramProblem]:
    """What Camunda 7 runs of a message that names none (and no message flow names): a receive task waits until
    its execution is triggered — here its message, named after the task, sent with the instance's business key
    (`POST /api/v1/messages`); a throwing message event without an implementation passes on as a none event.
    A catching message event without a message stays refused, as Camunda 7 refuses it."""
    changes: list[DiagramProblem] = []
    for task in root.iter(f"{_B}receiveTask"):
        if task.get("messageRef") or not (task.get("id") or "").strip():
            continue
        message_id = _unique(f"Message_{task.get('id')}", taken)
        root.insert(0, etree.Element(f"{_B}message", id=message_id, name=task.get("id")))
        task.set("messageRef", message_id)
        changes.append(DiagramProblem(filename, task.get("id"), said(
            "the receive task names no message; as in Camunda 7 it waits until it is triggered: the import named its "
            "message %(message)r after the task, which continues it when sent with the instance's business key",
            message=task.get("id")), _line(task), "warning"))
    for kind in ("intermediateThrowEvent", "endEvent"):
        for event in root.iter(f"{_B}{kind}"):
            unnamed = [d for d in event.findall(f"{_B}messageEventDefinition") if not d.get("messageRef")]
            if not unnamed or service_implementations.attribute_implementation(unnamed[0]) is not None \
                    or service_implementations.task_definition(event) is not None:
                continue  # a message it throws, or one a service sends (`camunda_services`)
            for definition in unnamed:
                event.remove(definition)
            changes.append(DiagramProblem(filename, event.get("id"), said(
                "the message event throws no message (it names none and has no implementation); it passes on as a "
                "none event, as Camunda 7 runs it"), _line(event), "warning"))
    return changes


def process_problems(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """Errors about one process (its embedded subprocesses included) for the strict check."""
    problems: list[DiagramProblem] = camunda_services.problems(process, filename)
    problems += camunda_multi_instance.problems(process, filename)
    for task in process.iter(f"{_B}scriptTask"):
        language = (task.get("scriptFormat") or "").strip()
        if language and language.lower() not in PYTHON_SCRIPT_FORMATS:
            problems.append(DiagramProblem(
                filename, task.get("id"), said("the script is written in %(language)s; Loanflow runs only Python "
                                               "scripts and will not run this one as Python: rewrite it in Python",
                                               language=language), _line(task)))
        elif not "".join(task.xpath("./*[local-name()='script']//text()")).strip():
            outside = next((v for k, v in task.attrib.items() if k.endswith("}resource")), None)
            reason = (said("the script is kept outside the diagram (%(resource)s), which is never read: write it in "
                           "the task", resource=outside)
                      if outside else said("the script task has no script: write one, or make it a task that does "
                                           "nothing"))
            problems.append(DiagramProblem(filename, task.get("id"), reason, _line(task)))
    for kind in _MESSAGE_EVENTS:
        for event in process.iter(f"{_B}{kind}"):
            if any(not d.get("messageRef") for d in event.findall(f"{_B}messageEventDefinition")):
                problems.append(DiagramProblem(
                    filename, event.get("id"), said("the message event names no message: nothing can send it a "
                                                    "message to catch, and a message it throws reaches no one; choose "
                                                    "a message"), _line(event)))
    for kind in _MESSAGE_EVENTS:
        for event in process.iter(f"{_B}{kind}"):
            if any(not d.get("signalRef") for d in event.findall(f"{_B}signalEventDefinition")):
                problems.append(DiagramProblem(
                    filename, event.get("id"), said("the signal event names no signal: nothing can send it a "
                                                    "signal to catch, and a signal it throws reaches no one; choose "
                                                    "a signal"), _line(event)))
    problems += conditional_waits.problems(process, filename)  # a wait on a condition nothing can make true
    for node in process.iter(f"{_B}adHocSubProcess"):  # SpiffWorkflow 3.2 failed on it with an AttributeError
        problems.append(DiagramProblem(filename, node.get("id"), said(
            "the ad-hoc sub-process cannot run: in it a person picks which activities to do, in any order, until it "
            "is complete, and Loanflow has no page for that; draw its activities on sequence flows in a "
            "sub-process (after a parallel or inclusive gateway for those done in any order)"), _line(node)))
    for node, element_id, what, translation in _expressions(process):
        try:
            translation()
        except translate.ExpressionRefused as exc:
            problems.append(DiagramProblem(
                filename, element_id, said("the %(what)s %(expression)r cannot run: %(why)s", what=what,
                                           expression=(node.text or "").strip(), why=exc.reason),
                _line(node)))
    problems += implicit_flow.dead_ends(process, filename)
    problems += camunda_user_tasks.problems(process, filename)
    problems += camunda_listeners.problems(process, filename)
    problems += _unheard_messages(process, filename)
    problems += event_subprocesses.problems(process, filename)  # those the import could not draw
    return problems


def _unheard_messages(process: etree._Element, filename: str) -> list[DiagramProblem]:
    """A warning for each message the process sends that no event of its file catches (a receive task, a
    catch or boundary event, a message start event of any of its pools): the message goes to the
    instances of the same business key, and only a process deployed from another file can take it. A
    process that calls others is left alone (they may catch it)."""
    if next(process.iter(f"{_B}callActivity"), None) is not None:
        return []
    root = process.getroottree().getroot()
    sent: list[tuple[etree._Element, str]] = [(task, task.get("messageRef") or "")
                                              for task in process.iter(f"{_B}sendTask")]
    for kind in ("intermediateThrowEvent", "endEvent"):
        for event in process.iter(f"{_B}{kind}"):
            sent += [(event, d.get("messageRef") or "") for d in event.findall(f"{_B}messageEventDefinition")]
    caught = {task.get("messageRef") for task in root.iter(f"{_B}receiveTask")}
    for kind in ("startEvent", "intermediateCatchEvent", "boundaryEvent"):
        for event in root.iter(f"{_B}{kind}"):
            caught.update(d.get("messageRef") for d in event.findall(f"{_B}messageEventDefinition"))
    names = {m.get("id"): m.get("name") or m.get("id") for m in root.iter(f"{_B}message")}
    return [DiagramProblem(filename, element.get("id"),
                           said("the message %(message)r it sends is caught by no event of this file: Loanflow passes "
                                "it to the instances of the same business key, so a process deployed from another "
                                "file must wait for it or start on it; until one does, it is kept in the message "
                                "inbox", message=names.get(ref, ref)), _line(element), "warning")
            for element, ref in sent if ref and ref not in caught]

