"""The worker: APScheduler jobs that wake due instances (timers, service retries).

Never started under tests or at import: `flask --app wsgi worker` (and `make run`) start it.
The end-of-day batch joins it with the loan ledger.
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.config import business_timezone
from app.extensions import db
from app.services.workflow.timer_starts import start_due
from app.services.workflow.waking import wake_due

log = logging.getLogger("loanflow.worker")


def wake_due_job(app: Flask) -> int:
    """One pass over the due instances and the due timer start events; returns how many were woken."""
    with app.app_context():
        try:
            report = wake_due()
            started = start_due()
        finally:
            db.session.remove()
    if report.woken or report.failed:
        log.info("woke %d instance(s), %d skipped, %d failed", len(report.woken), report.skipped, len(report.failed))
    if started.started or started.failed:
        log.info("started %d instance(s) at timer start events, %d firing(s) started none", len(started.started),
                 started.failed)
    return len(report.woken)


def end_of_day_job(app: Flask) -> int:
    """The end-of-day batch up to yesterday (business time zone); returns how many dates it processed."""
    from datetime import timedelta

    from app.services.errors import ServiceError
    from app.services.ledger.eod import run_eod
    from app.services.ledger.loans import business_today

    with app.app_context():
        try:
            done = run_eod(business_today() - timedelta(days=1))
        except ServiceError as exc:  # another run holds the batch
            log.warning("end of day not run: %s", exc.message)
            return 0
        finally:
            db.session.remove()
    for summary in done:
        log.info("end of day %s completed in %.2fs: %s", summary.business_date, summary.seconds, summary.counts)
    return len(done)


def deliver_outbox_job(app: Flask) -> int:
    """Deliver what the end-of-day batch wrote to the outbox; returns how many were delivered."""
    from app.services.workflow.outbox_delivery import deliver_outbox

    with app.app_context():
        try:
            delivered = deliver_outbox()
        finally:
            db.session.remove()
    if delivered:
        log.info("delivered %d outbox message(s)", delivered)
    return delivered


def deliver_notices_job(app: Flask) -> int:
    """Hand queued SMS and e-mails to the notify adapter; returns how many were handed over."""
    from app.services.notices.sending import deliver_queued

    with app.app_context():
        try:
            delivered = deliver_queued()
        finally:
            db.session.remove()
    if delivered:
        log.info("handed %d SMS/e-mail notice(s) to the notify provider", delivered)
    return delivered


def deliver_simulator_callbacks_job(app: Flask) -> int:
    """The e-signature simulator: expire flows past their expiry, then send its queued callbacks to the
    platform; returns how many were delivered."""
    from app.services.simulators.esign import expire_due
    from app.services.simulators.esign_callbacks import deliver_callbacks

    with app.app_context():
        try:
            expire_due()
            delivered = deliver_callbacks()
        finally:
            db.session.remove()
    if delivered:
        log.info("the e-signature simulator delivered %d callback(s)", delivered)
    return delivered


def payments_simulator_job(app: Flask) -> int:
    """The payment gateway simulator: settle the orders due and POST their notifications (and the
    ones not yet taken) to the platform; returns how many notifications the platform took."""
    from app.services.simulators import payments

    with app.app_context():
        try:
            settled = payments.settle_due()
            delivered = payments.deliver_notifications()
        finally:
            db.session.remove()
    if settled or delivered:
        log.info("payments simulator: settled %d order(s), %d notification(s) taken", settled, delivered)
    return delivered


def build_scheduler(app: Flask, interval_seconds: float = 1.0) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(wake_due_job, "interval", seconds=interval_seconds, args=[app], id="wake_due",
                      max_instances=1, coalesce=True, misfire_grace_time=None)
    # Shortly after midnight in the business time zone; a worker that was down catches up on its next start.
    scheduler.add_job(end_of_day_job, "cron", hour=0, minute=10, timezone=business_timezone(app.config), args=[app],
                      id="end_of_day", max_instances=1, coalesce=True, misfire_grace_time=None)
    scheduler.add_job(end_of_day_job, "date", args=[app], id="end_of_day_catch_up")
    scheduler.add_job(deliver_outbox_job, "interval", seconds=5, args=[app], id="deliver_outbox",
                      max_instances=1, coalesce=True, misfire_grace_time=None)
    scheduler.add_job(deliver_notices_job, "interval", seconds=2, args=[app], id="deliver_notices",
                      max_instances=1, coalesce=True, misfire_grace_time=None)
    scheduler.add_job(deliver_simulator_callbacks_job, "interval", seconds=3, args=[app],
                      id="deliver_simulator_callbacks", max_instances=1, coalesce=True, misfire_grace_time=None)
    scheduler.add_job(payments_simulator_job, "interval", seconds=2, args=[app], id="payments_simulator",
                      max_instances=1, coalesce=True, misfire_grace_time=None)
    return scheduler


def run_worker(app: Flask, interval_seconds: float = 1.0) -> None:
    # Logging is set up by create_app (LOANFLOW_LOG_FORMAT); the worker's records carry no request id.
    log.info("worker started: waking due instances every %ss", interval_seconds)
    build_scheduler(app, interval_seconds).start()
