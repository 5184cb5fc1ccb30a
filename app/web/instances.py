"""Instance search for the platform's staff (`/instances`) and the instance page (`/instances/<id>`): its
diagram marked by `static/instance.js` (the vendored bpmn-js viewer), its timeline, tasks, timers, messages,
incidents and chain. Who may search, and what each reader sees of an instance, is the services'
(`workflow.instance_search`, `workflow.instance_view`)."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.services.workflow import instance_search, instance_view
from app.web.date_filters import date_arg, date_errors
from app.web.paging import page_number

bp = Blueprint("instance_pages", __name__, template_folder="templates")


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def _date_errors(filters: instance_search.Filters) -> dict[str, list[str]]:
    """What is wrong with the dates typed (a search leaves out a date it cannot read, and finds nothing when the
    start is after the end: the page says why)."""
    return date_errors(filters.started_from, filters.started_to,
                       _("The end date is before the start date: no instance can match."))


def _filters() -> instance_search.Filters:
    args = request.args
    status = args.get("status") or None
    match = args.get("match") or "prefix"
    return instance_search.Filters(
        process_id=args.get("process") or None, version=args.get("version", type=int),
        status=status if status in instance_search.STATUSES else None,
        business_key=(args.get("key") or "").strip() or None,
        key_match=match if match in instance_search.KEY_MATCHES else "prefix",
        party=args.get("party", type=int), started_from=date_arg("from"), started_to=date_arg("to"),
        waiting_at=args.get("waits") or None)


@bp.app_context_processor
def instances_link() -> dict[str, bool]:
    return {"may_search_instances": bool(current_user.is_authenticated
                                         and instance_search.process_links(current_user.principal))}


@bp.route("/instances")
@login_required
def index() -> ResponseReturnValue:
    filters = _filters()
    results = instance_search.search(current_user.principal, filters, page_number(), _language())
    paging = {k: v for k, v in request.args.items() if k != "page" and v}
    errors = _date_errors(filters)
    return render_template("instances.html", results=results, filters=filters, paging=paging,
                           statuses=instance_search.STATUSES, errors=errors,
                           status_names=instance_search.STATUS_NAMES, when=format_datetime), 422 if errors else 200


@bp.route("/instances/<int:instance_id>")
@login_required
def show(instance_id: int) -> ResponseReturnValue:
    found = instance_view.view(current_user.principal, instance_id, _language())
    return render_template("instance.html", view=found, when=format_datetime,
                           status_names=instance_search.STATUS_NAMES,
                           repair_url=f"/instances/{instance_id}/repair")


@bp.route("/instances/<int:instance_id>/diagram")
@login_required
def diagram(instance_id: int) -> ResponseReturnValue:
    source = instance_view.diagram(current_user.principal, instance_id, _language())
    response = Response(source, mimetype="application/xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response
