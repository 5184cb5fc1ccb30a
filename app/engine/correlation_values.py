"""The correlation values a real sender of a message would put in its payload.

A message catch event with correlation properties reads each property from the payload by its
retrieval expression (`messagePath` / `formalExpression`), and takes the message only when the values
match the conversation's (`workflow.correlations`, set by the instance's earlier messages). The sender
of the reply knows those values; a driver that stands in for it (`processes compat`) asks here what to
send: the conversation's value of each property, else, before any message of the conversation, the
value the waiting instance itself holds under the expression's name. Nothing is invented: a property
neither gives is returned as missing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition

_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_NOTHING = object()


@dataclass
class SenderPayload:
    payload: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # retrieval expressions no value was found for


def _lookup(data: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return _NOTHING
        data = data[part]
    return data


def _put(payload: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        payload = payload.setdefault(part, {})
    payload[path[-1]] = value


def _expected(workflow: Any, task: Any, definition: Any, name: str) -> Any:
    """The value the catch event expects for property `name`, from the instance's data (SpiffArena's
    process variable correlation); nothing when it has none or the expression cannot be evaluated."""
    for prop in getattr(definition, "process_correlations", None) or []:
        if prop.name != name:
            continue
        try:
            return workflow.script_engine.environment.evaluate(prop.retrieval_expression, dict(task.data))
        except Exception:  # noqa: BLE001 - the instance lacks what the expression reads: no value from it
            return _NOTHING
    return _NOTHING


def _waiting_definitions(workflow: Any, name: str) -> list[tuple[Any, MessageEventDefinition]]:
    found = []
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        for each in [definition, *getattr(definition, "event_definitions", [])]:
            if isinstance(each, MessageEventDefinition) and each.name == name:
                found.append((task, each))
    return found


def sender_payload(workflow: Any, name: str) -> SenderPayload:
    """The correlation part of a payload for message `name`, as the waiting instance's conversation
    (else its data) gives it; `missing` names the retrieval expressions neither gives."""
    result = SenderPayload()
    conversation = workflow.correlations or {}
    for task, definition in _waiting_definitions(workflow, name):
        for prop in definition.correlation_properties:
            expression = (prop.retrieval_expression or "").strip()
            if not _PATH.match(expression):
                if expression not in result.missing:
                    result.missing.append(expression)
                continue
            path = expression.split(".")
            value = next((conversation[key][prop.name] for key in prop.correlation_keys
                          if prop.name in conversation.get(key, {})), _NOTHING)
            if value is _NOTHING:
                value = _expected(workflow, task, definition, prop.name)
            if value is _NOTHING:
                value = _lookup(task.data, path)
            if value is _NOTHING:
                value = _lookup(workflow.data, path)
            if value is _NOTHING:
                if expression not in result.missing:
                    result.missing.append(expression)
                continue
            _put(result.payload, path, value)
    return result
