"""Administration pages: organisations and users — new users with a single-use invitation link,
password reset links, deactivation, API tokens — each act checked by `app.services.identity.grants`."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from app.api.errors import status_of
from app.services.errors import ServiceError
from app.services.identity import directory as identity
from app.services.identity import grants, user_admin
from app.services.identity.user_admin import ORG_KINDS
from app.services.workflow import handover

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


@bp.before_request
@login_required
def only_administrators():
    if not grants.is_administrator(current_user.principal):
        abort(403)


@bp.app_context_processor
def administration_link() -> dict[str, bool]:
    """Whether the page header links here: the services say who administers users, not the template."""
    return {"may_administer": bool(current_user.is_authenticated and grants.is_administrator(current_user.principal))}


_SELF_EXPLAINED = {  # refusals whose translated message says all, field included: no English detail after it
    "bad_org_code": lambda: _("Organisation code: 2 to 32 characters, capital letters A-Z, digits, '-' or '_', "
                              "starting with a letter (for example BANK1)."),
    "bad_org_name": lambda: _("Organisation name: 1 to %(n)s characters.", n=identity.ORG_NAME_LENGTH),
    "bad_credit_code": lambda: _("Unified social credit code: 18 characters, the last a valid check character."),
    "credit_code_taken": lambda: _("This unified social credit code is on file for another organisation."),
}


def _refusal(exc: ServiceError) -> str:
    """The reason for a refusal in the reader's language (the service's English for the rest)."""
    messages = {
        "role_misfit": _("A role can only be held in an organisation of the kind it belongs to."),
        "grant_refused": _("You may not grant this: only a platform admin grants platform roles, and nobody "
                           "grants a role of their own rank or above."),
        "outranks_you": _("This user ranks as high as you or higher: a platform admin acts on them."),
        "has_password": _("This user has set a password already: a platform admin can issue a password reset "
                          "link instead."),
        "no_password": _("This user has no password yet: send an invitation link instead."),
        "own_account": _("You cannot deactivate or reactivate yourself."),
        "not_a_platform_admin": _("Only a platform admin issues a password reset link for someone else."),
        "active_admin": _("An active platform admin who has a password gets no reset link: deactivate the account "
                          "first."),
    }
    if exc.code in _SELF_EXPLAINED:
        return _SELF_EXPLAINED[exc.code]()
    fields = {"username": _("Username"), "org": _("Organisation"), "role": _("Roles"), "email": _("Email"),
              "display_name": _("Display name"), "mobile": _("Mobile"), "code": _("Code"), "name": _("Name"),
              "kind": _("Kinds"), "credit_code": _("Unified social credit code")}
    details = [f"{fields.get(name, name)}: {m}" for name, ms in exc.fields.items() for m in ms]
    return " ".join([messages.get(exc.code, exc.message), *details])


def _page(message: str | None = None, link: str | None = None, errors: dict | None = None, status: int = 200):
    actor = current_user.principal
    orgs, rows = user_admin.overview(actor)
    kinds = [k for k in ORG_KINDS if k != grants.PLATFORM or grants.is_platform_admin(actor)]
    roles = [(role, sorted(grants.ROLE_ORG_KINDS[role])) for role in grants.grantable_roles(actor)]
    return render_template("admin.html", orgs=orgs, rows=rows, org_kinds=kinds, roles=roles, me=actor.id,
                           message=message, link=link, errors=errors or {}), status


def _failed(exc: ServiceError, section: str = "user"):
    return _page(errors={section: [_refusal(exc)]}, status=status_of(exc))


@bp.route("/")
def index():
    return _page()


@bp.route("/orgs", methods=["POST"])
def create_org():
    try:
        identity.create_org(request.form.get("code", "").strip(), request.form.getlist("kind"),
                            request.form.get("name", "").strip(), current_user.principal,
                            credit_code=request.form.get("credit_code"))
    except ServiceError as exc:
        return _failed(exc, "org")
    return _page(message=_("Organisation created."))


@bp.route("/orgs/<code>/credit-code", methods=["POST"])
def set_credit_code(code: str):
    try:
        identity.set_credit_code(code, request.form.get("credit_code", ""), current_user.principal)
    except ServiceError as exc:
        return _failed(exc, "org")
    return _page(message=_("Unified social credit code recorded."))


@bp.route("/users", methods=["POST"])
def create_user():
    form, actor = request.form, current_user.principal
    try:
        user = identity.create_user(form.get("username", "").strip(), form.get("org", ""), form.getlist("role"),
                                    form.get("display_name") or None, actor, form.get("email") or None,
                                    (form.get("mobile") or "").strip() or None)
        token = user_admin.invitation_link(user, actor)
    except ServiceError as exc:
        return _failed(exc)
    link = url_for("auth.accept_invitation", token=token, _external=True)
    return _page(message=_("User created. Send them this single-use invitation link:"), link=link)


@bp.route("/users/<int:user_id>/invite", methods=["POST"])
def reinvite(user_id: int):
    try:
        token = user_admin.invitation_link(user_admin.user_by_id(user_id), current_user.principal)
    except ServiceError as exc:
        return _failed(exc)
    return _page(message=_("New invitation link (the old one no longer works):"),
                 link=url_for("auth.accept_invitation", token=token, _external=True))


@bp.route("/users/<int:user_id>/reset", methods=["POST"])
def reset_link(user_id: int):
    try:
        token = user_admin.reset_link(user_admin.user_by_id(user_id), current_user.principal)
    except ServiceError as exc:
        return _failed(exc)
    return _page(message=_("Password reset link (single use, valid for 2 hours):"),
                 link=url_for("auth.reset_password", token=token, _external=True))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
def unlock(user_id: int):
    try:
        user_admin.unlock(user_admin.user_by_id(user_id), current_user.principal)
    except ServiceError as exc:
        return _failed(exc)
    return _page(message=_("User unlocked: they can sign in again at once."))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate(user_id: int):
    try:
        released = handover.set_active(user_admin.user_by_id(user_id), False, current_user.principal)
    except ServiceError as exc:
        return _failed(exc)
    message = _("User deactivated: their sessions have ended and their API tokens no longer work.")
    if released:
        message += " " + ngettext("The open task they held is back with their group, for a colleague to take.",
                                  "The %(num)d open tasks they held are back with their group, for colleagues to take.",
                                  released)
    return _page(message=message)


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
def activate(user_id: int):
    try:
        handover.set_active(user_admin.user_by_id(user_id), True, current_user.principal)
    except ServiceError as exc:
        return _failed(exc)
    return _page(message=_("User reactivated."))


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(token_id: int):
    try:
        user_admin.revoke_token(token_id, current_user.principal)
    except ServiceError as exc:
        return _failed(exc)
    return _page(message=_("API token revoked: it no longer works."))
