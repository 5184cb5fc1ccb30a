"""Timer events that read the time from the engine's clock and bound their values first.

SpiffWorkflow's timer definitions call `datetime.now(timezone.utc)` themselves. These subclasses
ask `workflow.script_engine.now()`, so `timers run-due --now` and the tests can set the time.
They also read every value through `durations` before any date arithmetic: a duration past 100
years, a date outside 1970–2199, a cycle firing more than 10,000 times or more often than once a
minute (a cycle of at most 100 firings: more often than every 0.1 s) fails the timer's task with the
reason (an incident) instead of looping in SpiffWorkflow. A duration may be given as a `timedelta`
and a date as a `datetime` (SpiffArena's diagrams write `timedelta(seconds=30)`).
A cycle whose firings were missed (the worker was down) fires once and goes on from the next
firing after now. `install_clock(spec)` swaps them into a parsed spec; the serializer knows them
by name.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent, IntermediateCatchEvent

from app.engine import cron_schedule, durations
from app.engine.errors import InstanceFault
from app.engine.said import said


def _now(my_task) -> datetime:  # noqa: ANN001
    return my_task.workflow.script_engine.now()


def _value(my_task, expression: str, read):  # noqa: ANN001, ANN202
    """The timer's expression evaluated and read by `read`; a bad value is the task's fault."""
    value = my_task.workflow.script_engine.evaluate(my_task, expression)
    try:
        return read(value)
    except durations.TimerValueError as exc:
        first = exc.args[0] if len(exc.args) == 1 else str(exc)
        raise InstanceFault(said("timer: %(why)s", why=first), my_task.task_spec.bpmn_id) from None


class ClockedTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task) -> bool:  # noqa: ANN001
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            due = _value(my_task, self.expression, durations.date_value)  # refused when the timer starts
            event_value = due.isoformat()
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.parse_time_or_duration(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task) -> bool:  # noqa: ANN001
        event_value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if event_value is None:
            event_value = (now + _value(my_task, self.expression, lambda v: durations.duration_value(v, now))).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.get_datetime(event_value) <= now:
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


def _fires_once(my_task) -> bool:  # noqa: ANN001
    """An intermediate catch event's cycle: the path waits for its first firing and goes on (Camunda 7 does so;
    SpiffWorkflow started the path after it again at every firing, the instance never ending)."""
    spec = my_task.task_spec
    return isinstance(spec, IntermediateCatchEvent) and not isinstance(spec, BoundaryEvent)


class ClockedCycle(CycleTimerEventDefinition):
    def cycle_complete(self, my_task) -> bool:  # noqa: ANN001
        event_value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if event_value is None:
            read = _value(my_task, self.expression,
                          lambda v: durations.irregular_cron(v, now) or durations.parse_cycle(v, now))
            if isinstance(read, cron_schedule.Quartz):  # a cron of uneven gaps: each firing the next match
                first = read.next_after(now)
                event_value = {"cycles": -1 if first else 0, "next": (first or now).isoformat(), "cron": read.text}
            else:
                cycles, start, duration = read
                event_value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                if "cron" in event_value:  # missed firings meanwhile: one firing for all, then the next after now
                    following = cron_schedule.parse(event_value["cron"]).next_after(now)
                    event_value["next"] = (following or now).isoformat()
                    event_value["cycles"] = -1 if following else 0
                else:
                    interval = timedelta(seconds=event_value["duration"])
                    missed = (now - next_event) // interval  # firings missed meanwhile: one firing for all
                    event_value["next"] = (next_event + (missed + 1) * interval).isoformat()
                    event_value["cycles"] -= 1
                ready = True
                if _fires_once(my_task):  # Camunda: a cycle on an intermediate catch event fires once
                    event_value["cycles"] = 0
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


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
