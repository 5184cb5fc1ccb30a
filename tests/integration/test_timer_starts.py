"""Timer start events start instances on their schedule (issue 17), on both databases.

Camunda 7 starts a new instance each time a process's timer start event fires; Loanflow started none (an
instance started by hand waited at the timer). Now a deploy writes the schedule and the worker's pass
(`timers run-due`) starts what is due, each firing once, however many workers race. The tests move the
`clock` fixture; they never sleep.
"""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.engine.parser import DiagramFile
from app.extensions import db
from app.models import ProcessInstance, TimerStart
from app.services.workflow.deployment import deploy_and_commit
from app.services.workflow.timer_starts import start_due
from tests.integration.instance_api import history, instance, kinds, open_tasks, start
from tests.integration.test_timers import run_due

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # where the clock fixture starts
PROCESS = "timer_start_hourly"


def _schedule(app, process_id: str = PROCESS) -> list[tuple[str, datetime | None, int]]:
    with app.app_context():
        rows = db.session.execute(select(TimerStart.element_id, TimerStart.next_at, TimerStart.remaining)
                                  .where(TimerStart.process_id == process_id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def _instances(app, process_id: str = PROCESS) -> list[int]:
    with app.app_context():
        ids = list(db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.process_id == process_id)
                                      .order_by(ProcessInstance.id)))
        db.session.remove()
    return ids


def _deploy_text(app, name: str, body: str, process_id: str) -> None:
    content = (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
               f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_{process_id}" targetNamespace="t">'
               f'<bpmn:process id="{process_id}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>')
    with app.app_context():
        deploy_and_commit([DiagramFile(name, content.encode())])
        db.session.remove()


def _timer_start(timer: str) -> str:
    return (f'<bpmn:startEvent id="when"><bpmn:timerEventDefinition>{timer}</bpmn:timerEventDefinition>'
            '</bpmn:startEvent><bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f1" sourceRef="when" targetRef="end"/>')


def test_a_timer_cycle_starts_one_instance_per_firing_and_stops_after_its_count(app, client, auth, deploy, clock,
                                                                                runner):
    deploy("timer_start_hourly.bpmn")
    assert _schedule(app) == [("every_hour", T0 + timedelta(hours=1), 3)]

    assert run_due(runner, app, clock, T0 + timedelta(minutes=59)) == "woke 0 instance(s)"
    assert _instances(app) == []
    assert run_due(runner, app, clock, T0 + timedelta(hours=1)) == \
        "woke 0 instance(s); started 1 at timer start events"
    [first] = _instances(app)
    started = instance(client, auth, first)
    assert started["status"] == "waiting" and started["data"]["counted"] is True
    assert list(open_tasks(client, auth, first)) == ["review"]
    events = history(client, auth, first)
    [begun] = kinds(events, "started")
    assert begun["details"]["timer"] == "every_hour" and begun["element_id"] == "every_hour"
    assert [e["element_id"] for e in kinds(events, "timer_fired")] == ["every_hour"]
    assert _schedule(app) == [("every_hour", T0 + timedelta(hours=2), 2)]

    # the same moment again starts nothing more, and the instance it started waits for no timer
    assert run_due(runner, app, clock, T0 + timedelta(hours=1)) == "woke 0 instance(s)"
    assert _instances(app) == [first]

    # five hours later: the missed firings are not made up — one instance, then the next firing after now
    assert run_due(runner, app, clock, T0 + timedelta(hours=5)).endswith("started 1 at timer start events")
    assert len(_instances(app)) == 2
    assert _schedule(app) == [("every_hour", T0 + timedelta(hours=6), 1)]
    assert run_due(runner, app, clock, T0 + timedelta(hours=6)).endswith("started 1 at timer start events")
    assert _schedule(app) == [("every_hour", None, 0)]  # three starts: its count is spent
    assert run_due(runner, app, clock, T0 + timedelta(days=2)) == "woke 0 instance(s)"
    assert len(_instances(app)) == 3


