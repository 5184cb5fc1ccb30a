"""Timer events that read the time from the engine's clock instead of `datetime.now`.

SpiffWorkflow's timer definitions call `datetime.now(timezone.utc)` themselves. These subclasses
ask `workflow.script_engine.now()`, so `timers run-due --now` and the tests can set the time.
`install_clock(spec)` swaps them into a parsed spec; the serializer knows them by name.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)


def _now(my_task) -> datetime:  # noqa: ANN001
    return my_task.workflow.script_engine.now()


def _due(value) -> datetime:  # noqa: ANN001
    parsed = TimerEventDefinition.parse_time_or_duration(value)
    if not isinstance(parsed, datetime):
        raise ValueError(f"a timer date must be an ISO 8601 date-time, got {value!r}")
    return parsed


class ClockedTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task) -> bool:  # noqa: ANN001
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            _due(event_value)  # refuse a malformed date when the timer starts, not when it is checked
            my_task._set_internal_data(event_value=event_value)
        if _due(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task) -> bool:  # noqa: ANN001
        event_value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            event_value = (now + TimerEventDefinition.get_timedelta_from_start(parsed, now)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.get_datetime(event_value) <= now:
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedCycle(CycleTimerEventDefinition):
    def cycle_complete(self, my_task) -> bool:  # noqa: ANN001
        event_value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = _recurring(expression, now)
            event_value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


def _recurring(expression: str, now: datetime) -> tuple[int, datetime, timedelta]:
    """`R[n]/start/duration`, `R[n]/duration/end` or `R[n]/duration` (first firing: now + duration)."""
    parts = expression.upper().replace("--", "/").strip("R").split("/")
    if len(parts) == 2 and parts[1].startswith("P"):
        cycles = int(parts[0]) if parts[0] else -1
        parsed = TimerEventDefinition.parse_iso_duration(parts[1])
        duration = TimerEventDefinition.get_timedelta_from_start(parsed, now)
        return cycles, now + duration, duration
    return TimerEventDefinition.parse_iso_recurring_interval(expression)


CLOCKED = {
    TimeDateEventDefinition: ClockedTimeDate,
    DurationTimerEventDefinition: ClockedDuration,
    CycleTimerEventDefinition: ClockedCycle,
}


def install_clock(spec) -> None:  # noqa: ANN001
    """Replace the timer definitions of a parsed spec by their clocked versions (in place).

    Event-based gateways hold their branches' definitions in a `MultipleEventDefinition`.
    """
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        for each in [definition, *getattr(definition, "event_definitions", [])]:
            clocked = CLOCKED.get(type(each))
            if clocked is not None:
                each.__class__ = clocked
