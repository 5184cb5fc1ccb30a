"""An error event that keeps the code (and message) of the error it caught in the instance's data.

A boundary event that catches errors may say where the caught error's code and message go — Camunda 7's `camunda:errorCodeVariable` and `errorMessageVariable`, which
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
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition

from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.xml import BPMN_NS
from app.engine.xml import source_line as _line

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NAMESPACES = ("http://camunda.org/schema/1.0/bpmn", "http://activiti.org/bpmn")
CODE, MESSAGE = "errorCodeVariable", "errorMessageVariable"  # the extension elements, and the Camunda attributes
_CAUGHT = "caught_error"  # the catching task's internal data: the caught error's code and message
_B, _S = f"{{{BPMN_NS}}}", f"{{{SPIFF_NS}}}"


class ErrorKeptInData(ErrorEventDefinition):
    """SpiffWorkflow's error event definition, which also puts the caught error's code and message in the
    data under the names its task's extensions give."""

    def __eq__(self, other: object) -> bool:
        # SpiffWorkflow's definitions match by exact class: this one catches what a plain one would
        return isinstance(other, ErrorEventDefinition) and self.code in (None, other.code)

    __hash__ = ErrorEventDefinition.__hash__

    def catch(self, my_task: Any, event: Any = None) -> None:
        thrown = event.event_definition
        my_task.internal_data[_CAUGHT] = {"code": getattr(thrown, "code", None),
                                          "message": getattr(thrown, "message", None)}
        super().catch(my_task, event)

    def update_task_data(self, my_task: Any) -> None:
        super().update_task_data(my_task)
        caught = my_task.internal_data.pop(_CAUGHT, None) or {}
        extensions = getattr(my_task.task_spec, "extensions", None) or {}
        for key, variable in ((CODE, "code"), (MESSAGE, "message")):
            if extensions.get(key):
                my_task.data[extensions[key].strip()] = caught.get(variable)

    def reset(self, my_task: Any) -> None:
        my_task.internal_data.pop(_CAUGHT, None)
        super().reset(my_task)


def install(spec: Any) -> None:
    """Give each error event that names a variable for the caught code or message this definition."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        extensions = getattr(task_spec, "extensions", None) or {}
        if type(definition) is ErrorEventDefinition and (extensions.get(CODE) or extensions.get(MESSAGE)):
            definition.__class__ = ErrorKeptInData


def prepare(root: etree._Element, filename: str) -> list[DiagramProblem]:
    """Camunda's `errorCodeVariable` / `errorMessageVariable` on an error event definition written as the
    event's extension elements; each change a warning. A name that is not a variable name stays, and is
    said as not read (`camunda_process`)."""
    changes = []
    for definition in root.iter(f"{_B}errorEventDefinition"):
        event = definition.getparent()
        if event is None or etree.QName(event).localname != "boundaryEvent":
            continue
        for namespace in CAMUNDA_NAMESPACES:
            for key in (CODE, MESSAGE):
                name = definition.get(f"{{{namespace}}}{key}")
                if name is None or not name.strip().isidentifier():
                    continue
                del definition.attrib[f"{{{namespace}}}{key}"]
                holder = event.find(f"{_B}extensionElements")
                if holder is None:
                    holder = etree.Element(f"{_B}extensionElements")
                    event.insert(0, holder)
                for old in holder.findall(f"{_S}{key}"):
                    holder.remove(old)
                etree.SubElement(holder, f"{_S}{key}").text = name.strip()
                reason = (said("camunda:errorCodeVariable: the caught error's code is kept in the variable %(name)s",
                               name=name.strip()) if key == CODE else
                          said("camunda:errorMessageVariable: the caught error's message is kept in the variable "
                               "%(name)s (None when the diagram threw the error: only a service's error has one)",
                               name=name.strip()))
                changes.append(DiagramProblem(filename, event.get("id"), reason, _line(event), "warning"))
    return changes
