"""The worker: APScheduler jobs that wake due instances (timers, service retries).

Never started under tests or at import: `flask --app wsgi worker` (and `make run`) start it.
The end-of-day batch joins it with the loan ledger.
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.extensions import db
from app.services.waking import wake_due

log = logging.getLogger("loanflow.worker")


def wake_due_job(app: Flask) -> int:
    """One pass over the due instances; returns how many were woken."""
    with app.app_context():
        try:
            report = wake_due()
        finally:
            db.session.remove()
    if report.woken:
        log.info("woke %d instance(s), %d skipped", len(report.woken), report.skipped)
    return len(report.woken)


def build_scheduler(app: Flask, interval_seconds: float = 1.0) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(wake_due_job, "interval", seconds=interval_seconds, args=[app], id="wake_due",
                      max_instances=1, coalesce=True, misfire_grace_time=None)
    return scheduler


def run_worker(app: Flask, interval_seconds: float = 1.0) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per pass
    log.info("worker started: waking due instances every %ss", interval_seconds)
    build_scheduler(app, interval_seconds).start()
