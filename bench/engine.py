"""Per-instance cost of the twelve-step diagram: raw SpiffWorkflow, the service layer, and HTTP.

Also `floor`: raw plus only its state saved after each step, the least any persisting runner adds;
and what one script or expression costs in the sandbox, in process and in a sandbox process.

    .venv/bin/python bench/engine.py [--n 200] [--warmup 20] [--database postgresql://...]
                                     [--sandbox auto|always|off]

`--sandbox` sets where the runner mode's scripts run (`SandboxEnvironment.isolation`): `auto`
(production: in process when they can neither loop nor call, else in a sandbox process),
`always` (every one in a sandbox process) or `off` (every one in process, as before sandbox
processes). The HTTP mode's gunicorn always runs as in production.

Without --database, the runner and HTTP modes each use a fresh, migrated SQLite file in a
temporary folder. A PostgreSQL URL should name a scratch database: it is migrated, and the
diagram and the admin are deployed and seeded into it (both idempotent).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask_migrate import upgrade
from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from sqlalchemy import bindparam, select

from app import create_app
from app.engine.parser import DiagramFile
from app.engine.sandbox import SandboxEnvironment
from app.extensions import db
from app.models import HumanTask
from app.services.identity.directory import ensure_platform_admin, principal_for
from app.services.workflow.deployment import deploy_and_commit
from app.services.workflow.instances import start_instance
from app.services.workflow.queries import instance_detail
from app.services.workflow.tasks import complete_task

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "tests" / "fixtures" / "bpmn" / "twelve_steps.bpmn"
PROCESS_ID = "twelve_steps"
API = "/api/v1"
SECRET_KEY = "bench-not-secret"
STEPS: tuple[dict[str, Any], ...] = ({"approved": True}, {})  # the data submitted to the 'review' and 'approve' user tasks
RUNNER_TARGET, HTTP_TARGET, ARENA_RATIO = 2.0, 5.0, 105


def timed(run: Callable[[], object], n: int, warmup: int) -> list[float]:
    """Milliseconds per call of `run`, after `warmup` untimed calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return times


def in_memory(spec: Any, persist: Callable[[BpmnWorkflow], None] = lambda workflow: None) -> BpmnWorkflow:
    """One instance driven the raw way: engine steps, then each user task found and completed;
    `persist` is called after each of the three steps."""
    workflow = BpmnWorkflow(spec)
    workflow.do_engine_steps()
    persist(workflow)
    for name, data in zip(("review", "approve"), STEPS, strict=True):
        task = workflow.get_next_task(state=TaskState.READY, manual=True, spec_name=name)
        task.set_data(**data)
        task.run()
        workflow.do_engine_steps()
        persist(workflow)
    return workflow


def parsed_spec() -> Any:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(DIAGRAM))
    return parser.get_spec(PROCESS_ID)


def measure_raw(n: int, warmup: int) -> list[float]:
    """SpiffWorkflow alone, in memory: parse once, then run instances without serializing."""
    spec = parsed_spec()
    assert in_memory(spec).is_completed(), "raw instance did not complete"
    return timed(lambda: in_memory(spec), n, warmup)


def measure_floor(n: int, warmup: int, workdir: Path) -> list[float]:
    """`raw` plus the least any runner that keeps its instances must add: after each step the
    state (without the spec), as SpiffWorkflow's own serializer writes it, saved in one SQLite row
    and committed. No task rows, no history, no sandbox, no version check; plain `sqlite3` with
    the application's pragmas (WAL, synchronous=NORMAL)."""
    spec, serializer = parsed_spec(), BpmnWorkflowSerializer()
    connection = sqlite3.connect(workdir / "floor.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")

    def run() -> BpmnWorkflow:
        row: list[int] = []

        def persist(workflow: BpmnWorkflow) -> None:
            state = serializer.to_dict(workflow)
            del state["spec"], state["subprocess_specs"]
            connection.execute("BEGIN")
            if row:
                connection.execute("UPDATE instances SET state = ? WHERE id = ?", (json.dumps(state), row[0]))
            else:
                row.append(connection.execute("INSERT INTO instances (state) VALUES (?)",
                                              (json.dumps(state),)).lastrowid or 0)
            connection.execute("COMMIT")

        return in_memory(spec, persist)

    try:
        assert run().is_completed(), "floor instance did not complete"
        return timed(run, n, warmup)
    finally:
        connection.close()


