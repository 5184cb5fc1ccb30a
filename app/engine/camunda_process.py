"""The rest of Camunda 7's attributes: the initiator variable, and every attribute nothing reads, named.

Camunda's `camunda:` attributes are read by the import's modules, each for its element (assignment and
forms `camunda_user_tasks`, services `camunda_services`, decisions `camunda_decisions`, multi-instance
`camunda_multi_instance`...). Of the others:

- `camunda:initiator="starter"` on a start event: the instance's data holds the user name of who started
  it under that name (`INITIATOR`; `instances.start` puts it in). An instance started by a message, a
  timer or the platform itself has no such user, and no such value (Camunda's is null).
- an attribute, or an extension element, that means something Loanflow does not do (`followUpDate`,
  `candidateStarterGroups`, a `failedJobRetryTimeCycle` that is not a service task's (`camunda_retries`), an
  `errorCodeVariable` that is not a caught error's (`caught_errors`)...) is said in a warning
  naming the element and what Loanflow does instead: never dropped in silence;
- an attribute about Camunda's own machinery (`historyTimeToLive`, `versionTag`, `asyncBefore`,
  `exclusive`, a job's priority...) changes nothing a process does here: Loanflow keeps every instance's
  history, versions every deploy and persists every step (`NO_MEANING_HERE`).
"""
from __future__ import annotations

from typing import Any

from lxml import etree

from app.engine import camunda_retries
from app.engine.camunda_user_tasks import set_properties
from app.engine.element_kinds import label, label_of
from app.engine.errors import DiagramProblem
from app.engine.said import Said, parts, said
from app.engine.xml import CAMUNDA_NS
from app.engine.xml import source_line as _line

INITIATOR = "initiator"  # the start event's property naming the variable

# read by the import's modules, each for its element
READ = frozenset({
    "assignee", "candidateGroups", "candidateUsers", "dueDate", "priority", "formKey",  # camunda_user_tasks
    "formRef", "formRefBinding", "formRefVersion",
    "class", "delegateExpression", "expression", "resultVariable", "topic", "type",  # camunda_services
    "decisionRef", "decisionRefBinding", "mapDecisionResult",  # camunda_decisions
    "collection", "elementVariable",  # camunda_multi_instance
    # what the import keeps on an element until the strict check reads it
    "implementationRefused", "inputOutputRefused", "listenerRefused", "multiInstanceRefused", "unmappedElement",
    "unmappedImplementation", "retryCycleNotRead",
})
_IMPLEMENTED = frozenset({"serviceTask", "sendTask", "businessRuleTask", "messageEventDefinition"})
# the elements on which Camunda 7 reads each of them (and the import with it); on another, Camunda ignores it —
# a modeler's leftover from the element's former type (a service task that was a user task keeps its assignee)
READ_ON: dict[str, frozenset[str]] = {
    **dict.fromkeys(("assignee", "candidateGroups", "candidateUsers", "dueDate", "priority"), frozenset({"userTask"})),
    **dict.fromkeys(("formKey", "formRef", "formRefBinding", "formRefVersion"), frozenset({"userTask", "startEvent"})),
    **dict.fromkeys(("class", "delegateExpression", "expression", "resultVariable", "topic", "type"), _IMPLEMENTED),
    **dict.fromkeys(("decisionRef", "decisionRefBinding", "mapDecisionResult"), frozenset({"businessRuleTask"})),
    **dict.fromkeys(("collection", "elementVariable"), frozenset({"multiInstanceLoopCharacteristics"})),
}
NO_MEANING_HERE = frozenset({
    "historyTimeToLive", "versionTag", "asyncBefore", "asyncAfter", "async", "exclusive", "jobPriority",
    "taskPriority", "diagramRelationId", "isStartableInTasklist", "modelerTemplate", "modelerTemplateVersion",
    "calledElementTenantId", "decisionRefTenantId", "caseTenantId", "formHandlerClass",
    "formFieldValidation", "inheritBusinessKey",  # Flowable's: Loanflow checks every answer; a call shares the key
    "asyncLeave", "asyncLeaveExclusive",  # Flowable's asyncAfter
})
# extension elements the import's modules read (with what they hold), or that mean nothing to an engine
# (`camunda:properties`: metadata an application reads)
READ_ELEMENTS = frozenset({
    "formData", "formField", "value", "validation", "constraint", "properties", "property",  # camunda_user_tasks
    "inputOutput", "inputParameter", "outputParameter", "list", "map", "entry", "script",  # camunda_services
    "connector", "connectorId", "field", "string", "expression",
    "in", "out", "executionListener", "taskListener",  # camunda_listeners, call activities' variables
    "jobCategory",  # Flowable's: which job executor runs an asynchronous step; every step is persisted here
})
# where each extension element a module reads has its meaning (elsewhere it is said, not dropped)
ELEMENT_READ_ON: dict[str, frozenset[str]] = {
    "formData": frozenset({"userTask", "startEvent"}), "taskListener": frozenset({"userTask"}),
    "in": frozenset({"callActivity"}), "out": frozenset({"callActivity"}),
}
_UNKNOWN = said("Loanflow does not know it")
_AS_HERE = {("calledElementBinding", "latest"), ("inheritVariables", "true"), ("inheritVariables", "false"),
            ("scope", "global")}  # as here (a call's variables: `camunda_services._call_mappings`)
