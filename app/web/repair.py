"""Repairing an instance (`/instances/<id>/repair`): retry its incidents, cancel it with a reason, move it to
another version of its process after a preview; and moving all instances of a version that match a filter
(`/processes/<id>/migrate`). Who may do what, and the rules, are the services' (`workflow.repair`,
`workflow.migration`, `workflow.incidents`, `workflow.instances`)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.api.errors import status_of
from app.services.errors import ServiceError
from app.services.workflow import catalogue, incidents, instances, migration, repair

bp = Blueprint("repair_pages", __name__, template_folder="templates")


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def _page(instance_id: int, status: int = 200, errors: dict | None = None, to: int | None = None,
          reason: str = "") -> ResponseReturnValue:
    actor = current_user.principal
    view = repair.repair_view(actor, instance_id, _language())
    preview = None
    if to is not None and view.may_migrate and not view.finished:
        preview = migration.preview(actor, instance_id, to, _language())
    return render_template("instance_repair.html", view=view, preview=preview, errors=errors or {},
                           reason=reason, when=format_datetime, element_state=repair.element_state_label), status


def _back(instance_id: int) -> ResponseReturnValue:
    return redirect(url_for("repair_pages.show", instance_id=instance_id))


@bp.route("/instances/<int:instance_id>/repair")
@login_required
def show(instance_id: int) -> ResponseReturnValue:
    return _page(instance_id, to=request.args.get("to", type=int))


@bp.route("/instances/<int:instance_id>/repair/incidents/<int:incident_id>/retry", methods=["POST"])
@login_required
def retry(instance_id: int, incident_id: int) -> ResponseReturnValue:
    if incidents.visible_incident(current_user.principal, incident_id).instance_id != instance_id:
        abort(404)
    try:
        retried = incidents.retry_incident(incident_id, current_user.principal, request.form.get("note"))
    except ServiceError as exc:
        return _page(instance_id, status_of(exc), {"incidents": [exc.message]})
    if retried["kind"] == "external_task_failed":  # run by a worker: offered to them again, not run here
        flash(_("The task is offered to the external workers again."))
    elif (next_try := incidents.next_try_after_retry(incident_id)) is not None:
        flash(_("The step failed again: it is tried again by itself at %(when)s, and stops with a new incident if its "
                "last try fails.", when=format_datetime(next_try, "medium")))
    else:
        flash(_("The failed step was run again."))
    return _back(instance_id)


@bp.route("/instances/<int:instance_id>/repair/cancel", methods=["POST"])
@login_required
def cancel(instance_id: int) -> ResponseReturnValue:
    reason = request.form.get("reason", "").strip()
    if not reason:
        return _page(instance_id, 422, {"cancel": [_("Say why the instance is cancelled.")]})
    try:
        repair.repair_view(current_user.principal, instance_id, _language())  # 404 before 403, as the page
        instances.cancel_instance(instance_id, current_user.principal, reason)
    except ServiceError as exc:
        return _page(instance_id, status_of(exc), {"cancel": [exc.message]}, reason=reason)
    flash(_("The instance was cancelled."))
    return _back(instance_id)


@bp.route("/instances/<int:instance_id>/repair/migrate", methods=["POST"])
@login_required
def migrate(instance_id: int) -> ResponseReturnValue:
    to = request.form.get("to", type=int)
    reason = request.form.get("reason", "")
    if to is None:
        return _page(instance_id, 422, {"migrate": [_("Choose the version to move to.")]})
    try:
        migration.migrate(current_user.principal, instance_id, to, reason, _language())
    except ServiceError as exc:
        return _page(instance_id, status_of(exc), {"migrate": [exc.message]}, to=to, reason=reason)
    flash(_("The instance now runs on version %(n)s.", n=to))
    return _back(instance_id)


def _bulk_form() -> tuple[int | None, int | None, migration.BulkFilter]:
    args = request.form if request.method == "POST" else request.args
    where = migration.BulkFilter(args.get("status") or None, (args.get("element") or "").strip() or None,
                                 (args.get("key") or "").strip() or None)
    return args.get("from", type=int), args.get("to", type=int), where


@bp.route("/processes/<process_id>/migrate", methods=["GET", "POST"])
@login_required
def bulk(process_id: str) -> ResponseReturnValue:
    actor = current_user.principal
    entry = catalogue.process_entry(actor, process_id, _language())
    source, target, where = _bulk_form()
    found, results, errors, status, places = None, None, [], 200, []
    reason = request.form.get("reason", "") if request.method == "POST" else ""
    try:
        if source is not None and target is not None:
            if request.method == "POST":
                results = migration.migrate_bulk(actor, process_id, source, target, reason, where, _language())
            else:
                found = migration.preview_bulk(actor, process_id, source, target, where, _language())
        else:
            migration.require_may_migrate(actor)
        places = migration.waiting_places(actor, process_id, source or entry.versions[0].version, _language())
    except ServiceError as exc:
        errors, status = [exc.message], status_of(exc)
    return render_template("process_migrate.html", entry=entry, source=source, target=target, where=where,
                           found=found, results=results, errors=errors, reason=reason, places=places), status
