"""Quartz crons of uneven gaps (`cron_schedule`): refused before as "not a fixed period" (production
schedulers' `0 0 0,12 ? * * *`, `0 0 0 31 * ? *`); each firing is now the next moment the fields match.
The expected firings were worked out from a calendar of 2026-2027, not from the code."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from SpiffWorkflow import TaskState

from app.engine import durations
from app.engine.cron import CronRefused
from app.engine.cron_schedule import parse
from app.engine.runner import ProcessEngine
from app.engine.timer_starts import Schedule, schedule_of
from tests.unit.test_runner import inline
from tests.unit.test_timer_starts import _definition

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)  # a Sunday


def _firings(text: str, count: int = 4, start: datetime = NOW) -> list[str]:
    schedule, found, moment = parse(text), [], start
    while len(found) < count:
        moment = schedule.next_after(moment)
        if moment is None:
            break
        found.append(moment.strftime("%a %Y-%m-%d %H:%M:%S"))
    return found


@pytest.mark.parametrize(("cron", "expected"), [
    ("0 0 0,12 ? * * *", ["Sun 2026-12-06 12:00:00", "Mon 2026-12-07 00:00:00", "Mon 2026-12-07 12:00:00",
                          "Tue 2026-12-08 00:00:00"]),
    ("0 0 0 31 * ? *", ["Thu 2026-12-31 00:00:00", "Sun 2027-01-31 00:00:00", "Wed 2027-03-31 00:00:00",
                        "Mon 2027-05-31 00:00:00"]),  # months without a 31st are passed over
    ("0 0 2 ? * MON-FRI", ["Mon 2026-12-07 02:00:00", "Tue 2026-12-08 02:00:00", "Wed 2026-12-09 02:00:00",
                           "Thu 2026-12-10 02:00:00"]),
    ("0 0 12 ? * FRI-MON", ["Sun 2026-12-06 12:00:00", "Mon 2026-12-07 12:00:00", "Fri 2026-12-11 12:00:00",
                            "Sat 2026-12-12 12:00:00"]),  # a range past Saturday wraps
    ("0 0 0 L * ?", ["Thu 2026-12-31 00:00:00", "Sun 2027-01-31 00:00:00", "Sun 2027-02-28 00:00:00",
                     "Wed 2027-03-31 00:00:00"]),
    ("0 0 0 L-2 * ?", ["Tue 2026-12-29 00:00:00", "Fri 2027-01-29 00:00:00", "Fri 2027-02-26 00:00:00",
                       "Mon 2027-03-29 00:00:00"]),
    ("0 0 9 LW * ?", ["Thu 2026-12-31 09:00:00", "Fri 2027-01-29 09:00:00", "Fri 2027-02-26 09:00:00",
                      "Wed 2027-03-31 09:00:00"]),  # 31 January 2027 is a Sunday
    ("0 0 9 15W * ?", ["Tue 2026-12-15 09:00:00", "Fri 2027-01-15 09:00:00", "Mon 2027-02-15 09:00:00",
                       "Mon 2027-03-15 09:00:00"]),
    ("0 0 9 1W * ?", ["Fri 2027-01-01 09:00:00", "Mon 2027-02-01 09:00:00", "Mon 2027-03-01 09:00:00",
                      "Thu 2027-04-01 09:00:00"]),
    ("0 30 9 ? * 6#3", ["Fri 2026-12-18 09:30:00", "Fri 2027-01-15 09:30:00", "Fri 2027-02-19 09:30:00",
                        "Fri 2027-03-19 09:30:00"]),
    ("0 0 9 ? * FRIL", ["Fri 2026-12-25 09:00:00", "Fri 2027-01-29 09:00:00", "Fri 2027-02-26 09:00:00",
                        "Fri 2027-03-26 09:00:00"]),
    ("0 0/20 8-10 * * ?", ["Sun 2026-12-06 09:40:00", "Sun 2026-12-06 10:00:00", "Sun 2026-12-06 10:20:00",
                           "Sun 2026-12-06 10:40:00"]),
    ("0 15 10 ? JAN,JUL MON", ["Mon 2027-01-04 10:15:00", "Mon 2027-01-11 10:15:00", "Mon 2027-01-18 10:15:00",
                               "Mon 2027-01-25 10:15:00"]),
    ("0 0 0 1 1 ? 2027-2028", ["Fri 2027-01-01 00:00:00", "Sat 2028-01-01 00:00:00"]),  # and no more
    ("0 20,40 0 1 1/1 ? 2024", []),  # its year has passed
    ("0 0 8 1 1 ? 2041", ["Tue 2041-01-01 08:00:00"]),  # a year further than the search's years from now
    ("0 0 0 30 2 ?", []),  # there is no 30th of February
])
def test_each_firing_is_the_next_moment_the_fields_match(cron, expected):
    assert _firings(cron) == expected


@pytest.mark.parametrize(("cron", "why"), [
    ("0 0 9 15 * MON", "both a day of the month and a day of the week"),
    ("0 0 25 * * ?", "out of range"),
    ("0 0 9 ? * 6#6", "not a Quartz cron field"),
    ("0 0 9 ? * XYZ", "not a Quartz cron field"),
    ("0 0 9 1/0 * ?", "not a Quartz cron field"),
])
def test_a_field_quartz_does_not_read_is_refused_naming_it(cron, why):
    with pytest.raises(CronRefused, match=why):
        parse(cron)


def test_a_cron_of_uneven_gaps_firing_too_often_is_refused_and_a_fixed_period_is_no_schedule_here():
    with pytest.raises(durations.TimerValueError, match="30 s apart at its closest"):
        durations.irregular_cron("0,30 * * * * ?", NOW)
    assert durations.irregular_cron("0 0/15 * * * ?", NOW) is None  # a repeating interval (`cron`)
    assert durations.irregular_cron("R/PT1H", NOW) is None
    durations.check_timer_value("0 0 0,12 ? * * *", NOW)  # the strict check accepts it


@given(moment=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31),
                           timezones=st.just(UTC)),
       cron=st.sampled_from(["0 0 0,12 ? * * *", "0 0 2 ? * MON-FRI", "0 0 0 L * ?", "0 30 9 ? * 6#3",
                             "0 0 9 LW * ?", "0 0/20 8-10 * * ?", "30 5 */5 ? * SUN,WED"]))
def test_the_next_firing_is_after_the_moment_and_nothing_between_matches(moment, cron):
    schedule = parse(cron)
    following = schedule.next_after(moment)
    assert following is not None and following > moment and following.microsecond == 0
    # no whole second between them fires: the one before the firing leads to the firing itself
    assert schedule.next_after(following - timedelta(seconds=1)) == following
    midway = moment + (following - moment) / 2
    assert schedule.next_after(midway) == following


def test_a_timer_start_event_on_an_uneven_cron_starts_at_each_match():
    schedule = schedule_of(_definition("timeCycle", "0 0 0,12 ? * * *"), NOW)
    assert schedule == Schedule(datetime(2026, 12, 6, 12, tzinfo=UTC), -1, None, "0 0 0,12 ? * * *")
    following = schedule.following(datetime(2026, 12, 6, 12, 0, 5, tzinfo=UTC))
    assert following == Schedule(datetime(2026, 12, 7, 0, tzinfo=UTC), -1, None, "0 0 0,12 ? * * *")
    # a worker down for two days starts once, at the next match after it is back
    assert schedule.following(datetime(2026, 12, 8, 13, tzinfo=UTC)).at == datetime(2026, 12, 9, 0, tzinfo=UTC)
    assert Schedule(datetime(2028, 1, 1, tzinfo=UTC), -1, None, "0 0 0 1 1 ? 2027-2028").following(
        datetime(2028, 1, 1, tzinfo=UTC)) is None  # its years are spent


class _Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_a_boundary_cycle_on_an_uneven_cron_fires_at_each_match_while_the_task_waits():
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="review" name="Review"/>
    <bpmn:boundaryEvent id="remind" attachedToRef="review" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeCycle>0 0 0,12 ? * * *</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="count"><bpmn:script>reminders = reminders + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="reminded"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="count"/>
    <bpmn:sequenceFlow id="f4" sourceRef="count" targetRef="reminded"/>"""
    bundle = inline(body)
    assert any("uneven gaps" in w.reason for w in bundle.warnings)
    process = bundle.processes["inline"]
    clock = _Clock(NOW)
    engine = ProcessEngine(clock=clock)
    workflow = engine.new_workflow(process.spec, process.embedded, {"reminders": 0})
    outcome = engine.advance(workflow)
    assert outcome.due_at == datetime(2026, 12, 6, 12, tzinfo=UTC)
    for at, reminders in ((datetime(2026, 12, 6, 11, 59, tzinfo=UTC), 0), (datetime(2026, 12, 6, 12, tzinfo=UTC), 1),
                          (datetime(2026, 12, 6, 18, tzinfo=UTC), 1), (datetime(2026, 12, 7, 0, 0, 1, tzinfo=UTC), 2)):
        clock.at = at
        outcome = engine.wake(workflow)
        ran = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "count" and t.has_state(TaskState.COMPLETED)]
        assert len(ran) == reminders, at  # each firing runs the path once (each from the data it left with)
    assert outcome.status == "waiting" and outcome.due_at == datetime(2026, 12, 7, 12, tzinfo=UTC)
