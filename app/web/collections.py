"""The collections cases: the list for collections agents, the funder's finance and platform staff
(`/collections`), one case (`/collections/<id>`) and the platform's assignment of a case to a
collection agency. Who sees which case is the service's (`collections.views`)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.services.collections import contacts, views
from app.services.errors import ErrorKind, ServiceError

bp = Blueprint("collections_pages", __name__, template_folder="templates")

BUCKETS = {"current": _l("Not overdue"), "1-30": _l("1 to 30 days past due"), "31-60": _l("31 to 60 days past due"),
           "61-90": _l("61 to 90 days past due"), "91+": _l("More than 90 days past due")}
STATUSES = {"running": _l("Open"), "waiting": _l("Open"), "completed": _l("Ended"), "cancelled": _l("Cancelled"),
            "error": _l("Stopped by an error")}


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


@bp.app_context_processor
def collections_link() -> dict[str, bool]:
    return {"may_see_collections": bool(current_user.is_authenticated and views.may_read(current_user.principal))}


@bp.route("/collections")
@login_required
def index() -> ResponseReturnValue:
    principal = current_user.principal
    return render_template("collections.html", cases=views.cases(principal, _language()), buckets=BUCKETS,
                           statuses=STATUSES, may_assign=views.may_assign(principal),
                           agencies=views.agencies() if views.may_assign(principal) else [])


def _case_page(instance_id: int, contact_form: dict[str, str] | None = None,
               contact_errors: dict[str, list[str]] | None = None, status: int = 200) -> ResponseReturnValue:
    principal = current_user.principal
    return render_template("collections.html", cases=[views.case(principal, instance_id, _language())],
                           buckets=BUCKETS, statuses=STATUSES, may_assign=views.may_assign(principal),
                           agencies=views.agencies() if views.may_assign(principal) else [], one=True,
                           contact_fields=contacts.fields(instance_id, _language()), contact_form=contact_form or {},
                           contact_errors=contact_errors or {}), status


@bp.route("/collections/<int:instance_id>")
@login_required
def case(instance_id: int) -> ResponseReturnValue:
    return _case_page(instance_id)


@bp.route("/collections/<int:instance_id>/contacts", methods=["POST"])
@login_required
def log_contact(instance_id: int) -> ResponseReturnValue:
    """The agent working the case logs a contact (any number of them); errors are said next to their fields."""
    form = {name: request.form.get(name, "") for name in contacts.FIELDS}
    try:
        contacts.log_contact(current_user.principal, instance_id, form)
    except ServiceError as exc:
        if exc.kind is not ErrorKind.INVALID:
            raise
        return _case_page(instance_id, form, exc.fields or {"contact_date": [exc.message]}, status=422)
    return redirect(url_for("collections_pages.case", instance_id=instance_id, _anchor="contacts"), 303)


@bp.route("/collections/<int:instance_id>/assign", methods=["POST"])
@login_required
def assign(instance_id: int) -> ResponseReturnValue:
    agency = request.form.get("agency", "").strip()
    if not agency:
        abort(422)
    views.assign(current_user.principal, instance_id, agency)
    return redirect(url_for("collections_pages.case", instance_id=instance_id))
