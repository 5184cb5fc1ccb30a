"""The caller's own in-app notices: /api/v1/notices, /api/v1/notices/{id}/read."""
from flask_babel import get_locale

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.notices import NoticeArgs, NoticePage, NoticeSchema
from app.services.notices import reading

blp = Blueprint("notices", __name__, description="The signed-in user's in-app notices")
blp.before_request(require_user)


def _language() -> str:
    """The reader's language (Accept-Language, else the account's): notices are written in it."""
    locale = get_locale()
    return locale.language if locale is not None else "zh"


@blp.route("/notices")
@blp.arguments(NoticeArgs(), location="query")
@blp.response(200, NoticePage)
def list_notices(args):
    """My notices, newest first, with how many are unread; `unread=true` lists only those."""
    return reading.my_notices(current_user(), args["page"], args["per_page"], unread_only=args["unread"],
                              language=_language())


@blp.route("/notices/<int:notice_id>/read", methods=["POST"])
@blp.response(200, NoticeSchema)
@blp.errors(404)
def mark_read(notice_id):
    """Mark one of my notices read (again: no change). Another user's notice is 404."""
    return reading.mark_read(current_user(), notice_id, language=_language())
