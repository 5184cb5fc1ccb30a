"""The console's instance search and instance page with 100,000 instances on PostgreSQL (issue 16).

    .venv/bin/python bench/console.py [--instances 100000] [--samples 200] [--database postgresql://...]
                                      [--explain]

Without --database it starts a throwaway cluster with `.ci/start-postgres` (stopped and removed at the
end, also on error). With --database, the URL should name a scratch database: it is migrated and seeded.

Seeding: the benchmark diagrams (`tests/fixtures/bpmn`: twelve_steps in two versions, gateway_loop,
await_funds, prepare_then_await_funds, timer_duration) are deployed and run for real through the
services to give templates — an instance waiting at each of its user tasks, one completed, a loop run
five times, one waiting for a message, one for a timer, one cancelled — each with its engine state,
data, open tasks, waits and history. 100,000 instances are then written by COPY from the templates:
statuses as the templates (plus ~2% stopped by an error at a script, with its incident), business keys
`<PREFIX>-<year>-<serial>` over five prefixes, start times over the past year, a borrower and a funder
each among 300 organisations (skewed: the biggest funder holds ~20%), and ~10 events each (the
template's history, padded with timer and message events) chained with the real hash chain, so the
page's chain verdict does its real work. Then VACUUM ANALYZE.

Measured through the served routes (Flask's test client, an administrator signed in; each answer's
status checked): `/instances` with several filter shapes (none; process; process and version;
status; business key prefix; business key contains — the trigram index; party; start date range;
waiting element; process, waiting element and date together; a later page) and `/instances/<id>` of
random instances (the instance page: the service and its template), plus, as the baseline measured in
the same run, the administrator's `/notices` page (a signed-in page that reads almost nothing: the
session, the header, one small query), so the ratios say what the console adds to any served page on
the machine as it is at the time. Prints p50 / p95 / max per shape, the ratios of the p95s to the baseline's, and
PASS/MISS against the targets: search p95 <= 100 ms, page p95 <= 150 ms (exit status 1 on a MISS).
"""
from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services.workflow.history_chain import chain  # noqa: E402
from bench.postgres import Cluster  # noqa: E402

SEARCH_TARGET_MS, PAGE_TARGET_MS = 100.0, 150.0
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
PREFIXES = ["LOAN", "APP", "ORD", "PLG", "COL"]
PASSWORD = "Violet-meadow-river-88"


# --------------------------------------------------------------------------------------------
# Templates: real instances run through the services.
# --------------------------------------------------------------------------------------------
@dataclass
class Template:
    process_id: str
    version_id: int
    version: int
    status: str
    state: str
    data: dict[str, Any]
    pins: dict[str, int]
    due_at: datetime | None
    waiting_for: list[str]
    waits: list[str]
    tasks: list[dict[str, Any]]
    events: list[dict[str, Any]]  # kind, element_id, details
    weight: int
    error: dict[str, Any] | None = None
    incident: dict[str, Any] | None = field(default=None)


def _deploy() -> None:
    from app.services.workflow.deployment import DiagramFile, deploy_and_commit

    files = [DiagramFile(name, (FIXTURES / name).read_bytes()) for name in
             ("twelve_steps.bpmn", "gateway_loop.bpmn", "message_wait.bpmn", "timer_duration.bpmn")]
    deploy_and_commit(files)
    twelve = (FIXTURES / "twelve_steps.bpmn").read_text(encoding="utf-8")
    second = re.sub(r'(<bpmn:process [^>]*name=")', r"\1v2 ", twelve, count=1)
    deploy_and_commit([DiagramFile("twelve_steps.bpmn", second.encode())])


def _snapshot(instance_id: int, weight: int) -> Template:
    from app.models import HumanTask, InstanceEvent, InstanceWait, ProcessInstance

    row = db.session.get(ProcessInstance, instance_id)
    assert row is not None
    tasks = [{"element_id": t.element_id, "title": t.title, "lane": t.lane, "engine_task_id": t.engine_task_id,
              "properties": t.properties, "process_version_id": t.process_version_id}
             for t in db.session.scalars(sa.select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                                   HumanTask.state.in_(("ready", "claimed"))))]
    events = [{"kind": e.kind, "element_id": e.element_id, "details": e.details}
              for e in db.session.scalars(sa.select(InstanceEvent).where(InstanceEvent.instance_id == instance_id)
                                          .order_by(InstanceEvent.id))]
    waits = list(db.session.scalars(sa.select(InstanceWait.element_id).where(InstanceWait.instance_id == instance_id)))
    return Template(row.process_id, row.process_version_id, row.version, row.status, row.state, row.data,
                    row.pins or {}, row.due_at, row.waiting_for or [], waits, tasks, events, weight)