def test_an_instance_started_by_hand_starts_at_the_none_start_event_and_waits_for_no_timer(app, client, auth, deploy):
    deploy("timer_start_hourly.bpmn")
    started = start(client, auth, PROCESS)
    assert started["status"] == "waiting" and list(open_tasks(client, auth, started["id"])) == ["review"]
    assert kinds(history(client, auth, started["id"]), "timer_fired") == []
    [begun] = kinds(history(client, auth, started["id"]), "started")
    assert "timer" not in begun["details"] and begun["element_id"] is None


def test_a_new_version_replaces_the_schedule_and_one_without_timer_start_events_removes_it(app, clock):
    _deploy_text(app, "daily.bpmn", _timer_start("<bpmn:timeCycle>R/P1D</bpmn:timeCycle>"), "daily")
    assert _schedule(app, "daily") == [("when", T0 + timedelta(days=1), -1)]
    clock.advance(hours=3)
    _deploy_text(app, "daily.bpmn", _timer_start("<bpmn:timeCycle>R/PT12H</bpmn:timeCycle>"), "daily")
    assert _schedule(app, "daily") == [("when", T0 + timedelta(hours=15), -1)]
    _deploy_text(app, "daily.bpmn", '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>'
                 '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>', "daily")
    assert _schedule(app, "daily") == []


@pytest.mark.parametrize(("timer", "first"), [
    ('<bpmn:timeDate>2026-11-28T08:00:00Z</bpmn:timeDate>', T0 - timedelta(hours=1)),  # passed: due at once
    ('<bpmn:timeDuration>PT30M</bpmn:timeDuration>', T0 + timedelta(minutes=30)),
    ('<bpmn:timeCycle>0 0 18 * * ?</bpmn:timeCycle>', T0.replace(hour=18)),  # Quartz cron: every day at 18:00
])
def test_a_date_a_duration_and_a_cron_each_start_at_their_time(app, clock, timer, first):
    _deploy_text(app, "once.bpmn", _timer_start(timer), "once")
    assert _schedule(app, "once")[0][1] == first
    clock.current = first
    with app.app_context():
        report = start_due()
        db.session.remove()
    assert len(report.started) == 1 and report.failed == 0
    with app.app_context():
        assert db.session.get(ProcessInstance, report.started[0]).status == "completed"
        db.session.remove()
    with app.app_context():
        assert start_due().started == []  # once per firing
        db.session.remove()


@pytest.mark.parametrize(("language", "repeats"), [("en", "At each time of the cron"), ("zh-CN", "按 cron 的每个时刻")])
def test_the_process_page_and_the_api_show_a_cron_of_uneven_gaps(app, client, auth, language, repeats):
    _deploy_text(app, "twice.bpmn", _timer_start("<bpmn:timeCycle>0 0 0,12 ? * * *</bpmn:timeCycle>"), "twice")
    _signed_in_analyst(app, client)
    row = _timer_row(client.get("/processes/twice", headers={"Accept-Language": language}).text, "when")
    assert f'{repeats} <code translate="no">0 0 0,12 ? * * *</code> (UTC)' in row  # not "Once"
    [timer] = {p["process_id"]: p for p in client.get("/api/v1/process-definitions", headers=auth).json}[
        "twice"]["timer_starts"]
    assert timer["cron"] == "0 0 0,12 ? * * *" and timer["interval_seconds"] is None and timer["remaining"] == -1


def test_a_cron_of_uneven_gaps_starts_an_instance_at_each_match(app, clock):
    """A production scheduler's cron (midnight and noon) was refused as "not a fixed period"."""
    _deploy_text(app, "twice.bpmn", _timer_start("<bpmn:timeCycle>0 0 0,12 ? * * *</bpmn:timeCycle>"), "twice")
    assert _schedule(app, "twice") == [("when", T0.replace(hour=12), -1)]
    for due, following in ((T0.replace(hour=12), T0.replace(day=29, hour=0)),
                           (T0.replace(day=29, hour=0), T0.replace(day=29, hour=12))):
        clock.current = due
        with app.app_context():
            report = start_due()
            db.session.remove()
        assert len(report.started) == 1 and report.failed == 0
        assert _schedule(app, "twice") == [("when", following, -1)]
    assert len(_instances(app, "twice")) == 2


