"""A user's own API tokens (`/account/tokens`): the tokens a script or a tool signs in with — Camunda Modeler's
deploy and run (`/engine-rest`, "Bearer token"), `curl` against `/api/v1`. Each user makes one with a label and a
life (1 to 365 days), sees it once on the page that made it, lists their tokens (never the secrets: label, made,
expires, last used, state) and revokes any of them. The same services as `/api/v1/me/tokens` (`user_admin`);
another user's token id is not found."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.api.errors import status_of
from app.services.errors import ServiceError
from app.services.identity import user_admin
from app.services.identity.directory import MAX_TOKEN_DAYS, TOKEN_DAYS
from app.text_input import is_whole

bp = Blueprint("token_pages", __name__, url_prefix="/account/tokens", template_folder="templates")
MAX_LABEL = 100
STATES = {"active": _l("active"), "expired": _l("expired"), "revoked": _l("revoked")}


def _page(issued: dict | None = None, errors: dict | None = None, form: dict | None = None,
          status: int = 200) -> ResponseReturnValue:
    tokens = user_admin.own_tokens(current_user.principal, 1, 100)["items"]
    return render_template("account_tokens.html", tokens=tokens, issued=issued, errors=errors or {},
                           form=form or {"label": "", "days": str(TOKEN_DAYS)}, states=STATES,
                           max_days=MAX_TOKEN_DAYS), status


@bp.route("", methods=["GET", "POST"])
@login_required
def index() -> ResponseReturnValue:
    if request.method == "GET":
        return _page()
    form = {"label": request.form.get("label", "").strip(), "days": request.form.get("days", "").strip()}
    errors: dict[str, str] = {}
    if len(form["label"]) > MAX_LABEL:
        errors["label"] = _("At most %(n)d characters.", n=MAX_LABEL)
    if not is_whole(form["days"]) or not 1 <= int(form["days"]) <= MAX_TOKEN_DAYS:
        errors["days"] = _("A whole number of days from 1 to %(n)d.", n=MAX_TOKEN_DAYS)
    if errors:
        return _page(errors=errors, form=form, status=422)
    try:
        issued = user_admin.issue_own_token(current_user.principal, int(form["days"]), form["label"] or None, None)
    except ServiceError as exc:  # too many live tokens
        return _page(errors={"_form": exc.message}, form=form, status=status_of(exc))
    return _page(issued=issued, status=201)


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int) -> ResponseReturnValue:
    user_admin.revoke_token(token_id, current_user.principal, owner_id=current_user.principal.id)  # another's: 404
    flash(_("Token #%(id)s revoked: it no longer works.", id=token_id))
    return redirect(url_for("token_pages.index"))
