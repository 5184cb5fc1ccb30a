"""An error or escalation event that keeps the code (and message) of what it caught in the instance's data.

A boundary event that catches errors may say where the caught error's code and message go — Camunda 7's
`camunda:errorCodeVariable` and `errorMessageVariable` (`escalationCodeVariable` for an escalation), which
the import writes as Loanflow's own `spiffworkflow:errorCodeVariable` / `errorMessageVariable` extension
elements on the event (`prepare`). With a catch-all error event (no `errorRef`) this is how a diagram
routes on which error it was.

- the code is the thrown error's code: the `errorCode` of a BPMN error end event's error, or the code a
  service's operator raised (`BusinessError(code, message, payload)`);
- the message is the operator's message; an error thrown by the diagram has none (None).

`install(spec)` gives such events this definition after parsing (as the clocked timers are installed,
`timers.install_clock`); it catches what SpiffWorkflow's error definition catches — an error of its code,
or any error when it names none — and is serialized as it is, under its own type name. (An event
sub-process's error start event says the same: the import draws it as a boundary event,
`event_subprocesses`.)
"""
from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition, EscalationEventDefinition

from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.xml import BPMN_NS, extension_elements
from app.engine.xml import source_line as _line

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NAMESPACES = ("http://camunda.org/schema/1.0/bpmn", "http://activiti.org/bpmn")
CODE, MESSAGE = "errorCodeVariable", "errorMessageVariable"  # the extension elements, and the Camunda attributes
ESCALATION_CODE = "escalationCodeVariable"
_CAUGHT = "caught_error"  # the catching task's internal data: the caught error's code and message
_B, _S = f"{{{BPMN_NS}}}", f"{{{SPIFF_NS}}}"


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


def install(spec: Any) -> None:
    """Give each error or escalation event that names a variable for what it catches this definition."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        extensions = getattr(task_spec, "extensions", None) or {}
        for kept in (ErrorKeptInData, EscalationKeptInData):
            if type(definition) is kept.plain and any(extensions.get(key) for key, _ in kept.keys):
                definition.__class__ = kept


def prepare(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Camunda's `errorCodeVariable` / `errorMessageVariable` on a boundary event's error event definition, and
    `escalationCodeVariable` on its escalation event definition, written as the event's extension
    elements; each change a warning. A name that is not a variable name stays, and is said as not read
    (`camunda_process`)."""
    changes = []
    for kind, keys in (("errorEventDefinition", (CODE, MESSAGE)), ("escalationEventDefinition", (ESCALATION_CODE,))):
        for definition in root.iter(f"{_B}{kind}"):
            event = definition.getparent()
            if event is None or etree.QName(event).localname != "boundaryEvent":
                continue
            for namespace in CAMUNDA_NAMESPACES:
                for key in keys:
                    name = definition.get(f"{{{namespace}}}{key}")
                    if name is None or not name.strip().isidentifier():
                        continue
                    del definition.attrib[f"{{{namespace}}}{key}"]
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
