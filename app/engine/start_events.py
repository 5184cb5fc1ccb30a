"""A process's own start events, and an instance that starts at one of them.

When an event starts a new instance — a timer start event fires (`timer_starts`), a signal start event's
signal is sent, a message that a message start event takes arrives — the instance starts at that start
event only: the process's other start events are cancelled before it moves, as SpiffWorkflow cancels them
when any start event fires first (a none start event would otherwise fire at once and run its own path).
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition, SignalEventDefinition

from app.engine.camunda_user_tasks import FORM_PROPERTY

UI_FORM_PROPERTY = "formUiSchemaFilename"  # as app.engine.parser names it


def only(workflow: Any, element_id: str) -> list[Any]:
    """Cancel the new workflow's start events other than `element_id`; that one's tasks (ValueError: none)."""
    starts = [t for t in workflow.get_tasks() if isinstance(t.task_spec, StartEvent) and t.workflow is workflow]
    chosen = [t for t in starts if t.task_spec.bpmn_id == element_id]
    if not chosen:
        raise ValueError(f"the process has no start event {element_id!r}")
    for task in starts:
        if task not in chosen and not task.has_state(TaskState.FINISHED_MASK):
            task.cancel()
    return chosen


def of(spec: Any) -> list[Any]:
    """The process's own start events (not an event sub-process's, whose spec is its own), by id. With
    several, they are not `spec.start`'s outputs: SpiffWorkflow puts a split between."""
    return sorted((t for t in spec.task_specs.values() if isinstance(t, StartEvent)), key=lambda t: t.bpmn_id)


def start_form(spec: Any) -> str | None:
    """The form (its file name) the data of an instance started at the process's none start event is checked
    against (a Camunda start form's fields, `camunda_user_tasks`), if it has one."""
    return _start_form_file(spec, FORM_PROPERTY)


def start_ui_form(spec: Any) -> str | None:
    """The UI schema (its file name) of that start form, if its start event names one (`formUiSchemaFilename`,
    as a user task does): the widgets the start page shows its fields with."""
    return _start_form_file(spec, UI_FORM_PROPERTY) if start_form(spec) else None


def _start_form_file(spec: Any, prop: str) -> str | None:
    for event in of(spec):
        if isinstance(event.event_definition, NoneEventDefinition):
            properties = (getattr(event, "extensions", None) or {}).get("properties") or {}
            if properties.get(FORM_PROPERTY):
                return str(properties[prop]) if properties.get(prop) else None
    return None


def kinds(spec: Any) -> list[tuple[str, str, str | None]]:
    """Each of the process's own start events: (id, kind, the name of what it waits for). Kinds: `none` (a
    person, the API or a calling process starts it), `message`, `signal`, `timer`, `conditional`, `other`."""
    found: list[tuple[str, str, str | None]] = []
    for task_spec in of(spec):
        definition = getattr(task_spec, "event_definition", None)
        if isinstance(definition, MessageEventDefinition | SignalEventDefinition):
            kind = "message" if isinstance(definition, MessageEventDefinition) else "signal"
            found.append((task_spec.bpmn_id, kind, definition.name))
            continue
        kind = next((k for k, each in _KINDS if isinstance(definition, each)), "other")
        found.append((task_spec.bpmn_id, kind, None))
    return found


_KINDS = (("none", NoneEventDefinition), ("timer", TimerEventDefinition), ("conditional", ConditionalEventDefinition))


def signal_starts(spec: Any) -> dict[str, list[str]]:
    """The process's own signal start events, by signal name."""
    return _by_name(spec, SignalEventDefinition)


def message_starts(spec: Any) -> dict[str, list[str]]:
    """The process's own message start events, by message name."""
    return _by_name(spec, MessageEventDefinition)


def _by_name(spec: Any, kind: type[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for task_spec in of(spec):
        definition = getattr(task_spec, "event_definition", None)
        each: Any
        for each in [definition, *getattr(definition, "event_definitions", [])]:
            if isinstance(each, kind) and each.name:  # a nameless one: refused by the check
                found.setdefault(each.name, []).append(task_spec.bpmn_id)
    return found


def keep_path_data(workflow: Any) -> None:
    """The workflow's last task may be SpiffWorkflow's join of its start events, completed after the path the
    chosen one started (a cycle's, or when the others were cancelled), with no data: the instance's data
    while it waits is its path's, the last diagram element it completed."""
    done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.workflow is workflow
            and getattr(t.task_spec, "bpmn_id", None) and not isinstance(t.task_spec, StartEvent)]
    if done:
        workflow.last_task = max(done, key=lambda t: (t.last_state_change, t.depth))


__all__ = ["keep_path_data", "kinds", "message_starts", "of", "only", "signal_starts"]
