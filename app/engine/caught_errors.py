"""An error or escalation event that keeps the code (and message) of what it caught in the instance's data.

A boundary event that catches errors may say where the caught error's code and message go — Camunda 7's
`camunda:errorCodeVariable` and `errorMessageVariable` (`escalationCodeVariable` for an escalation), which
the import writes as Loanflow's own `spiffworkflow:errorCodeVariable` / `errorMessageVariable` extension
elements on the event (`prepare`). With a catch-all error event (no `errorRef`) this is how a diagram
routes on which error it was.

- the code is the thrown error's code: the `errorCode` of a BPMN error end event's error, or the code a
  service's operator raised (`BusinessError(code, message, payload)`);
- the message is the operator's message, or, for an error end event, the message its `bpmn:error` gives
  (Camunda 7's `camunda:errorMessage`, plain text: the import keeps it, `prepare`, and `install` gives
  the end event's definition `ErrorWithMessage`); an error thrown without one has none (None).

`install(spec)` gives such events this definition after parsing (as the clocked timers are installed,
`timers.install_clock`); it catches what SpiffWorkflow's error definition catches — an error of its code,
or any error when it names none — and is serialized as it is, under its own type name. (An event
sub-process's error start event says the same: the import draws it as a boundary event,
`event_subprocesses`.)
"""
from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.serializer.event_definition import ErrorEscalationEventDefinitionConverter
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition, EscalationEventDefinition

from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.xml import BPMN_NS, CAMUNDA_NS, extension_elements
from app.engine.xml import source_line as _line

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CODE, MESSAGE = "errorCodeVariable", "errorMessageVariable"  # the extension elements, and the Camunda attributes
ESCALATION_CODE = "escalationCodeVariable"
_CAUGHT = "caught_error"  # the catching task's internal data: the caught error's code and message
_B, _S = f"{{{BPMN_NS}}}", f"{{{SPIFF_NS}}}"
ERROR_MESSAGE = "{urn:loanflow:import}errorMessage"  # on a bpmn:error: the message its end events throw


class _KeptInData:
    """What an error or escalation definition that keeps the caught code adds to SpiffWorkflow's: catch what
    a plain one would catch (SpiffWorkflow's definitions match by exact class), remember the code (and a
    service's message), and put them in the data under the names its task's extensions give."""

    plain: type
    keys: tuple[tuple[str, str], ...]  # (extension element, what it holds)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.plain) and self.code in (None, other.code)  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # as SpiffWorkflow's definitions: compared, never hashed

    def catch(self, my_task: Any, event: Any = None) -> None:
        thrown = event.event_definition
        my_task.internal_data[_CAUGHT] = {"code": getattr(thrown, "code", None),
                                          "message": getattr(thrown, "message", None)}
        super().catch(my_task, event)  # type: ignore[misc]

    def update_task_data(self, my_task: Any) -> None:
        super().update_task_data(my_task)  # type: ignore[misc]
        caught = my_task.internal_data.pop(_CAUGHT, None) or {}
        extensions = getattr(my_task.task_spec, "extensions", None) or {}
        for key, held in self.keys:
            if extensions.get(key):
                my_task.data[extensions[key].strip()] = caught.get(held)

    def reset(self, my_task: Any) -> None:
        my_task.internal_data.pop(_CAUGHT, None)
        super().reset(my_task)  # type: ignore[misc]


class ErrorKeptInData(_KeptInData, ErrorEventDefinition):
    """SpiffWorkflow's error event definition, keeping the caught error's code and message."""

    plain = ErrorEventDefinition
    keys = ((CODE, "code"), (MESSAGE, "message"))


class EscalationKeptInData(_KeptInData, EscalationEventDefinition):
    """SpiffWorkflow's escalation event definition, keeping the caught escalation's code."""

    plain = EscalationEventDefinition
    keys = ((ESCALATION_CODE, "code"),)


class ErrorWithMessage(ErrorEventDefinition):
    """SpiffWorkflow's error event definition, thrown with a message (an error end event whose bpmn:error
    gives one). Caught as a plain error is: compared with a catching definition of the plain class, its own
    comparison is the one Python uses (a subclass's reflected ``==``), matching on the code as the plain
    one does."""

    def __init__(self, name: str, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.message = message

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _KeptInData) or not isinstance(other, ErrorEventDefinition):
            return NotImplemented
        return getattr(other, "code", None) in (None, self.code)  # `other` catches: its code, or any error

    __hash__ = None  # type: ignore[assignment]


