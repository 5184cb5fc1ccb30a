"""Administration pages: organisations and users, each new user with a single-use invitation link."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.extensions import db
from app.models import Organisation, User
from app.models.identity import ORG_KINDS, ROLES
from app.services import accounts, identity
from app.services.errors import ServiceError

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


@bp.before_request
@login_required
def only_platform_admins():
    principal = current_user.principal
    if not (principal.is_platform and (principal.has_role("platform_admin") or principal.has_role("operator"))):
        abort(403)


def _page(message: str | None = None, invite_link: str | None = None, errors: dict | None = None, status: int = 200):
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.code)).all()
    users = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin.html", orgs=orgs, users=users, org_kinds=ORG_KINDS, roles=ROLES,
                           message=message, invite_link=invite_link, errors=errors or {}), status


@bp.route("/")
def index():
    return _page()


@bp.route("/orgs", methods=["POST"])
def create_org():
    try:
        identity.create_org(request.form.get("code", "").strip(), request.form.getlist("kind"),
                            request.form.get("name", "").strip(), current_user.principal.id)
    except ServiceError as exc:
        return _page(errors={"org": [exc.message]}, status=exc.status)
    return _page(message=_("Organisation created."))


@bp.route("/users", methods=["POST"])
def create_user():
    form = request.form
    try:
        user = identity.create_user(form.get("username", "").strip(), form.get("org", ""), form.getlist("role"),
                                    form.get("display_name") or None, current_user.principal.id,
                                    form.get("email") or None)
        token = accounts.invite(user.username, current_user.principal.id)
    except ServiceError as exc:
        return _page(errors={"user": [exc.message]}, status=exc.status)
    link = url_for("auth.accept_invitation", token=token, _external=True)
    return _page(message=_("User created. Send them this single-use invitation link:"), invite_link=link)


@bp.route("/users/<int:user_id>/invite", methods=["POST"])
def reinvite(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    token = accounts.invite(user.username, current_user.principal.id)
    return _page(message=_("New invitation link (the old one no longer works):"),
                 invite_link=url_for("auth.accept_invitation", token=token, _external=True))
