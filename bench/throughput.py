"""Throughput of start -> service task -> end instances through the API, under gunicorn on PostgreSQL.

    .venv/bin/python bench/throughput.py [--database postgresql://...] [--clients 16] [--n 4000]
        [--warmup 400] [--worker-class gthread] [--workers 3] [--threads 4] [--sweep]

Without --database, a throwaway cluster is started with `.ci/start-postgres` (fsync off, as for
the tests) and stopped at the end. A URL given with --database should name a scratch database:
it is migrated, and the diagram and the admin are deployed and seeded into it.

Concurrent clients (threads, each with one keep-alive `http.client` connection) POST
/api/v1/process-instances for a diagram whose service task calls the shipped
`platform.financing_limit` handler, and check each answer is 201 with status 'completed' and
the computed limit. gunicorn and the cluster are always stopped, also on error.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PROCESS_ID = "bench_financing_limit"
SECRET_KEY = "bench-not-secret"
TARGET = 250.0
TARGET_LINE = "≥ 250/s (Zeebe 8.8 publishes ~248/s for this shape on a 3-broker cluster)"
ORDER = {"order_value": "125000.00", "advance_ratio": "0.8"}
EXPECTED_LIMIT = "100000.00"

DIAGRAM = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_bench_financing_limit" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="{PROCESS_ID}" name="Financing limit (throughput bench)" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="limit" name="Financing limit">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="platform.financing_limit" resultVariable="financing">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="order_value" type="str" value="order_value"/>
            <spiffworkflow:parameter id="advance_ratio" type="str" value="advance_ratio"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="limit"/>
    <bpmn:sequenceFlow id="f1" sourceRef="limit" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@dataclass(frozen=True)
class ServerConfig:
    worker_class: str  # sync | gthread
    workers: int
    threads: int = 1

    def args(self) -> list[str]:
        args = ["-w", str(self.workers), "-k", self.worker_class]
        if self.worker_class == "gthread":
            args += ["--threads", str(self.threads), "--keep-alive", "30"]
        return args

    def __str__(self) -> str:
        threads = f" --threads {self.threads} --keep-alive 30" if self.worker_class == "gthread" else ""
        return f"gunicorn -k {self.worker_class} -w {self.workers}{threads}"


SWEEP = (ServerConfig("sync", 2), ServerConfig("sync", 3), ServerConfig("sync", 4),
         ServerConfig("gthread", 2, 2), ServerConfig("gthread", 2, 4), ServerConfig("gthread", 3, 4),
         ServerConfig("gthread", 4, 2))


@dataclass
class Result:
    config: ServerConfig
    clients: int
    n: int
    seconds: float
    latencies_ms: list[float]
    cpu_ms: dict[str, float]  # CPU milliseconds per instance: gunicorn, PostgreSQL (if measured), clients

    @property
    def rate(self) -> float:
        return self.n / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# -- CPU accounting (Linux /proc): what one instance costs, whatever else the machine runs ------------
def _proc_stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds, CPU seconds of the children it has reaped) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def tree_cpu(root: int | None) -> float | None:
    """CPU seconds used so far by `root` and its descendants (live ones, and those reaped)."""
    if root is None or not Path("/proc/self/stat").exists():
        return None
    stats = {int(p.name): _proc_stat(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()}
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        if stat is not None:
            children.setdefault(stat[0], []).append(pid)
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        stat = stats.get(pid)
        if stat is not None:
            total += stat[1] + stat[2]
            pending.extend(children.get(pid, []))
    return total


# -- set-up ---------------------------------------------------------------------------------------
@contextmanager
def database(url: str | None) -> Iterator[tuple[str, int | None]]:
    """(URL, postmaster pid): the given URL, or a database in a throwaway cluster stopped afterwards."""
    if url:
        yield url, None
        return
    pgdir = tempfile.mkdtemp(prefix="loanflow-bench-pg.")
    try:
        admin = subprocess.run([str(ROOT / ".ci" / "start-postgres"), pgdir], check=True, capture_output=True,
                               text=True).stdout.strip()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE loanflow_bench")
        postmaster = int((Path(pgdir) / "data" / "postmaster.pid").read_text().split()[0])
        yield admin.rsplit("/", 1)[0] + "/loanflow_bench", postmaster
    finally:
        subprocess.run([str(ROOT / ".ci" / "stop-postgres"), pgdir], check=False)


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def prepare(env: dict[str, str], workdir: Path) -> str:
    """Migrate, deploy the diagram, seed the admin; the admin's token."""
    flask(env, "db", "upgrade")
    diagram = workdir / f"{PROCESS_ID}.bpmn"
    diagram.write_text(DIAGRAM)
    print(flask(env, "processes", "deploy", str(diagram)).strip())
    return flask(env, "seed", "admin").strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(config: ServerConfig, env: dict[str, str], log: Path) -> Iterator[tuple[int, int]]:
    """(port, pid) of gunicorn serving the app, stopped (and waited for) on the way out."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "gunicorn"), *config.args(), "-b", f"127.0.0.1:{port}",
               "--log-level", "warning", "wsgi:app"]
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not come up (exit {server.poll()}):\n{log.read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/v1/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            time.sleep(0.1)
        yield port, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# -- the load ---------------------------------------------------------------------------------------
def drive(port: int, token: str, clients: int, n: int) -> tuple[float, list[float]]:
    """`n` instances started by `clients` threads; (wall seconds, per-request latencies in ms)."""
    body = json.dumps({"process_id": PROCESS_ID, "data": ORDER}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    remaining = [n]
    lock = threading.Lock()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = latencies[i]
        barrier.wait()
        try:
            while not errors:
                with lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                began = time.perf_counter()
                try:
                    conn.request("POST", "/api/v1/process-instances", body, headers)
                    response = conn.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException):  # a closed keep-alive connection: once more
                    conn.close()
                    conn.request("POST", "/api/v1/process-instances", body, headers)
                    response = conn.getresponse()
                    payload = response.read()
                mine.append((time.perf_counter() - began) * 1000)
                if response.status != 201:
                    errors.append(f"HTTP {response.status}: {payload[:300]!r}")
                    return
                answer = json.loads(payload)
                if answer["status"] != "completed" or answer["data"].get("financing", {}).get("limit") != EXPECTED_LIMIT:
                    errors.append(f"instance {answer['id']} ended {answer['status']!r} with {answer['data']!r}")
                    return
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} failed request(s), first: {errors[0]}")
    return seconds, [x for per in latencies for x in per]


def run_config(config: ServerConfig, env: dict[str, str], token: str, args: argparse.Namespace,
               workdir: Path, n: int, postmaster: int | None) -> Result:
    with gunicorn(config, env, workdir / "gunicorn.log") as (port, server):
        drive(port, token, args.clients, args.warmup)  # every worker has loaded the spec, pools are full
        before = {"gunicorn": tree_cpu(server), "PostgreSQL": tree_cpu(postmaster), "clients": time.process_time()}
        seconds, latencies = drive(port, token, args.clients, n)
        after = {"gunicorn": tree_cpu(server), "PostgreSQL": tree_cpu(postmaster), "clients": time.process_time()}
    cpu = {k: (after[k] - v) * 1000 / n for k, v in before.items() if v is not None and after[k] is not None}
    return Result(config, args.clients, n, seconds, latencies, cpu)


def line(result: Result) -> str:
    return (f"{str(result.config):<52} {result.clients:>3} clients  {result.rate:7.1f} instances/s  "
            f"p50 {statistics.median(result.latencies_ms):6.1f} ms  p95 {result.percentile(95):6.1f} ms  "
            f"CPU {sum(result.cpu_ms.values()):5.2f} ms/instance")


def cpu_line(result: Result) -> str:
    """Where the CPU of one instance went, and the rate that allows on this machine's cores if idle."""
    parts = " + ".join(f"{name} {ms:.2f}" for name, ms in result.cpu_ms.items())
    total = sum(result.cpu_ms.values())
    cores = os.cpu_count() or 1
    if "PostgreSQL" not in result.cpu_ms:
        return f"CPU per instance: {parts} = {total:.2f} ms (PostgreSQL not measured: not a cluster of ours)"
    return (f"CPU per instance: {parts} = {total:.2f} ms -> at most ~{cores * 1000 / total:.0f}/s "
            f"on {cores} otherwise idle cores")