_ELEMENT_INSTEAD: dict[str, Said] = {
    "mapException": said("Java exceptions do not happen here: a service task's operator fails as an incident, or "
                         "answers with a business error that an error boundary event catches by its code"),
    "failedJobRetryTimeCycle": said("only a service task's call is tried again here; when this "
                                    "element fails, that is an incident at once"),
}
_LATEST = said("a call activity calls the latest version of the called process when its instance starts (Camunda's "
               "binding 'latest'), kept for that instance's life")
_INSTEAD: dict[str, Said] = {
    "followUpDate": said("Loanflow's tasks have a due time, not a follow-up date"),
    "candidateStarterGroups": said("who may start a process is Loanflow's access policy (the roles and the products "
                                   "that offer it), not the diagram's"),
    "candidateStarterUsers": said("who may start a process is Loanflow's access policy (the roles and the products "
                                  "that offer it), not the diagram's"),
    "errorCodeVariable": said("a caught error's code is kept only by an error boundary event, in a variable named "
                              "as Python names one"),
    "errorMessageVariable": said("a caught error's message is kept only by an error boundary event, in a variable "
                                 "named as Python names one"),
    "errorMessage": said("an error's message is kept only as plain text: an expression in it is not evaluated"),
    "resource": said("a script is the diagram's own text here, never a file's"),
    "escalationCodeVariable": said("a caught escalation's code is kept only by an escalation boundary event, in a "
                                   "variable named as Python names one"),
    "calledElementBinding": _LATEST,
    "calledElementVersion": _LATEST,
    "calledElementVersionTag": _LATEST,
    "triggerable": said("a service task here ends when its operator answers; to wait for the outside world after "
                        "it, draw a receive task or a message catch event after it"),
    "scope": said("a signal here reaches every instance waiting for it"),
    "owner": said("a task here has an assignee, who works it, and no owner"),
    "skipExpression": said("a task is never skipped by an expression here: draw an exclusive gateway that goes "
                           "around it"),
    "taskCompleterVariableName": said("who completed a task is kept in its history, not in the instance's data"),
    "inheritVariables": said("only true (the called process starts with all of the calling instance's data) or "
                             "false (with what camunda:in maps) is read"),
    "variableMappingClass": said("Java classes do not run here: map the variables with camunda:in and camunda:out"),
    "variableMappingDelegateExpression": said("Java beans do not run here: map the variables with camunda:in and "
                                              "camunda:out"),
}


def _camunda_attributes(node: etree._Element) -> list[tuple[str, str]]:
    return [(etree.QName(name).localname, value) for name, value in node.attrib.items()
            if etree.QName(name).namespace == CAMUNDA_NS]


def _id(node: etree._Element) -> str | None:
    """The element's id, else its nearest ancestor's (an event definition's event)."""
    for each in (node, *node.iterancestors()):
        if each.get("id"):
            return each.get("id")
    return None