def make_templates() -> list[Template]:
    from app.models import HumanTask
    from app.services.workflow.instances import cancel_instance, start_instance
    from app.services.workflow.tasks import complete_task

    _deploy()
    admin = _admin()
    found: list[Template] = []

    def open_task(instance_id: int, element: str) -> int:
        return db.session.scalar(sa.select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                               HumanTask.element_id == element,
                                                               HumanTask.state == "ready"))

    first = start_instance("twelve_steps", admin, data={"amount": 1000})
    found.append(_snapshot(first, 30))  # waiting at review
    second = start_instance("twelve_steps", admin, data={"amount": 2000})
    complete_task(open_task(second, "review"), {"approved": True}, admin)
    found.append(_snapshot(second, 15))  # waiting at approve
    done = start_instance("twelve_steps", admin, data={"amount": 3000})
    complete_task(open_task(done, "review"), {"approved": True}, admin)
    complete_task(open_task(done, "approve"), {"approved": True}, admin)
    found.append(_snapshot(done, 25))
    found.append(_snapshot(start_instance("gateway_loop", admin, data={"limit": 5}), 5))
    found.append(_snapshot(start_instance("await_funds", admin, business_key="TEMPLATE-FUNDS"), 10))
    found.append(_snapshot(start_instance("timer_duration", admin), 8))
    cancelled = start_instance("prepare_then_await_funds", admin, business_key="TEMPLATE-PREP")
    found.append(_snapshot(cancelled, 3))  # waiting at prepare
    cancel_instance(cancelled, admin)
    found.append(_snapshot(cancelled, 2))
    failing = _snapshot(first, 2)  # stopped by an error at a script: its incident open
    failing.status, failing.waits, failing.tasks = "error", ["s3"], []
    failing.error = {"element_id": "s3", "message": "ZeroDivisionError: division by zero", "kind": "script"}
    failing.incident = {"element_id": "s3", "kind": "script", "message": failing.error["message"]}
    failing.events = [*failing.events, {"kind": "error", "element_id": "s3",
                                        "details": {"message": failing.error["message"], "kind": "script"}}]
    found.append(failing)
    return found


def _admin():
    from app.services.identity import directory as identity
    from app.services.identity.accounts import invite, set_password_with_token
    from app.services.identity.directory import principal_for_user

    identity.ensure_platform_admin()  # the platform's organisation
    user = identity.create_user("bench_admin", "PLATFORM", ["platform_admin"], display_name="Bench Admin")
    set_password_with_token(invite("bench_admin"), "invite", PASSWORD)
    db.session.commit()
    return principal_for_user(user.id)


