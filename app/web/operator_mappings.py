"""Administration: the operator mapping table (issue 17) — which registered operator runs each
service implementation diagrams name (`camunda:class`, `delegateExpression`, `expression`, an external
task's topic, a connector, a Camunda 8 job type, a task that names none, by its name); listed, added
(or replaced) and removed."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.api.errors import status_of
from app.services.errors import ServiceError
from app.services.workflow import operator_mappings

bp = Blueprint("operator_mapping_pages", __name__, url_prefix="/admin/operator-mappings",
               template_folder="templates")


@bp.before_request
@login_required
def only_those_who_manage_them():
    """The table is read by whoever may read it (GET), changed only by those who manage it."""
    principal = current_user.principal
    if not (operator_mappings.may_manage(principal) or (request.method == "GET" and operator_mappings.may_read(principal))):
        abort(403)


@bp.app_context_processor
def operator_mappings_link() -> dict[str, bool]:
    """Whether the administration page links here: the service says who manages them, not the template."""
    return {"may_map_operators": bool(current_user.is_authenticated
                                      and operator_mappings.may_manage(current_user.principal))}


def _parameters(text: str) -> dict[str, str]:
    """One `name = expression` a line."""
    found = {}
    for line in text.splitlines():
        if line.strip():
            name, _sep, expression = line.partition("=")
            found[name.strip()] = expression.strip()
    return found


def _page(message: str | None = None, errors: list[str] | None = None, status: int = 200):
    return render_template("operator_mappings.html", mappings=operator_mappings.list_mappings(current_user.principal),
                           may_manage=operator_mappings.may_manage(current_user.principal),
                           operators=operator_mappings.operators(), kinds=operator_mappings.KIND_LABELS, message=message,
                           errors=errors or [], form=request.form), status


@bp.route("/")
def index():
    return _page()


@bp.route("/", methods=["POST"])
def add():
    form = request.form
    try:
        operator_mappings.map_operator(current_user.principal, form.get("kind", ""), form.get("value", ""),
                                       form.get("operator_name", ""), _parameters(form.get("parameters", "")))
    except ServiceError as exc:
        said = {"kind": _("Kind"), "value": _("Value in the diagram"), "operator_name": _("Operator"),
                "parameters": _("Parameters")}  # a field by its label on the form, never its key
        details = [f"{said.get(name, _('The mapping'))}: {m}" for name, ms in exc.fields.items() for m in ms]
        return _page(errors=[exc.message, *details], status=status_of(exc))
    return _page(message=_("Mapping saved. Diagrams deployed from now on call this operator."))


@bp.route("/<int:mapping_id>/remove", methods=["POST"])
def remove(mapping_id: int):
    try:
        operator_mappings.remove_mapping(current_user.principal, mapping_id)
    except ServiceError as exc:
        return _page(errors=[exc.message], status=status_of(exc))
    return _page(message=_("Mapping removed. Deployed versions keep the operator they were deployed with."))