@pytest.mark.parametrize("timer", ["<bpmn:timeCycle>R/PT1H</bpmn:timeCycle>",
                                   "<bpmn:timeCycle>0 0 0,12 ? * * *</bpmn:timeCycle>",
                                   "<bpmn:timeDuration>PT2H</bpmn:timeDuration>"])
def test_a_process_whose_one_start_event_is_a_timer_started_by_hand_runs_at_once(app, client, auth, timer):
    """As Camunda starts it. Before, the instance waited at its timer, and a cycle ran its path again at every
    firing without the instance ever ending (a production scheduler started from the API)."""
    _deploy_text(app, "by_hand.bpmn", _timer_start(timer), "by_hand")
    started = start(client, auth, "by_hand")
    assert started["status"] == "completed"
    [begun] = kinds(history(client, auth, started["id"]), "started")
    assert begun["element_id"] == "when" and begun["details"]["start_event"] == "when"


def test_a_timer_value_that_reads_data_gets_no_schedule_and_is_said_at_validate(app, runner):
    _deploy_text(app, "data.bpmn", _timer_start("<bpmn:timeCycle>${reportCycle}</bpmn:timeCycle>"), "needs_data")
    assert _schedule(app, "needs_data") == []
    with app.app_context():
        from app.models import ProcessVersion
        warnings = db.session.scalar(select(ProcessVersion.warnings).where(ProcessVersion.process_id == "needs_data"))
        db.session.remove()
    [said] = [w["reason"] for w in warnings if w["element_id"] == "when" and "no instance" in w["reason"]]
    assert "reads data" in said and "reportCycle" in said


def test_racing_workers_start_each_firing_once(app, clock):
    """Four threads run the worker's pass at the same moment against the same database: each firing of two
    processes starts exactly one instance."""
    _deploy_text(app, "a.bpmn", _timer_start("<bpmn:timeCycle>R/PT1H</bpmn:timeCycle>"), "race_a")
    _deploy_text(app, "b.bpmn", _timer_start("<bpmn:timeDate>2026-11-28T09:30:00Z</bpmn:timeDate>"), "race_b")
    clock.current = T0 + timedelta(hours=1)
    barrier = threading.Barrier(4)
    started: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                barrier.wait()
                started.extend(start_due().started)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(started) == sorted(_instances(app, "race_a") + _instances(app, "race_b"))
    assert len(_instances(app, "race_a")) == 1 and len(_instances(app, "race_b")) == 1
    assert _schedule(app, "race_a") == [("when", T0 + timedelta(hours=2), -1)]
    assert _schedule(app, "race_b") == [("when", None, 0)]


def _signed_in_analyst(app, client) -> None:
    """The catalogue's reader: an analyst of the platform, signed in on `client`."""
    from app.services.identity import directory as identity
    from tests.integration.test_identity import set_password, sign_in

    with app.app_context():
        identity.create_user("ana", "PLATFORM", ["analyst"])
        db.session.remove()
    set_password(app, "ana")
    sign_in(client, "ana")


def _timer_row(page: str, element_id: str) -> str:
    row = page[page.index(f'<tr data-element="{element_id}">'):]
    return row[:row.index("</tr>")]


@pytest.mark.parametrize(("language", "heading", "every", "not_yet", "link"), [
    ("en", "Timer start events", "Every 1 hour", "Not yet", "Instance 1"),
    ("zh-CN", "定时开始事件", "每 1 小时", "尚未启动", "实例 1")])