# --------------------------------------------------------------------------------------------
# Seeding by COPY.
# --------------------------------------------------------------------------------------------
def _copy(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed(engine: sa.Engine, n: int, rng: random.Random, templates: list[Template]) -> None:
    weights = [t.weight for t in templates]
    with engine.raw_connection() as raw:
        cursor = raw.cursor()
        cursor.execute("SELECT coalesce(max(id), 0) FROM organisations")
        next_org = cursor.fetchone()[0] + 1
        orgs = [(next_org + i, f"{'BANK' if i < 40 else 'TRADER'}{i:03d}", f"Organisation {i:03d}") for i in range(300)]
        _copy(cursor, "organisations", ["id", "code", "name", "created_at"], [(i, c, nm, NOW) for i, c, nm in orgs])
        _copy(cursor, "org_kinds", ["org_id", "kind"],
              [(i, "funder" if c.startswith("BANK") else "borrower") for i, c, _nm in orgs])
        cursor.execute("SELECT setval(pg_get_serial_sequence('organisations', 'id'), %s)", (next_org + 300,))
        funders, borrowers = [o[0] for o in orgs[:40]], [o[0] for o in orgs[40:]]
        cursor.execute("SELECT id FROM process_versions WHERE process_id = 'twelve_steps' AND version = 1")
        first_version = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(max(id), 0) FROM process_instances")
        first_id = cursor.fetchone()[0] + 1
        instances, parties, waits, tasks, events, incidents = [], [], [], [], [], []
        for k in range(n):
            instance_id = first_id + k
            t = rng.choices(templates, weights)[0]
            version_id, version = t.version_id, t.version
            if t.process_id == "twelve_steps" and rng.random() < 0.4:  # started before version 2 was deployed
                version_id, version = first_version, 1
            created = NOW - timedelta(seconds=rng.randrange(365 * 86400))
            prefix = PREFIXES[k % len(PREFIXES)]
            key = f"{prefix}-{created.year}-{k:06d}"
            status = t.status
            ended = created + timedelta(days=3) if status in ("completed", "cancelled") else None
            history = [dict(e) for e in t.events]
            while len(history) < 10:  # padded to ~10 events as a real deal's reminders and news would
                history.insert(len(history) // 2, rng.choice([
                    {"kind": "timer_fired", "element_id": None, "details": {"due_at": created.isoformat()}},
                    {"kind": "message_received", "element_id": None, "details": {"name": "news", "payload": {"n": k}}},
                ]))
            rows = []
            for j, event in enumerate(history):
                rows.append({"instance_id": instance_id, "kind": event["kind"], "element_id": event["element_id"],
                             "at": created + timedelta(minutes=j), "actor_id": None, "details": event["details"]})
            head = chain(rows, None)
            for r in rows:
                events.append((r["instance_id"], r["kind"], r["element_id"], r["at"], None, json.dumps(r["details"]),
                               r["hash"], r["prev_hash"]))
            instances.append((instance_id, t.process_id, version_id, version, status, key, json.dumps(t.data),
                              t.state, json.dumps(t.pins), json.dumps(t.error) if t.error else None,
                              t.due_at, json.dumps(t.waiting_for), created, created + timedelta(minutes=len(rows)),
                              ended, 1, head))
            funder = funders[min(int(len(funders) * rng.random() ** 2.0), len(funders) - 1)]
            parties += [(instance_id, "funder", funder), (instance_id, "borrower", rng.choice(borrowers))]
            waits += [(instance_id, e) for e in t.waits]
            for task in t.tasks:
                tasks.append((instance_id, task["process_version_id"], task["engine_task_id"], task["element_id"],
                              task["title"], task["lane"], "ready", json.dumps(task["properties"]), created))
            if t.incident:
                incidents.append((instance_id, t.incident["element_id"], t.incident["kind"], t.incident["message"],
                                  json.dumps(t.incident), created))
        _copy(cursor, "process_instances", ["id", "process_id", "process_version_id", "version", "status",
                                            "business_key", "data", "state", "pins", "error", "due_at", "waiting_for",
                                            "created_at", "updated_at", "ended_at", "lock_version", "last_event_hash"],
              instances)
        _copy(cursor, "instance_parties", ["instance_id", "party", "org_id"], parties)
        _copy(cursor, "instance_waits", ["instance_id", "element_id"], waits)
        _copy(cursor, "human_tasks", ["instance_id", "process_version_id", "engine_task_id", "element_id", "title",
                                      "lane", "state", "properties", "created_at"], tasks)
        _copy(cursor, "instance_events", ["instance_id", "kind", "element_id", "at", "actor_id", "details", "hash",
                                          "prev_hash"], events)
        _copy(cursor, "incidents", ["instance_id", "element_id", "kind", "message", "details", "created_at"], incidents)
        cursor.execute("SELECT setval(pg_get_serial_sequence('process_instances', 'id'), %s)", (first_id + n,))
        raw.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


# --------------------------------------------------------------------------------------------
# Measuring.
# --------------------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def sign_in(client) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    data = {"username": "bench_admin", "password": PASSWORD, **({"csrf_token": csrf.group(1)} if csrf else {})}
    assert client.post("/login", data=data).status_code in (302, 303)


