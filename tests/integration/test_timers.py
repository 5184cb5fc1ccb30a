"""Timers on every backend: duration, date and cycle; intermediate and boundary; the worker and `timers run-due`.

The tests move the `clock` fixture (the services' and the engine's only source of time); they never sleep.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.scheduler import wake_due_job
from tests.integration.instance_api import (
    complete,
    due_at,
    ended_at,
    history,
    instance,
    kinds,
    open_tasks,
    start,
    wake,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # where the clock fixture starts


def run_due(runner, app, clock, at: datetime) -> str:
    """`flask timers run-due --now AT`; the command sets the app's clock, so put the test's back."""
    try:
        result = runner.invoke(args=["timers", "run-due", "--now", at.isoformat()], catch_exceptions=False)
    finally:
        app.extensions["loanflow_clock"] = clock
    assert result.exit_code == 0, result.output
    return result.output.strip()


def fired(client, auth, instance_id: int, element_id: str) -> list[dict]:
    return [e for e in kinds(history(client, auth, instance_id), "timer_fired") if e["element_id"] == element_id]


def test_intermediate_duration_timer_waits_and_fires_through_the_worker(app, client, auth, deploy, clock):
    deploy("timer_duration.bpmn")
    inst = start(client, auth, "timer_duration")
    assert inst["status"] == "waiting" and open_tasks(client, auth, inst["id"]) == {}
    assert due_at(app, inst["id"]) == T0 + timedelta(hours=2)

    clock.advance(hours=1, minutes=59, seconds=59)
    assert wake(app) == []
    assert instance(client, auth, inst["id"])["status"] == "waiting"
    assert fired(client, auth, inst["id"], "cooling_off") == []

    clock.advance(seconds=1)
    assert wake(app) == [inst["id"]]
    after = instance(client, auth, inst["id"])
    assert after["status"] == "waiting" and after["data"]["cooled_off"] is True
    assert [t["element_id"] for t in after["tasks"]] == ["follow_up"]
    [event] = fired(client, auth, inst["id"], "cooling_off")
    assert event["details"]["due_at"] == (T0 + timedelta(hours=2)).isoformat()
    assert due_at(app, inst["id"]) is None  # waiting for a person now: nothing is due

    clock.advance(days=3)
    assert wake(app) == []  # nothing fires twice
    assert len(fired(client, auth, inst["id"], "cooling_off")) == 1
    complete(client, auth, open_tasks(client, auth, inst["id"])["follow_up"]["id"])
    assert instance(client, auth, inst["id"])["status"] == "completed"


def test_date_timer_fires_at_its_fixed_date_through_run_due(app, client, auth, deploy, clock, runner):
    deploy("timer_date.bpmn")
    inst = start(client, auth, "timer_date")
    value_date = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert inst["status"] == "waiting" and due_at(app, inst["id"]) == value_date

    assert run_due(runner, app, clock, value_date - timedelta(seconds=1)) == "woke 0 instance(s)"
    assert instance(client, auth, inst["id"])["status"] == "waiting"
    assert run_due(runner, app, clock, value_date) == "woke 1 instance(s)"
    done = instance(client, auth, inst["id"])
    assert done["status"] == "completed" and done["data"]["booked"] is True
    assert [e["details"]["due_at"] for e in fired(client, auth, inst["id"], "value_date")] == [value_date.isoformat()]
    assert due_at(app, inst["id"]) is None
    assert run_due(runner, app, clock, value_date + timedelta(days=1)) == "woke 0 instance(s)"


def test_run_due_fires_exactly_the_due_ones_and_nothing_the_second_time(app, client, auth, deploy, clock, runner):
    deploy("timer_duration.bpmn", "timer_date.bpmn")
    first = start(client, auth, "timer_duration")["id"]
    second = start(client, auth, "timer_duration")["id"]
    clock.advance(hours=1)
    later = start(client, auth, "timer_duration")["id"]  # due an hour after the others
    dated = start(client, auth, "timer_date")["id"]  # due on 1 December
    assert due_at(app, later) == T0 + timedelta(hours=3)

    assert run_due(runner, app, clock, T0 + timedelta(hours=2)) == "woke 2 instance(s)"
    for woken in (first, second):
        assert list(open_tasks(client, auth, woken)) == ["follow_up"]
        assert len(fired(client, auth, woken, "cooling_off")) == 1
    for waiting in (later, dated):
        assert open_tasks(client, auth, waiting) == {}
        assert kinds(history(client, auth, waiting), "timer_fired") == []
    assert due_at(app, later) == T0 + timedelta(hours=3)

    assert run_due(runner, app, clock, T0 + timedelta(hours=2)) == "woke 0 instance(s)"
    assert run_due(runner, app, clock, T0 + timedelta(hours=3)) == "woke 1 instance(s)"
    assert list(open_tasks(client, auth, later)) == ["follow_up"]
    assert all(len(fired(client, auth, i, "cooling_off")) == 1 for i in (first, second, later))
    assert instance(client, auth, dated)["status"] == "waiting"


def test_scheduler_job_wakes_due_instances_with_the_clock_moved(app, client, auth, deploy, clock):
    deploy("timer_duration.bpmn")
    ids = [start(client, auth, "timer_duration")["id"] for _ in range(3)]
    assert wake_due_job(app) == 0
    clock.advance(hours=2)
    assert wake_due_job(app) == 3
    assert wake_due_job(app) == 0
    assert all(list(open_tasks(client, auth, i)) == ["follow_up"] for i in ids)


def test_cycle_boundary_reminds_without_interrupting_then_interrupting_timer_expires(app, client, auth, deploy, clock):
    deploy("sign_with_reminders.bpmn")
    inst = start(client, auth, "sign_with_reminders")
    [sign] = open_tasks(client, auth, inst["id"]).values()
    assert due_at(app, inst["id"]) == T0 + timedelta(hours=24)  # the first reminder comes before the expiry

    clock.advance(hours=24)
    assert wake(app) == [inst["id"]]
    after = instance(client, auth, inst["id"])
    assert after["status"] == "waiting" and after["data"].get("reminded") is True
    assert [t["id"] for t in after["tasks"]] == [sign["id"]]  # non-interrupting: the same task stays open
    assert len(fired(client, auth, inst["id"], "remind")) == 1
    assert due_at(app, inst["id"]) == T0 + timedelta(hours=48)

    clock.advance(hours=24)
    assert wake(app) == [inst["id"]]
    assert len(fired(client, auth, inst["id"], "remind")) == 2
    assert open_tasks(client, auth, inst["id"])["sign"]["id"] == sign["id"]
    assert due_at(app, inst["id"]) == T0 + timedelta(hours=72)  # R2: no third reminder, the expiry is next

    clock.advance(hours=23)
    assert wake(app) == []
    clock.advance(hours=1)
    assert wake(app) == [inst["id"]]
    done = instance(client, auth, inst["id"])
    assert done["status"] == "completed" and done["tasks"] == []
    assert "end_expired" in ended_at(client, auth, inst["id"])
    assert "end_signed" not in ended_at(client, auth, inst["id"])
    assert len(fired(client, auth, inst["id"], "expire")) == 1
    assert len(fired(client, auth, inst["id"], "remind")) == 2
    assert [e["details"]["task_id"] for e in kinds(history(client, auth, inst["id"]), "task_cancelled")] == [sign["id"]]
    assert due_at(app, inst["id"]) is None


def test_completing_the_task_cancels_its_boundary_timers(app, client, auth, deploy, clock):
    deploy("sign_with_reminders.bpmn")
    inst = start(client, auth, "sign_with_reminders")
    clock.advance(hours=30)
    assert wake(app) == [inst["id"]]  # one reminder
    complete(client, auth, open_tasks(client, auth, inst["id"])["sign"]["id"])
    assert instance(client, auth, inst["id"])["status"] == "completed"
    assert ended_at(client, auth, inst["id"]).count("end_signed") == 1
    assert due_at(app, inst["id"]) is None
    clock.advance(days=10)
    assert wake(app) == []
    assert len(fired(client, auth, inst["id"], "remind")) == 1 and fired(client, auth, inst["id"], "expire") == []


def test_event_gateway_message_first_cancels_the_timer(app, client, auth, deploy, clock):
    deploy("signing_deadline.bpmn")
    inst = start(client, auth, "signing_deadline", business_key="LOAN-EG1")
    assert inst["status"] == "waiting" and due_at(app, inst["id"]) == T0 + timedelta(hours=72)

    clock.advance(hours=71, minutes=59)
    assert wake(app) == []
    r = client.post("/api/v1/messages", json={"name": "contract_signed", "correlation_key": "LOAN-EG1",
                                               "payload": {"signed_by": "borrower"}}, headers=auth)
    assert r.status_code == 200 and r.json["delivered_to"] == [inst["id"]]
    done = instance(client, auth, inst["id"])
    assert done["status"] == "completed" and done["data"]["signature"] == {"signed_by": "borrower"}
    assert ended_at(client, auth, inst["id"]) == ["end_signed"]
    assert due_at(app, inst["id"]) is None

    clock.advance(hours=1)  # the deadline passes: the timer branch is gone
    assert wake(app) == []
    assert kinds(history(client, auth, inst["id"]), "timer_fired") == []


def test_event_gateway_timer_first_stops_waiting_for_the_message(app, client, auth, deploy, clock):
    deploy("signing_deadline.bpmn")
    inst = start(client, auth, "signing_deadline", business_key="LOAN-EG2")
    clock.advance(hours=72)
    assert wake(app) == [inst["id"]]
    done = instance(client, auth, inst["id"])
    assert done["status"] == "completed" and "signature" not in done["data"]
    assert ended_at(client, auth, inst["id"]) == ["end_expired"]
    # The gateway waits for its branches' events itself; the history names the timer event.
    [event] = kinds(history(client, auth, inst["id"]), "timer_fired")
    assert event["element_id"] == "deadline"
    assert event["details"]["due_at"] == (T0 + timedelta(hours=72)).isoformat()

    r = client.post("/api/v1/messages", json={"name": "contract_signed", "correlation_key": "LOAN-EG2",
                                               "payload": {"signed_by": "late"}}, headers=auth)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert kinds(history(client, auth, inst["id"]), "message_received") == []



def _of_kinds(client, auth, instance_id: int, *wanted: str) -> list[tuple[str, str]]:
    return [(e["kind"], e["element_id"]) for e in history(client, auth, instance_id) if e["kind"] in wanted]


def test_the_history_says_the_timer_before_what_it_caused(app, client, auth, deploy, clock):
    """A timer's firing is written before the tasks it withdrew and opened in the same step (the history read
    "task opened" before "deadline reached", the timer that opened it)."""
    deploy("timer_duration.bpmn")
    inst = start(client, auth, "timer_duration")
    clock.advance(hours=2)
    assert wake(app) == [inst["id"]]
    assert _of_kinds(client, auth, inst["id"], "timer_fired", "task_ready") == [
        ("timer_fired", "cooling_off"), ("task_ready", "follow_up")]

    deploy("sign_with_reminders.bpmn")
    signing = start(client, auth, "sign_with_reminders")
    clock.advance(hours=72)
    assert wake(app) == [signing["id"]]
    events = _of_kinds(client, auth, signing["id"], "timer_fired", "task_cancelled")
    assert events.index(("timer_fired", "expire")) < events.index(("task_cancelled", "sign")), events
