"""Administration: the group mapping table (issue 17) — which role is offered the user tasks a diagram
offers to a Camunda group (`camunda:candidateGroups`); listed, added (or replaced) and removed."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.api.errors import status_of
from app.services.errors import ServiceError
from app.services.workflow import group_mappings

bp = Blueprint("group_mapping_pages", __name__, url_prefix="/admin/group-mappings", template_folder="templates")


@bp.before_request
@login_required
def only_those_who_manage_them():
    """The table is read by whoever may read it (GET), changed only by those who manage it."""
    principal = current_user.principal
    if not (group_mappings.may_manage(principal) or (request.method == "GET" and group_mappings.may_read(principal))):
        abort(403)


@bp.app_context_processor
def group_mappings_link() -> dict[str, bool]:
    """Whether the administration page links here: the service says who manages them, not the template."""
    signed_in = current_user.is_authenticated
    return {"may_map_groups": bool(signed_in and group_mappings.may_manage(current_user.principal)),
            "may_read_mappings": bool(signed_in and group_mappings.may_read(current_user.principal))}


def _page(message: str | None = None, errors: list[str] | None = None, status: int = 200):
    return render_template("group_mappings.html", mappings=group_mappings.list_mappings(current_user.principal),
                           may_manage=group_mappings.may_manage(current_user.principal),
                           roles=group_mappings.roles(), message=message, errors=errors or [],
                           form=request.form), status


@bp.route("/")
def index():
    return _page()


@bp.route("/", methods=["POST"])
def add():
    try:
        group_mappings.map_group(current_user.principal, request.form.get("group", ""), request.form.get("role", ""))
    except ServiceError as exc:
        details = [m for ms in exc.fields.values() for m in ms]
        return _page(errors=[exc.message, *details], status=status_of(exc))
    return _page(message=_("Mapping saved. Diagrams deployed from now on offer the group's tasks to this role."))


@bp.route("/<int:mapping_id>/remove", methods=["POST"])
def remove(mapping_id: int):
    try:
        group_mappings.remove_mapping(current_user.principal, mapping_id)
    except ServiceError as exc:
        return _page(errors=[exc.message], status=status_of(exc))
    return _page(message=_("Mapping removed. Deployed versions keep the roles they were deployed with."))