class ErrorWithMessageConverter(ErrorEscalationEventDefinitionConverter):
    """SpiffWorkflow's converter of error definitions, with the message."""

    def to_dict(self, event_definition: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(event_definition)
        dct["message"] = event_definition.message
        return dct


def install(spec: Any, node: etree._Element | None = None) -> None:
    """Give each error or escalation event that names a variable for what it catches this definition, and
    each error end event whose error gives a message (in `node`, the parsed process) `ErrorWithMessage`."""
    if node is not None:
        _install_messages(spec, node)
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        extensions = getattr(task_spec, "extensions", None) or {}
        for kept in (ErrorKeptInData, EscalationKeptInData):
            if type(definition) is kept.plain and any(extensions.get(key) for key, _ in kept.keys):
                definition.__class__ = kept


def _install_messages(spec: Any, node: etree._Element) -> None:
    errors = {e.get("id"): e.get(ERROR_MESSAGE) for e in node.getroottree().getroot().iter(f"{_B}error")
              if e.get(ERROR_MESSAGE) is not None}
    if not errors:
        return
    for end in node.iter(f"{_B}endEvent"):
        task_spec = spec.task_specs.get(end.get("id"))
        thrown = end.find(f"{_B}errorEventDefinition")
        definition = getattr(task_spec, "event_definition", None)
        if thrown is None or definition is None or type(definition) is not ErrorEventDefinition \
                or thrown.get("errorRef") not in errors:
            continue
        definition.__class__ = ErrorWithMessage
        definition.message = errors[thrown.get("errorRef")]


def _camunda_error_messages(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """`camunda:errorMessage` on a bpmn:error, plain text, kept for the end events that throw it."""
    changes = []
    for error in root.iter(f"{_B}error"):
        message = error.get(f"{{{CAMUNDA_NS}}}errorMessage")
        if message is None or "${" in message or "#{" in message:
            continue  # an expression: said as not read (`camunda_process`)
        del error.attrib[f"{{{CAMUNDA_NS}}}errorMessage"]
        error.set(ERROR_MESSAGE, message)
        changes.append(DiagramProblem(filename, error.get("id"), said(
            "camunda:errorMessage: an error end event that throws this error gives its message %(message)r, "
            "which an error event's errorMessageVariable keeps", message=message), _line(error), "warning"))
    return changes


def prepare(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Camunda's `errorCodeVariable` / `errorMessageVariable` on a boundary event's error event definition, and
    `escalationCodeVariable` on its escalation event definition, written as the event's extension
    elements; each change a warning. A name that is not a variable name stays, and is said as not read
    (`camunda_process`)."""
    changes = _camunda_error_messages(root, filename)
    for kind, keys in (("errorEventDefinition", (CODE, MESSAGE)), ("escalationEventDefinition", (ESCALATION_CODE,))):
        for definition in root.iter(f"{_B}{kind}"):
            event = definition.getparent()
            if event is None or etree.QName(event).localname != "boundaryEvent":
                continue
            for key in keys:
                name = definition.get(f"{{{CAMUNDA_NS}}}{key}")
                if name is None or not name.strip().isidentifier():
                    continue
                del definition.attrib[f"{{{CAMUNDA_NS}}}{key}"]
                _keep(event, key, name.strip())
                changes.append(DiagramProblem(filename, event.get("id"), _said(key, name.strip()), _line(event),
                                              "warning"))
    return changes


def _keep(event: etree._Element, key: str, name: str) -> None:
    holder = extension_elements(event)
    for old in holder.findall(f"{_S}{key}"):
        holder.remove(old)
    etree.SubElement(holder, f"{_S}{key}").text = name


def _said(key: str, name: str) -> str:
    if key == CODE:
        return said("camunda:errorCodeVariable: the caught error's code is kept in the variable %(name)s", name=name)
    if key == MESSAGE:
        return said("camunda:errorMessageVariable: the caught error's message is kept in the variable %(name)s (None "
                    "when the diagram threw the error: only a service's error has one)", name=name)
    return said("camunda:escalationCodeVariable: the caught escalation's code is kept in the variable %(name)s",
                name=name)