def shapes(conn: sa.Connection, rng: random.Random) -> dict[str, Any]:
    """Each search shape: a function giving a random query string."""
    processes = [r[0] for r in conn.exec_driver_sql("SELECT DISTINCT process_id FROM process_instances")]
    borrowers = [r[0] for r in conn.exec_driver_sql("SELECT DISTINCT org_id FROM instance_parties "
                                                    "WHERE party = 'borrower' LIMIT 200")]
    funders = [r[0] for r in conn.exec_driver_sql("SELECT DISTINCT org_id FROM instance_parties WHERE party = 'funder'")]
    elements = [r[0] for r in conn.exec_driver_sql("SELECT DISTINCT element_id FROM instance_waits")]

    def day() -> date:
        return (NOW - timedelta(days=rng.randrange(20, 360))).date()

    def key() -> str:
        return f"{rng.choice(PREFIXES)}-2026-0{rng.randrange(10):d}{rng.randrange(10):d}"

    return {
        "no filter": lambda: {},
        "process": lambda: {"process": rng.choice(processes)},
        "process + version": lambda: {"process": "twelve_steps", "version": rng.choice([1, 2])},
        "status": lambda: {"status": rng.choice(["error", "waiting", "completed", "cancelled"])},
        "business key prefix": lambda: {"key": key()},
        "business key contains": lambda: {"key": f"-0{rng.randrange(10)}{rng.randrange(10)}{rng.randrange(10)}",
                                          "match": "contains"},
        "party (borrower)": lambda: {"party": rng.choice(borrowers)},
        "party (big funder)": lambda: {"party": rng.choice(funders[:3])},
        "start date range": lambda: (lambda d: {"from": d.isoformat(),
                                                "to": (d + timedelta(days=7)).isoformat()})(day()),
        "waiting element": lambda: {"waits": rng.choice(elements)},
        "process + waits + dates": lambda: (lambda d: {"process": "twelve_steps", "waits": "review",
                                                       "from": d.isoformat(),
                                                       "to": (d + timedelta(days=30)).isoformat()})(day()),
        "page 5 of everything": lambda: {"page": 5},
    }


def time_get(client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def measure(app, samples: int, rng: random.Random) -> dict[str, list[float]]:
    times: dict[str, list[float]] = defaultdict(list)
    client = app.test_client()
    sign_in(client)
    with app.app_context():
        with db.engine.connect() as conn:
            shaped = shapes(conn, rng)
            ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM process_instances")]
        db.session.remove()
    for round_ in range(2):  # a warm-up pass, then the measured one
        for _ in range(10 if round_ == 0 else samples):
            for name, make in shaped.items():
                query = make()
                url = "/instances?" + "&".join(f"{k}={v}" for k, v in query.items())
                elapsed = time_get(client, url)
                if round_:
                    times[f"search: {name}"].append(elapsed)
            elapsed = time_get(client, f"/instances/{rng.choice(ids)}")
            if round_:
                times["page: /instances/<id>"].append(elapsed)
            elapsed = time_get(client, "/notices")
            if round_:
                times["baseline: /notices"].append(elapsed)
    return times


def report(times: dict[str, list[float]]) -> bool:
    baseline = percentile(times["baseline: /notices"], 95)
    print(f"\n{'served route':<40} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95/base':>9}  target")
    ok = True
    every_search: list[float] = []
    for name, values in times.items():
        p95 = percentile(values, 95)
        target = SEARCH_TARGET_MS if name.startswith("search") else PAGE_TARGET_MS if name.startswith("page") else None
        if name.startswith("search"):
            every_search += values
        verdict = "" if target is None else ("PASS" if p95 <= target else "MISS")
        ok &= target is None or p95 <= target
        print(f"{name:<40} {len(values):>5} {statistics.median(values):>8.2f} {p95:>8.2f} {max(values):>8.2f} "
              f"{p95 / baseline:>8.1f}x  {verdict}")
    p95 = percentile(every_search, 95)
    print(f"{'every search':<40} {len(every_search):>5} {statistics.median(every_search):>8.2f} {p95:>8.2f} "
          f"{max(every_search):>8.2f} {p95 / baseline:>8.1f}x  {'PASS' if p95 <= SEARCH_TARGET_MS else 'MISS'}")
    print(f"\noverall: {'PASS' if ok else 'MISS'} (search p95 <= {SEARCH_TARGET_MS:g} ms for every shape, "
          f"page p95 <= {PAGE_TARGET_MS:g} ms)")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200, help="timed requests per shape")
    parser.add_argument("--database", help="a scratch PostgreSQL database (default: a throwaway cluster)")
    parser.add_argument("--seed", type=int, default=20261203)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with Cluster(args.database, "console") as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-not-secret", "TESTING": True,
                          "RATELIMIT_ENABLED": False, "PASSWORD_HASH_FAST": True, "WTF_CSRF_ENABLED": False})
        app.extensions["loanflow_clock"] = lambda: NOW
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            templates = make_templates()
            seed(db.engine, args.instances, rng, templates)
            with db.engine.connect() as conn:
                counts = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in
                          ("process_instances", "instance_events", "instance_waits", "instance_parties",
                           "human_tasks", "incidents")}
                version = conn.exec_driver_sql("SHOW server_version").scalar_one()
            db.session.remove()
        print(f"seeded in {time.perf_counter() - started:.0f} s; PostgreSQL {version}: "
              + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
        ok = report(measure(app, args.samples, rng))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