def _misplaced(node: etree._Element) -> Said | None:
    """Why an extension element the import reads means nothing where it stands (a signal's camunda:in, a
    formData on a manual task); None where it is read."""
    name = etree.QName(node).localname
    holder = node.getparent()
    owner = holder.getparent() if holder is not None and etree.QName(holder).localname == "extensionElements" else None
    if name not in ELEMENT_READ_ON or owner is None or etree.QName(owner).localname in ELEMENT_READ_ON[name]:
        return None
    if etree.QName(owner).localname == "signalEventDefinition" and name in ("in", "out"):
        return said("the extension camunda:%(element)s on the signal is not read: a signal a process throws carries "
                    "no variables to the instances it reaches here; send what they need in a message's payload",
                    element=name)
    return said("the extension camunda:%(element)s on the %(kind)s is not read: it has a meaning only on a "
                "%(kinds)s", element=name, kind=label(owner),
                kinds=parts([label_of(k) for k in sorted(ELEMENT_READ_ON[name])], " / "))


def prepare(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Write each start event's `camunda:initiator` as its property; say every attribute nothing reads."""
    changes = []
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        misplaced = _misplaced(node) if etree.QName(node).namespace == CAMUNDA_NS else None
        if misplaced is not None:
            changes.append(DiagramProblem(filename, _id(node), misplaced, _line(node), "warning"))
            continue
        if etree.QName(node).namespace == CAMUNDA_NS and etree.QName(node).localname not in READ_ELEMENTS:
            name = etree.QName(node).localname
            instead = _ELEMENT_INSTEAD.get(name, _UNKNOWN)
            if node.get(camunda_retries.NOT_READ):
                instead = said("its cycle cannot be read (%(why)s), so Loanflow's retry policy applies (two retries, "
                               "10 s and 20 s after the failure)", why=node.get(camunda_retries.NOT_READ))
            changes.append(DiagramProblem(filename, _id(node), said(
                "the extension camunda:%(element)s is not read: %(instead)s", element=name, instead=instead),
                _line(node), "warning"))
            continue
        for name, value in _camunda_attributes(node):
            if name == "initiator" and etree.QName(node).localname == "startEvent" and value.isidentifier():
                set_properties(node, {INITIATOR: value})
                changes.append(DiagramProblem(filename, node.get("id"), said(
                    "camunda:initiator '%(variable)s': the instance's data holds the user name of who started it as "
                    "%(variable)s (none when a message, a timer or the platform starts it)", variable=value),
                    _line(node), "warning"))
            elif name == "resultVariable" and etree.QName(node).localname == "scriptTask":  # Camunda keeps its value
                changes.append(DiagramProblem(filename, _id(node), said(
                    "camunda:resultVariable %(value)r on the script task is not read: a Python script returns no "
                    "value; assign the variable in the script itself", value=value), _line(node), "warning"))
            elif name in READ and etree.QName(node).localname not in READ_ON.get(name, (etree.QName(node).localname,)):
                changes.append(DiagramProblem(filename, _id(node), said(
                    "camunda:%(attribute)s %(value)r on the %(kind)s is not read: it has a meaning only on a %(kinds)s, "
                    "and Camunda 7 ignores it here too", attribute=name, value=value, kind=label(node),
                    kinds=parts([label_of(k) for k in sorted(READ_ON[name])], " / ")), _line(node), "warning"))
            elif name in READ or name in NO_MEANING_HERE or (name, value) in _AS_HERE:
                continue  # read; or no meaning here; or what Loanflow does anyway
            else:
                changes.append(DiagramProblem(filename, _id(node), said(
                    "camunda:%(attribute)s %(value)r on the %(kind)s is not read: %(instead)s", attribute=name,
                    value=value, kind=label(node), instead=_INSTEAD.get(name, _UNKNOWN)), _line(node), "warning"))
    return changes


def initiator_variable(spec: Any) -> str | None:
    """The variable a process's start event names for who started it (`camunda:initiator`), if any."""
    for task_spec in spec.task_specs.values():
        found = ((getattr(task_spec, "extensions", None) or {}).get("properties") or {}).get(INITIATOR)
        if found:
            return str(found)
    return None
