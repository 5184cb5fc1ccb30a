"""Serving Loanflow in production: `gunicorn wsgi:app` reads this file from the working directory.

Threaded workers with keep-alive: a request mostly waits on the database, and an API client or a
reverse proxy reuses its connection instead of paying a new one per request. On 2 cores,
3 workers x 4 threads served the most instances per second (bench/README.md, `throughput.py
--sweep`). Override with the usual GUNICORN_CMD_ARGS or command-line flags.

Each worker starts its own script sandbox processes on first use (app/engine/isolation.py): one
per thread running a script that loops or calls at that moment, at most 8, ~25 MB each and capped
at 1 GiB of address space; they end with their worker.
"""
import os

from app.engine.limits import DEFAULT_MEMORY_LIMIT_MB, cap_memory

bind = os.environ.get("LOANFLOW_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("LOANFLOW_WORKERS", (os.cpu_count() or 1) + 1))
threads = int(os.environ.get("LOANFLOW_THREADS", 4))
keepalive = 30


def post_fork(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook
    """Each worker's address space capped (LOANFLOW_MEMORY_LIMIT_MB): see app.engine.limits.cap_memory."""
    cap_memory(int(os.environ.get("LOANFLOW_MEMORY_LIMIT_MB", DEFAULT_MEMORY_LIMIT_MB)))