def measure_runner(n: int, warmup: int, database_url: str, sandbox: str = "auto") -> list[float]:
    """The service layer on a database, one transaction per step, no HTTP."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(database_url), "SECRET_KEY": SECRET_KEY})
    environment = app.extensions["loanflow_runtime"].engine.script_engine.environment
    if hasattr(environment, "isolation"):  # an engine from before sandbox processes has no switch
        environment.isolation = sandbox
    with app.app_context():
        upgrade()
        deploy_and_commit([DiagramFile(DIAGRAM.name, DIAGRAM.read_bytes())])
        ensure_platform_admin()
        user = principal_for("admin")

        ready_task = select(HumanTask.id).where(HumanTask.instance_id == bindparam("instance_id"),
                                                HumanTask.state == "ready")

        def run() -> int:
            instance_id = start_instance(PROCESS_ID, user)
            for data in STEPS:
                task_id = db.session.connection().execute(ready_task, {"instance_id": instance_id}).scalar_one()
                complete_task(task_id, data, user)
            return instance_id

        status = instance_detail(user, run())["status"]
        assert status == "completed", f"runner instance ended {status!r}"
        times = timed(run, n, warmup)
        db.session.remove()
    return times


def measure_http(n: int, warmup: int, database_url: str, workdir: Path) -> list[float]:
    """Over real HTTP against one gunicorn worker, as an API client drives an instance.

    The client is one kept-alive `http.client` connection, so the figure is the server's:
    `requests` adds ~0.6 ms of its own to every request.
    """
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY}
    _flask(env, "db", "upgrade")
    _flask(env, "processes", "deploy", str(DIAGRAM))
    token = _flask(env, "seed", "admin").strip().splitlines()[-1]
    port = _free_port()
    # gunicorn.conf.py (threaded worker, keep-alive) as in production, with one worker process
    gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-w", "1",
                "-b", f"127.0.0.1:{port}", "wsgi:app"]
    log = workdir / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(gunicorn, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        _wait_until_healthy(port, server, log)
        auth = {"Authorization": f"Bearer {token}"}
        json_auth = {**auth, "Content-Type": "application/json"}

        def call(method: str, path: str, expect: int, body: dict | None = None) -> dict:
            if body is None:
                conn.request(method, API + path, headers=auth)
            else:
                conn.request(method, API + path, json.dumps(body), json_auth)
            response = conn.getresponse()
            payload = response.read()
            if response.status != expect:
                raise RuntimeError(f"{method} {path}: HTTP {response.status}, expected {expect}: {payload[:500]!r}")
            return json.loads(payload)

        def run() -> int:
            instance_id = call("POST", "/process-instances", 201, {"process_id": PROCESS_ID})["id"]
            for data in STEPS:
                query = urlencode({"instance_id": instance_id, "state": "ready"})
                tasks = call("GET", f"/tasks?{query}", 200)
                call("POST", f"/tasks/{tasks['items'][0]['id']}/complete", 200, {"data": data})
            return instance_id

        status = call("GET", f"/process-instances/{run()}", 200)["status"]
        assert status == "completed", f"HTTP instance ended {status!r}"
        return timed(run, n, warmup)
    finally:
        conn.close()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# What one run costs: a gateway condition, a one-line script, and a script that calls (always in a
# sandbox process in production).
SANDBOX_CASES: tuple[tuple[str, str, str], ...] = (
    ("condition", "evaluate", "approved == True and score == 10"),
    ("assignment", "execute", "score = score + 1"),
    ("call", "execute", "total = sum([score, 1])"),
)


def measure_sandbox(n: int, warmup: int) -> dict[str, dict[str, float]]:
    """Microseconds per run (median) of each case, for each value of `isolation`."""
    found: dict[str, dict[str, float]] = {}
    for name, method, source in SANDBOX_CASES:
        found[name] = {}
        for isolation in ("off", "auto", "always"):
            env = SandboxEnvironment(isolation=isolation)

            def run(env: SandboxEnvironment = env, method: str = method, source: str = source) -> None:
                getattr(env, method)(source, {"approved": True, "score": 9})

            found[name][isolation] = statistics.median(timed(run, n * 5, warmup)) * 1000
    return found


def report_sandbox(found: dict[str, dict[str, float]]) -> None:
    print("one script or expression, median microseconds per run:")
    print(f"{'case':<12}{'in process':>12}{'auto':>10}{'sandbox process':>17}")
    for name, by_mode in found.items():
        print(f"{name:<12}{by_mode['off']:>12.1f}{by_mode['auto']:>10.1f}{by_mode['always']:>17.1f}")


def _flask(env: dict[str, str], *args: str) -> str:
    """Run `flask --app wsgi <args>`; its stdout, or its stderr in the error."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(port: int, server: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while server.poll() is None and time.monotonic() < deadline:
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            probe.request("GET", API + "/healthz")
            if probe.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            probe.close()
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz (exit code {server.poll()}):\n{log.read_text()[-2000:]}")


