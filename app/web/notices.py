"""In-app notices: the signed-in user's own notices, newest first, marked read one by one or all
at once; the page header shows how many are unread (`unread_notices`)."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from app.services.notices import reading
from app.services.origination import deal_views
from app.web.paging import page_number

bp = Blueprint("notice_pages", __name__, template_folder="templates")
PER_PAGE = 20


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "zh"


@bp.app_context_processor
def unread_notices() -> dict[str, int]:
    """The header's number of unread notices (0 for someone not signed in)."""
    if not current_user.is_authenticated:
        return {"unread_notices": 0}
    try:
        return {"unread_notices": reading.unread_count(current_user.principal)}
    except SQLAlchemyError:  # an error page after the database failed: the header goes without the number
        return {"unread_notices": 0}


@bp.route("/notices")
@login_required
def index():
    page = page_number()
    result = reading.my_notices(current_user.principal, page, PER_PAGE, language=_language())
    pages = max(1, -(-result["total"] // PER_PAGE))
    opens = deal_views.pages_of_keys(current_user.principal, (n.business_key for n in result["items"]))
    return render_template("notices.html", result=result, pages=pages, opens=opens)


@bp.route("/notices/<int:notice_id>/read", methods=["POST"])
@login_required
def mark_read(notice_id: int):
    reading.mark_read(current_user.principal, notice_id)
    return redirect(url_for("notice_pages.index", page=request.form.get("page", 1, type=int)), 303)


@bp.route("/notices/read-all", methods=["POST"])
@login_required
def mark_all_read():
    reading.mark_all_read(current_user.principal)
    return redirect(url_for("notice_pages.index"), 303)
