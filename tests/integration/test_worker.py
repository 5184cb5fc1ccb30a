"""Real worker processes against one PostgreSQL: each timer fires once, a killed worker loses nothing.

The workers are `flask --app wsgi timers run-due` and `flask --app wsgi worker` subprocesses with
the test handlers of `tests/fixtures/worker_handlers.py`, which keep a ledger of their calls in a
folder. Each test gets a fresh database on the server of TEST_DATABASE_URL (with
LOANFLOW_REQUIRE_SERVICES=1 a missing server fails the tests instead of skipping them).
Every wait is bounded; nothing sleeps for a fixed time.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app import create_app
from app.engine.parser import DiagramFile
from app.extensions import db
from app.services.identity.directory import ensure_platform_admin
from app.services.workflow.deployment import deploy_and_commit
from app.services.workflow.instances import start_instance

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_SERVICES = os.environ.get("LOANFLOW_REQUIRE_SERVICES") == "1"
HANDLERS = "tests.fixtures.worker_handlers"
SECRET_KEY = "worker-test-secret"
PROCESS_ID = "timer_then_service"
INSTANCES = 200
WAIT = 30.0  # the bound of every wait below, in seconds

pytestmark = pytest.mark.slow

# start -> wait one minute -> test.record_key (records its idempotency key) -> end
DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_timer_then_service" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="timer_then_service" name="A minute, then a service call" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="one_minute" name="One minute">
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="ted_one_minute"><bpmn:timeDuration>"PT1M"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="record" name="Record the key">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="test.record_key" resultVariable="recorded">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="label" type="str" value="'loan-' + str(n)"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="one_minute"/>
    <bpmn:sequenceFlow id="f1" sourceRef="one_minute" targetRef="record"/>
    <bpmn:sequenceFlow id="f2" sourceRef="record" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database on the TEST_DATABASE_URL server, dropped afterwards."""
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        if REQUIRE_SERVICES:
            pytest.fail("LOANFLOW_REQUIRE_SERVICES=1 but TEST_DATABASE_URL is not set: PostgreSQL is required")
        pytest.skip("the worker tests need PostgreSQL (set TEST_DATABASE_URL)")
    admin_url = raw.replace("postgresql://", "postgresql+psycopg://", 1) if raw.startswith("postgresql://") else raw
    name = f"loanflow_worker_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def worker_app(pg_url):
    """The app of the test process on that database: migrated, the diagram deployed."""
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": pg_url, "SECRET_KEY": SECRET_KEY,
                      "HANDLER_MODULES": [HANDLERS]})
    with app.app_context():
        upgrade()
        deploy_and_commit([DiagramFile("timer_then_service.bpmn", DIAGRAM)])
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ledger(tmp_path) -> Path:
    folder = tmp_path / "ledger"
    folder.mkdir()
    return folder


