"""When a timer start event starts instances (`app.engine.timer_starts`), and an instance it starts runs its
path once, whatever the process's other start events (issue 17)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.engine.runner import ProcessEngine
from app.engine.timer_starts import NoSchedule, Schedule, schedule_of, timer_start_events
from tests.unit.test_implicit_flow import _flow, _ran
from tests.unit.test_runner import inline

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _definition(kind: str, value: str):
    body = (f'<bpmn:startEvent id="when"><bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}>'
            '</bpmn:timerEventDefinition></bpmn:startEvent><bpmn:endEvent id="end"/>' + _flow("f1", "when", "end"))
    [(element, definition)] = timer_start_events(inline(body).processes["inline"].spec)
    assert element == "when"
    return definition


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("timeDate", "2027-01-01T08:00:00Z", Schedule(datetime(2027, 1, 1, 8, tzinfo=UTC), 1, None)),
    ("timeDuration", "PT90M", Schedule(NOW + timedelta(minutes=90), 1, None)),
    ("timeCycle", "R3/PT1H", Schedule(NOW + HOUR, 3, HOUR)),
    ("timeCycle", "R/PT1H", Schedule(NOW + HOUR, -1, HOUR)),
    # a cycle that began before the deploy: its firings before now are past, the count goes on
    ("timeCycle", "R5/2026-12-06T06:00:00Z/PT1H", Schedule(datetime(2026, 12, 6, 10, tzinfo=UTC), 1, HOUR)),
    ("timeCycle", "R/2026-12-06T06:00:00Z/PT1H", Schedule(datetime(2026, 12, 6, 10, tzinfo=UTC), -1, HOUR)),
    ("timeCycle", "R/2026-12-06T09:30:00Z/PT1H", Schedule(NOW, -1, HOUR)),  # a firing now is not past
    ("timeCycle", "0 0 18 * * ?", Schedule(datetime(2026, 12, 6, 18, tzinfo=UTC), -1, timedelta(days=1))),
])
def test_each_kind_of_timer_has_its_first_start(kind, value, expected):
    assert schedule_of(_definition(kind, value), NOW) == expected


@pytest.mark.parametrize(("kind", "value", "why"), [
    ("timeCycle", "${reportCycle}", "reads data"),
    ("timeCycle", "R3/2026-12-06T06:00:00Z/PT1H", "fires no more"),  # its three firings were before now
    ("timeDuration", "PT1S", "fires"),
])
def test_a_timer_with_no_schedule_says_why(kind, value, why):
    if why == "fires":  # a duration, however short, starts one instance: not a refusal
        assert schedule_of(_definition(kind, value), NOW).remaining == 1
        return
    with pytest.raises(NoSchedule, match=why):
        schedule_of(_definition(kind, value), NOW)


@given(count=st.integers(min_value=-1, max_value=50).filter(lambda n: n != 0),
       late=st.integers(min_value=0, max_value=10_000), minutes=st.integers(min_value=1, max_value=1440))
def test_the_following_start_is_after_now_on_the_cycle_and_the_count_goes_down_by_one(count, late, minutes):
    interval = timedelta(minutes=minutes)
    schedule = Schedule(NOW, count, interval)
    at = NOW + timedelta(minutes=late)  # the worker starts it `late` minutes after its time
    following = schedule.following(at)
    if count == 1:
        assert following is None
        return
    assert following is not None
    assert following.at > at and (following.at - NOW) % interval == timedelta(0)
    assert following.at - interval <= at  # the first firing after `at`: missed ones are not made up
    assert following.remaining == (count - 1 if count > 0 else -1)


def test_a_schedule_of_one_start_has_no_following():
    assert Schedule(NOW, 1, None).following(NOW) is None
    assert Schedule(NOW, 1, HOUR).following(NOW) is None


_TWO_STARTS = ('<bpmn:startEvent id="by_hand"/><bpmn:startEvent id="hourly"><bpmn:timerEventDefinition>{timer}'
               '</bpmn:timerEventDefinition></bpmn:startEvent><bpmn:scriptTask id="count"><bpmn:script>n = 1'
               '</bpmn:script></bpmn:scriptTask><bpmn:userTask id="review"/><bpmn:endEvent id="end"/>'
               + _flow("f1", "by_hand", "count") + _flow("f2", "hourly", "count") + _flow("f3", "count", "review")
               + _flow("f4", "review", "end"))


@pytest.mark.parametrize("timer", ['<bpmn:timeCycle>"R3/PT1H"</bpmn:timeCycle>',
                                   '<bpmn:timeDate>"2030-01-01T00:00:00Z"</bpmn:timeDate>',
                                   '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration>'])
@pytest.mark.parametrize("with_none_start", [True, False])
def test_an_instance_its_timer_starts_runs_that_path_once_and_waits_for_no_timer(timer, with_none_start):
    body = _TWO_STARTS.format(timer=timer)
    if not with_none_start:
        body = body.replace('<bpmn:startEvent id="by_hand"/>', "").replace(_flow("f1", "by_hand", "count"), "")
    process = inline(body).processes["inline"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    outcome = engine.start_on_timer(workflow, "hourly")
    assert outcome.status == "waiting" and [t.element_id for t in outcome.ready] == ["review"]
    assert outcome.due_at is None and outcome.waits == ["review"]  # the cycle does not fire again in it
    assert outcome.data == {"n": 1}
    assert ("timer_fired", "hourly") in [(kind, element) for kind, element, _ in outcome.history]
    done = engine.complete_user_task(workflow, outcome.ready[0].engine_task_id, {})
    assert done.status == "completed" and done.end_events == ["end"]
    assert _ran(workflow).count("count") == 1 and "by_hand" not in _ran(workflow)
