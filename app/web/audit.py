"""The audit log's page (`/audit`): who did what to whom and when, for the platform admin and the auditor."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from app.services.identity import audit_trail
from app.web.paging import page_number

bp = Blueprint("audit_pages", __name__, template_folder="templates")


@bp.app_context_processor
def audit_link() -> dict[str, bool]:
    return {"may_read_audit": bool(current_user.is_authenticated and audit_trail.may_read(current_user.principal))}


@bp.route("/audit")
@login_required
def index():
    action, who = request.args.get("action", "").strip(), request.args.get("who", "").strip()
    trail = audit_trail.read(current_user.principal, page_number(), action or None, who or None)
    return render_template("audit.html", trail=trail, action=action, who=who)
