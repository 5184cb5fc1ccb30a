"""Serving Loanflow in production: `gunicorn wsgi:app` reads this file from the working directory.

Threaded workers with keep-alive: a request mostly waits on the database, and an API client or a
reverse proxy reuses its connection instead of paying a new one per request. On 2 cores,
3 workers x 4 threads served the most instances per second (bench/README.md, `throughput.py
--sweep`). Override with the usual GUNICORN_CMD_ARGS or command-line flags.
"""
import os

bind = os.environ.get("LOANFLOW_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("LOANFLOW_WORKERS", (os.cpu_count() or 1) + 1))
threads = int(os.environ.get("LOANFLOW_THREADS", 4))
keepalive = 30
