"""Insight (issue 16): a process version's heatmap (`/processes/<id>/heatmap?version=N`), the user tasks'
waiting times and throughput per lane and organisation (`/insight/tasks`), and the portfolio dashboard
(`/dashboard`). Charts are drawn by `static/insight.js` (vendored Chart.js, the bpmn-js viewer) from the
tables on the page. Who may read what is the services' (`workflow.insight`, `origination.portfolio`)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, render_template, request
from flask_babel import format_decimal, format_timedelta, get_locale
from flask_login import current_user, login_required

from app.services.origination import portfolio
from app.services.workflow import catalogue, insight
from app.web.collections import BUCKETS  # the days-past-due buckets in the reader's words

bp = Blueprint("insight_pages", __name__, template_folder="templates")


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def duration(seconds: float | None) -> str:
    """A wait in the reader's words ("3 hours", "3小时"); a dash when there is none (no task waited so)."""
    if seconds is None:
        return "—"
    return format_timedelta(timedelta(seconds=seconds), threshold=1.1)


def days(value: object) -> str:
    return "" if value is None else format_decimal(value, format="#,##0.0")


@bp.app_context_processor
def insight_links() -> dict[str, bool]:
    signed_in = current_user.is_authenticated
    return {"may_see_insight": bool(signed_in and insight.may_read(current_user.principal)),
            "may_see_dashboard": bool(signed_in and portfolio.may_read(current_user.principal))}


@bp.route("/processes/<process_id>/heatmap")
@login_required
def heatmap(process_id: str):
    entry = catalogue.process_entry(current_user.principal, process_id, _language())
    version = request.args.get("version", type=int) or entry.versions[0].version
    if entry.kind != "process" or version not in {v.version for v in entry.versions}:
        abort(404)
    result = insight.heatmap(current_user.principal, process_id, version, _language())
    return render_template("insight_heatmap.html", entry=entry, heat=result, duration=duration)


@bp.route("/insight/tasks")
@login_required
def tasks():
    period = request.args.get("days", type=int) or insight.DEFAULT_PERIOD
    if period not in insight.PERIODS:
        abort(400)
    result = insight.task_statistics(current_user.principal, period)
    return render_template("insight_tasks.html", stats=result, periods=insight.PERIODS, duration=duration)


@bp.route("/dashboard")
@login_required
def dashboard():
    result = portfolio.portfolio(current_user.principal, request.args.get("funder", type=int),
                                 language=_language())
    return render_template("insight_dashboard.html", p=result, days=days, bucket_names=BUCKETS)