def test_the_process_page_shows_when_each_timer_start_event_next_starts_an_instance(
        app, client, auth, deploy, clock, language, heading, every, not_yet, link):
    deploy("timer_start_hourly.bpmn")
    _signed_in_analyst(app, client)
    headers = {"Accept-Language": language}
    before = client.get(f"/processes/{PROCESS}", headers=headers)
    assert before.status_code == 200 and heading in before.text
    row = _timer_row(before.text, "every_hour")
    assert every in row and not_yet in row and ">Every hour</td>" in row  # the element's own name
    assert '<td class="left">3</td>' in row and '<td class="started">0</td>' in row

    clock.current = T0 + timedelta(hours=1)
    with app.app_context():
        assert len(start_due().started) == 1
        db.session.remove()
    row = _timer_row(client.get(f"/processes/{PROCESS}", headers=headers).text, "every_hour")
    assert link in row and f'href="/instances/{_instances(app)[0]}"' in row and not_yet not in row
    assert '<td class="left">2</td>' in row and '<td class="started">1</td>' in row


def test_the_api_lists_each_processs_timer_starts(app, client, auth, deploy):
    deploy("timer_start_hourly.bpmn", "timer_duration.bpmn")
    listed = client.get("/api/v1/process-definitions", headers=auth)
    assert listed.status_code == 200
    by_id = {p["process_id"]: p for p in listed.json}
    [timer] = by_id[PROCESS]["timer_starts"]
    assert timer == {"element_id": "every_hour", "next_at": (T0 + timedelta(hours=1)).isoformat(), "remaining": 3,
                     "interval_seconds": 3600.0, "cron": None, "started": 0, "last_instance_id": None}
    assert by_id["timer_duration"]["timer_starts"] == []


@pytest.mark.parametrize(("language", "heading", "by_hand", "by_signal"), [
    ("en", "How an instance starts", "started by a person, the API or a calling process",
     "started each time the signal rate_changed is sent"),
    ("zh-CN", "实例如何启动", "由人、API 或调用它的流程启动", "每次发送信号 rate_changed 时启动")])
def test_the_process_page_says_how_each_start_event_starts_an_instance(app, client, auth, deploy, language, heading,
                                                                      by_hand, by_signal):
    deploy("signal_start_reprice.bpmn")
    _signed_in_analyst(app, client)
    page = client.get("/processes/signal_start_reprice", headers={"Accept-Language": language}).text
    assert heading in page
    starts = page[page.index('<ul id="start-events">'):]
    starts = starts[:starts.index("</ul>")]
    assert by_hand in starts[starts.index('data-element="by_hand"'):starts.index('data-element="rate_changed"')]
    assert by_signal in starts[starts.index('data-element="rate_changed"'):]


def test_a_firing_that_can_start_no_instance_is_said_on_its_row_and_the_schedule_goes_on(app, clock, monkeypatch):
    """The process cannot be built when its timer fires (here: the engine refuses it): no instance, the reason
    kept on the row for the process page, and the schedule moves on — it is not tried again every second."""
    from app.engine.errors import CannotStart

    _deploy_text(app, "hourly.bpmn", _timer_start("<bpmn:timeCycle>R/PT1H</bpmn:timeCycle>"), "broken")
    engine = app.extensions["loanflow_runtime"].engine

    def refuse(*_args, **_kwargs):
        raise CannotStart("the process cannot start at when: testing")

    monkeypatch.setattr(engine, "new_workflow", refuse)
    clock.current = T0 + timedelta(hours=1)
    with app.app_context():
        report = start_due()
        again = start_due()
        db.session.remove()
    assert (report.started, report.failed) == ([], 1) and (again.started, again.failed) == ([], 0)
    assert _instances(app, "broken") == []
    with app.app_context():
        row = db.session.scalar(select(TimerStart).where(TimerStart.process_id == "broken"))
        assert row.next_at == T0 + timedelta(hours=2) and row.started == 0 and row.last_instance_id is None
        assert row.last_error["due_at"] == (T0 + timedelta(hours=1)).isoformat()
        assert "the process cannot start at when: testing" in row.last_error["why"]
        db.session.remove()