def _sqlalchemy_url(url: str) -> str:
    """What app.config does with DATABASE_URL, for a URL handed to create_app directly."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def report(results: dict[str, list[float]]) -> None:
    raw = statistics.median(results["raw"])
    print(f"{'mode':<8}{'min ms':>10}{'median ms':>12}{'mean ms':>10}{'x raw':>9}")
    for mode, times in results.items():
        median = statistics.median(times)
        print(f"{mode:<8}{min(times):>10.2f}{median:>12.2f}{statistics.mean(times):>10.2f}{median / raw:>8.1f}x")
    print("ratios are of medians")
    checks = [
        (f"runner within {RUNNER_TARGET:g}x raw", "runner", RUNNER_TARGET),
        (f"HTTP life within {HTTP_TARGET:g}x raw; SpiffArena measured the same way takes ~{ARENA_RATIO}x",
         "http", HTTP_TARGET),
    ]
    for label, mode, target in checks:
        ratio = statistics.median(results[mode]) / raw
        print(f"{'PASS' if ratio <= target else 'MISS'}  {label}: {ratio:.1f}x")
    floor = statistics.median(results["floor"]) / raw
    print(f"floor (raw + its state saved to SQLite after each step, always SQLite): {floor:.1f}x raw, which "
          f"leaves {max(RUNNER_TARGET - floor, 0):.1f}x raw of the runner target for task rows, history, "
          "the sandbox and the version check")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="timed instances per mode (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed instances first (default 20)")
    parser.add_argument("--database", metavar="URL",
                        help="PostgreSQL URL for the runner and HTTP modes (default: a temp SQLite file each)")
    parser.add_argument("--sandbox", choices=("auto", "always", "off"), default="auto",
                        help="where the runner mode's scripts run (default auto, as in production)")
    args = parser.parse_args()
    if args.database and not args.database.startswith(("postgres://", "postgresql://")):
        parser.error("--database takes a postgresql:// URL")

    with tempfile.TemporaryDirectory(prefix="loanflow-bench-") as tmp:
        workdir = Path(tmp)
        results = {
            "raw": measure_raw(args.n, args.warmup),
            "floor": measure_floor(args.n, args.warmup, workdir),
            "runner": measure_runner(args.n, args.warmup, args.database or f"sqlite:///{workdir / 'runner.db'}",
                                     args.sandbox),
            "http": measure_http(args.n, args.warmup, args.database or f"sqlite:///{workdir / 'http.db'}", workdir),
        }
    print(f"twelve_steps, {args.n} instances per mode after {args.warmup} warm-up, "
          f"database: {'PostgreSQL' if args.database else 'SQLite (temp file)'}, runner's sandbox: {args.sandbox}")
    report(results)
    if hasattr(SandboxEnvironment(), "isolation"):
        report_sandbox(measure_sandbox(args.n, args.warmup))


if __name__ == "__main__":
    main()