def describe(url: str) -> str:
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        fsync = conn.execute("SHOW fsync").fetchone()[0]
        sync_commit = conn.execute("SHOW synchronous_commit").fetchone()[0]
    return (f"{os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {version} "
            f"(fsync={fsync}, synchronous_commit={sync_commit})")


def count_instances(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM process_instances WHERE process_id = %s "
                                 "GROUP BY status", (PROCESS_ID,)).fetchall())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="PostgreSQL URL of a scratch database (default: a throwaway cluster)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads (default 16)")
    parser.add_argument("--n", type=int, default=4000, help="timed instances (default 4000)")
    parser.add_argument("--warmup", type=int, default=400, help="untimed instances first (default 400)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="gthread")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (default 3)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--sweep", action="store_true",
                        help="try several gunicorn configurations (n/4 instances each), then the best with --n")
    args = parser.parse_args()
    if args.database and not args.database.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        parser.error("--database must be a PostgreSQL URL")

    with tempfile.TemporaryDirectory(prefix="loanflow-bench.") as tmp, database(args.database) as (url, pm):
        plain_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        workdir = Path(tmp)
        env = {**os.environ, "DATABASE_URL": plain_url, "SECRET_KEY": SECRET_KEY}
        env.pop("LOANFLOW_HANDLER_MODULES", None)
        token = prepare(env, workdir)
        print(describe(plain_url))
        config = ServerConfig(args.worker_class, args.workers, args.threads)
        if args.sweep:
            tried = []
            for candidate in SWEEP:
                tried.append(run_config(candidate, env, token, args, workdir, max(args.n // 4, args.clients), pm))
                print("sweep: " + line(tried[-1]), flush=True)
            config = max(tried, key=lambda r: r.rate).config
            print(f"fastest: {config}")
        result = run_config(config, env, token, args, workdir, args.n, pm)
        counts = count_instances(plain_url)
        print(f"start -> service task (platform.financing_limit) -> end, POST /api/v1/process-instances, "
              f"{args.n} timed after {args.warmup} warm-up")
        print(line(result))
        print(cpu_line(result))
        print(f"load average during the run (1 min): {os.getloadavg()[0]:.2f}")
        if set(counts) != {"completed"}:
            print(f"unexpected instance statuses: {counts}")
            return 1
        verdict = "PASS" if result.rate >= TARGET else "MISS"
        print(f"{verdict}  {TARGET_LINE}: {result.rate:.0f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