@pytest.fixture
def spawn(pg_url, ledger, tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `flask --app wsgi <args>` as a worker process; every one left is killed at the end."""
    started: list[subprocess.Popen] = []

    def _spawn(*args: str, **env: str) -> subprocess.Popen:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("LOANFLOW_TEST_")}
        environ.update(DATABASE_URL=pg_url, SECRET_KEY=SECRET_KEY, LOANFLOW_HANDLER_MODULES=HANDLERS,
                       LOANFLOW_TEST_HANDLER_DIR=str(ledger), PYTHONUNBUFFERED="1", **env)
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                                    env=environ, stdout=out, stderr=subprocess.STDOUT)
        proc.log = log  # type: ignore[attr-defined]
        started.append(proc)
        return proc

    yield _spawn
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(WAIT)


# -- helpers ----------------------------------------------------------------------------------
def wait_until(condition: Callable[[], Any], what: str, procs: tuple[subprocess.Popen, ...] = ()) -> Any:
    """Poll `condition` until it is truthy (at most WAIT s); fail early if a process in `procs` died."""
    deadline = time.monotonic() + WAIT
    while True:
        value = condition()
        if value:
            return value
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"waiting for {what}: the worker exited with {proc.returncode}:\n{output(proc)}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WAIT:.0f} s waiting for {what}")
        time.sleep(0.02)


def output(proc: subprocess.Popen) -> str:
    return proc.log.read_text(errors="replace")  # type: ignore[attr-defined]


def finish(proc: subprocess.Popen) -> str:
    try:
        proc.wait(WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(WAIT)
        pytest.fail(f"a worker did not finish within {WAIT:.0f} s:\n{output(proc)}")
    assert proc.returncode == 0, output(proc)
    return output(proc)


def run_due_together(spawn, tmp_path: Path, at: datetime) -> tuple[tuple[subprocess.Popen, ...], list[str]]:
    """Two `timers run-due --now AT` processes, held at a gate until both are up, then let go together; the
    processes and their outputs."""
    gate = tmp_path / "gate"
    gate.mkdir()
    workers = tuple(spawn("timers", "run-due", "--now", at.isoformat(), LOANFLOW_TEST_START_GATE=str(gate))
                    for _ in range(2))
    wait_until(lambda: len(list(gate.glob("ready-*"))) == 2, "both workers at the start gate", workers)
    (gate / "go").touch()
    return workers, [finish(w) for w in workers]


def start_instances(app, count: int, at: datetime) -> list[int]:
    app.extensions["loanflow_clock"] = lambda: at
    try:
        with app.app_context():
            ids = [start_instance(PROCESS_ID, None, business_key=f"loan-{n}", data={"n": n}) for n in range(count)]
            db.session.remove()
    finally:
        app.extensions.pop("loanflow_clock", None)
    return ids


def rows(app, sql: str, **params: Any) -> list[sa.Row]:
    with app.app_context():
        result = db.session.execute(sa.text(sql), params).all()
        db.session.remove()
    return result


def event_kinds(client, headers: dict[str, str], instance_id: int) -> Counter:
    """The kinds of an instance's history, through GET /api/v1/process-instances/{id}/events."""
    response = client.get(f"/api/v1/process-instances/{instance_id}/events?per_page=500", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == len(body["items"])
    return Counter(item["kind"] for item in body["items"])


def calls(ledger: Path) -> list[tuple[int, str]]:
    """(pid, idempotency key) of every call of the handler, killed ones included."""
    path = ledger / "calls.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return [(int(pid), key) for pid, key in (line.split(" ", 1) for line in lines)]


def admin_headers(app) -> dict[str, str]:
    with app.app_context():
        token = ensure_platform_admin()
        db.session.remove()
    return {"Authorization": f"Bearer {token}"}


# -- the tests --------------------------------------------------------------------------------
def test_two_workers_fire_every_timer_once_and_call_every_handler_once(worker_app, ledger, spawn, tmp_path):
    started_at = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    ids = start_instances(worker_app, INSTANCES, started_at)
    due = rows(worker_app, "SELECT status, due_at, count(*) FROM process_instances GROUP BY status, due_at")
    assert [(r[0], r[2]) for r in due] == [("waiting", INSTANCES)]
    assert due[0][1].replace(tzinfo=UTC) == started_at + timedelta(minutes=1)

    workers, outputs = run_due_together(spawn, tmp_path, started_at + timedelta(minutes=5))

    woke = []
    for text in outputs:
        found = re.search(r"woke (\d+) instance\(s\)", text)
        assert found, text
        woke.append(int(found.group(1)))
    assert sum(woke) == INSTANCES, outputs
    assert all(n > 0 for n in woke), f"both workers must have done part of the work: {woke}"

    # Every instance completed, after one step by one worker.
    final = rows(worker_app, "SELECT id, status, lock_version, due_at, data FROM process_instances ORDER BY id")
    assert [r.id for r in final] == sorted(ids)
    assert {(r.status, r.lock_version, r.due_at) for r in final} == {("completed", 3, None)}

    # The history, through the API: one timer_fired, one completed, nothing failed or retried.
    client, headers = worker_app.test_client(), admin_headers(worker_app)
    for instance_id in ids:
        kinds = event_kinds(client, headers, instance_id)
        assert kinds["timer_fired"] == 1, (instance_id, kinds)
        assert kinds["completed"] == 1, (instance_id, kinds)
        assert kinds["service_failed"] == kinds["service_retried"] == kinds["error"] == 0, (instance_id, kinds)

    # The handler ran once per instance, in both processes, each with its own instance's key.
    made = calls(ledger)
    keys = [key for _pid, key in made]
    assert len(made) == INSTANCES and len(set(keys)) == INSTANCES
    assert {int(key.split(":")[0]) for key in keys} == set(ids)
    assert {pid for pid, _key in made} == {w.pid for w in workers}
    assert sorted(Counter(pid for pid, _key in made).values()) == sorted(woke)
    assert len(list((ledger / "effects").iterdir())) == INSTANCES
    assert rows(worker_app, "SELECT id FROM incidents") == []
    for row in final:  # the result the instance kept is that of its one call
        assert row.data["recorded"]["key"] in keys and row.data["recorded"]["key"].startswith(f"{row.id}:")
        assert row.data["recorded"]["first_call"] is True


def test_worker_killed_mid_step_loses_nothing_and_another_finishes_once(worker_app, ledger, spawn):
    # Started ten minutes ago by the real clock: the one-minute timer is due for a real `flask worker`.
    [instance_id] = start_instances(worker_app, 1, datetime.now(UTC) - timedelta(minutes=10))
    snapshot_sql = ("SELECT status, due_at, lock_version, state, data, waiting_for, error, updated_at "
                    "FROM process_instances WHERE id = :i")
    before = rows(worker_app, snapshot_sql, i=instance_id)
    events_before = rows(worker_app, "SELECT id, kind FROM instance_events WHERE instance_id = :i ORDER BY id",
                         i=instance_id)
    tasks_before = rows(worker_app, "SELECT id, state FROM human_tasks WHERE instance_id = :i ORDER BY id",
                        i=instance_id)
    assert before[0].status == "waiting" and before[0].due_at is not None

    # A worker takes the instance and blocks inside the handler, in the middle of the step.
    victim = spawn("worker", "--interval", "0.2", LOANFLOW_TEST_HANDLER_BLOCK="1")
    inside = ledger / f"inside-{victim.pid}"
    wait_until(inside.exists, "the worker to be inside the handler", (victim,))

    # Meanwhile another pass skips the row the first worker holds (FOR UPDATE SKIP LOCKED).
    bystander = spawn("timers", "run-due")
    assert "woke 0 instance(s), 1 skipped" in finish(bystander)

    victim.send_signal(signal.SIGKILL)
    victim.wait(WAIT)
    assert victim.returncode == -signal.SIGKILL

    # Nothing of the interrupted step is left: same row, same history, same tasks, still due.
    assert rows(worker_app, snapshot_sql, i=instance_id) == before
    assert rows(worker_app, "SELECT id, kind FROM instance_events WHERE instance_id = :i ORDER BY id",
                i=instance_id) == events_before
    assert rows(worker_app, "SELECT id, state FROM human_tasks WHERE instance_id = :i ORDER BY id",
                i=instance_id) == tasks_before
    assert rows(worker_app, "SELECT id FROM incidents") == []
    assert calls(ledger) == [(victim.pid, inside.read_text())]  # the handler had been called once

    # Another worker (not blocking) finishes the work.
    rescuer = spawn("worker", "--interval", "0.2")
    wait_until(lambda: rows(worker_app, "SELECT status FROM process_instances WHERE id = :i",
                            i=instance_id)[0].status == "completed", "the instance to complete", (rescuer,))
    rescuer.terminate()
    rescuer.wait(WAIT)

    after = rows(worker_app, snapshot_sql, i=instance_id)[0]
    assert after.lock_version == before[0].lock_version + 1  # exactly one step committed
    assert after.due_at is None
    kinds = event_kinds(worker_app.test_client(), admin_headers(worker_app), instance_id)
    assert kinds["timer_fired"] == 1 and kinds["completed"] == 1, kinds
    assert kinds["service_failed"] == kinds["service_retried"] == kinds["error"] == 0, kinds

    # The handler was called again with the same idempotency key, so its effect happened once:
    # the killed worker's call made it, the rescuer's call recognised the key.
    made = calls(ledger)
    assert [pid for pid, _key in made] == [victim.pid, rescuer.pid]
    assert len({key for _pid, key in made}) == 1 and made[0][1].startswith(f"{instance_id}:")
    [effect] = list((ledger / "effects").iterdir())
    assert effect.read_text().split()[0] == str(victim.pid)
    assert after.data["recorded"] == {"key": made[0][1], "first_call": False}
    assert rows(worker_app, "SELECT id FROM incidents") == []


# A loop that calls a service several times within one step, after a wait.
LOOP_AFTER_WAIT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_loop_after_wait" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="loop_after_wait" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="one_minute"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="ted"><bpmn:timeDuration>"PT1M"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:exclusiveGateway id="merge"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>again</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:serviceTask id="record"><bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="test.record_key" resultVariable="recorded"/></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:scriptTask id="count"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="more" default="done"><bpmn:incoming>f4</bpmn:incoming>
      <bpmn:outgoing>done</bpmn:outgoing><bpmn:outgoing>again</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="one_minute"/>
    <bpmn:sequenceFlow id="f1" sourceRef="one_minute" targetRef="merge"/>
    <bpmn:sequenceFlow id="f2" sourceRef="merge" targetRef="record"/>
    <bpmn:sequenceFlow id="f3" sourceRef="record" targetRef="count"/>
    <bpmn:sequenceFlow id="f4" sourceRef="count" targetRef="more"/>
    <bpmn:sequenceFlow id="done" sourceRef="more" targetRef="end"/>
    <bpmn:sequenceFlow id="again" sourceRef="more" targetRef="merge">
      <bpmn:conditionExpression>n &lt; 3</bpmn:conditionExpression></bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_redone_step_calls_its_services_with_the_same_keys():
    """What a worker killed mid-step relies on: redoing the step from the stored state repeats its keys.

    Keys are '<instance id>:<engine task id>'; tasks created during the step (the 2nd and later passes
    of a loop) get ids from `deterministic_ids`, which `run_step` scopes to (instance, lock_version).
    """
    from app.engine.parser import parse_diagrams
    from app.engine.runner import ProcessEngine
    from app.engine.task_ids import deterministic_ids

    process = parse_diagrams([DiagramFile("loop_after_wait.bpmn", LOOP_AFTER_WAIT)]).processes["loop_after_wait"]
    at = [datetime(2026, 11, 28, 9, 0, tzinfo=UTC)]
    keys: list[str] = []
    engine = ProcessEngine(call_service=lambda _op, _params, ctx: keys.append(ctx["engine_task_id"]) or {},
                           clock=lambda: at[0])
    waiting = engine.advance(engine.new_workflow(process.spec, process.embedded, {"n": 0}))
    assert waiting.status == "waiting" and keys == []
    at[0] += timedelta(minutes=5)
    redone = []
    for _attempt in range(2):  # the killed worker's step, then the same step again by another worker
        keys.clear()
        with deterministic_ids("41:2"):
            outcome = engine.wake(engine.restore(waiting.state, process.spec, process.embedded))
        assert outcome.status == "completed" and len(keys) == 3
        redone.append(list(keys))
    assert redone[0] == redone[1]
    assert len(set(redone[0])) == 3  # each pass of the loop its own key
    keys.clear()
    other = engine.wake(engine.restore(waiting.state, process.spec, process.embedded))  # outside a step scope
    # the first pass's task existed before the step; the two created during it get random ids outside a scope
    assert other.status == "completed" and len(set(keys) & set(redone[0])) == 1


def _timer_start_diagram(process_id: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
            f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_{process_id}" targetNamespace="t">'
            f'<bpmn:process id="{process_id}" isExecutable="true"><bpmn:startEvent id="hourly">'
            '<bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>'
            '</bpmn:startEvent><bpmn:scriptTask id="count"><bpmn:script>counted = True</bpmn:script></bpmn:scriptTask>'
            '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f1" sourceRef="hourly" targetRef="count"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="end"/></bpmn:process></bpmn:definitions>').encode()


def test_two_workers_start_one_instance_per_timer_start_firing(worker_app, spawn, tmp_path):
    """Fifty processes whose timer start events fire every hour, deployed at 09:00; two `timers run-due`
    processes let go together at 10:00 start one instance of each, not two."""
    processes = [f"hourly_{n}" for n in range(50)]
    deployed_at = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    worker_app.extensions["loanflow_clock"] = lambda: deployed_at
    try:
        with worker_app.app_context():
            deploy_and_commit([DiagramFile(f"{p}.bpmn", _timer_start_diagram(p)) for p in processes])
            db.session.remove()
    finally:
        worker_app.extensions.pop("loanflow_clock", None)
    _workers, outputs = run_due_together(spawn, tmp_path, deployed_at + timedelta(hours=1))

    said = [re.search(r"started (\d+) at timer start events", text) for text in outputs]
    assert sum(int(found.group(1)) for found in said if found) == len(processes), outputs
    started = rows(worker_app, "SELECT process_id, status, count(*) AS n FROM process_instances "
                               "GROUP BY process_id, status ORDER BY process_id")
    assert [(r.process_id, r.status, r.n) for r in started] == [(p, "completed", 1) for p in sorted(processes)]
    schedule = rows(worker_app, "SELECT next_at, started, last_error FROM timer_starts")
    assert {(r.next_at.replace(tzinfo=UTC), r.started, r.last_error) for r in schedule} == \
        {(deployed_at + timedelta(hours=2), 1, None)}
