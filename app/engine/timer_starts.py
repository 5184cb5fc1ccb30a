"""A process's timer start events: when each starts an instance, and an instance started by one.

Camunda 7 starts a new instance of the deployed process each time a timer start event fires (a date
once, a duration once after the deploy, a cycle at each firing); the platform keeps that schedule
(`app/services/workflow/timer_starts.py`) and this module says what it is and starts the instance.

An instance started by its timer runs from that start event once: the other start events of the
process are cancelled (as when any start event fires first), and a cycle's timer counts as its last
firing, so the instance does not start the path again an hour later — the next firing is another
instance. A timer value that needs the instance's data (`${timerCycle}`) has no schedule: nothing
gives data to an instance its timer starts; the lint says so before deploy.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from app.engine import cron_schedule, durations, start_events
from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.engine.sandbox import SandboxEnvironment


@dataclass(frozen=True)
class Schedule:
    """When a timer start event next starts an instance: `at`; how many starts are left counting that
    one (-1: no end); the time between two starts (None: it starts one instance only)."""

    at: datetime
    remaining: int
    interval: timedelta | None
    cron: str | None = None  # a Quartz cron of uneven gaps (`cron_schedule`): each start the next match

    def following(self, now: datetime) -> Schedule | None:
        """The schedule after the start at `at` (made at `now`): None when that was the last. Starts missed
        while no worker ran are not made up: the next one is the first firing after `now`."""
        if self.cron is not None:
            after = cron_schedule.parse(self.cron).next_after(max(self.at, now))
            return Schedule(after, -1, None, self.cron) if after is not None else None
        if self.interval is None or self.remaining == 1:
            return None
        after = self.at + self.interval
        if after <= now:
            after += ((now - after) // self.interval + 1) * self.interval
        return Schedule(after, self.remaining - 1 if self.remaining > 0 else -1, self.interval)


class NoSchedule(ValueError):
    """The timer has no schedule: its value needs data, or is not a timer value (the reason, said)."""


def timer_start_events(spec) -> list[tuple[str, TimerEventDefinition]]:  # noqa: ANN001
    """The process's own timer start events (not an event sub-process's), by element id."""
    return [(t.bpmn_id, t.event_definition) for t in start_events.of(spec)
            if isinstance(t.event_definition, TimerEventDefinition)]


def schedule_of(definition: TimerEventDefinition, now: datetime) -> Schedule:
    """When the timer start event first starts an instance, deployed at `now`; `NoSchedule` with the reason."""
    try:
        value = SandboxEnvironment().evaluate(definition.expression, {})
    except NameError as exc:
        raise NoSchedule(said("its timer value %(expression)s reads data (%(why)s), and nothing gives data to an "
                              "instance its timer starts", expression=definition.expression, why=str(exc))) from None
    except Exception as exc:  # noqa: BLE001 - the lint says why the expression fails
        raise NoSchedule(said("its timer value %(expression)s fails: %(why)s", expression=definition.expression,
                              why=f"{type(exc).__name__}: {exc}")) from None
    try:
        if isinstance(definition, CycleTimerEventDefinition):
            uneven = durations.irregular_cron(value, now)
            if uneven is not None:
                at = uneven.next_after(now)
                if at is None:
                    raise NoSchedule(said("its timer cycle %(value)r fires no more", value=value))
                return Schedule(at, -1, None, uneven.text)
            cycles, first, interval = durations.parse_cycle(value, now)
            # the firings before now are past (one at now is not); the count goes on from there
            passed = (now - first) // interval + (1 if (now - first) % interval else 0) if first < now else 0
            left = cycles - passed if cycles > 0 else -1
            if cycles == 0 or (cycles > 0 and left <= 0):
                raise NoSchedule(said("its timer cycle %(value)r fires no more", value=value))
            return Schedule(first + passed * interval, left, interval)
        if isinstance(definition, DurationTimerEventDefinition):
            return Schedule(now + durations.duration_value(value, now), 1, None)
        if isinstance(definition, TimeDateEventDefinition):
            return Schedule(durations.date_value(value), 1, None)
    except durations.TimerValueError as exc:
        raise NoSchedule(exc.args[0]) from None
    raise NoSchedule(said("its timer is of no kind Loanflow schedules"))


def problems(file: str, spec, now: datetime) -> list[DiagramProblem]:  # noqa: ANN001
    """A timer start event that will start no instance on a schedule, said before deploy (a warning: an
    instance started otherwise still runs)."""
    found = []
    for element_id, definition in timer_start_events(spec):
        try:
            schedule_of(definition, now)
        except NoSchedule as exc:
            found.append(DiagramProblem(file, element_id, said(
                "the timer start event will start no instance on a schedule: %(why)s", why=exc.args[0]),
                severity="warning"))
    return found


def fire(workflow, element_id: str, now: datetime) -> None:  # noqa: ANN001
    """Make a new workflow start at its timer start event `element_id`, the timer fired at `now`: the
    process's other start events are cancelled, and a cycle fires this once."""
    for task in start_events.only(workflow, element_id):
        definition = task.task_spec.event_definition
        if isinstance(definition, CycleTimerEventDefinition):
            task._set_internal_data(event_value={"cycles": 1, "next": now.isoformat(), "duration": 60.0})
        else:
            task._set_internal_data(event_value=now.isoformat())


def finish_cycle(workflow, element_id: str) -> bool:  # noqa: ANN001
    """After its one firing, a cycle start event still waits for the next (SpiffWorkflow keeps a cycle
    open until its count is spent): mark it spent, so the instance does not wait on it. Whether one was."""
    spent = False
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if task.workflow is workflow and isinstance(task.task_spec, StartEvent) \
                and task.task_spec.bpmn_id == element_id \
                and isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
            task.internal_data.pop("event_value", None)
            task._set_internal_data(event_fired=True)
            spent = True
    return spent


__all__ = ["NoSchedule", "Schedule", "finish_cycle", "fire", "problems", "schedule_of", "timer_start_events"]
