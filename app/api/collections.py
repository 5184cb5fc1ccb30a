"""The collections cases over the API: the reader's cases (platform staff, the funder's finance, the
agency a case is assigned to), one case (404 for whoever may not see it), and the platform operator's
assignment of a case to a collection agency. docs/post-loan.md, "Collections"."""
from flask_babel import get_locale

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.collections import AssignmentSchema, CaseSchema
from app.services.collections import views

blp = Blueprint("collections", __name__, description="Collections cases of overdue loans")
blp.before_request(require_user)


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "zh"


@blp.route("/collections")
@blp.response(200, CaseSchema(many=True))
@blp.errors(403)
def list_cases():
    """The cases the caller sees, newest first."""
    return views.cases(current_user(), _language())


@blp.route("/collections/<int:case_id>")
@blp.response(200, CaseSchema)
@blp.errors(403, 404)
def get_case(case_id):
    """One case: loan, borrower, dpd, bucket, action, contacts and promises."""
    return views.case(current_user(), case_id, _language())


@blp.route("/collections/<int:case_id>/assignment", methods=["PUT"])
@blp.arguments(AssignmentSchema())
@blp.response(200, CaseSchema)
@blp.errors(403, 404, 422)
def assign_case(args, case_id):
    """Assign the case to a collection agency (platform operators): its agents work and see it."""
    principal = current_user()
    views.assign(principal, case_id, args["agency"])
    return views.case(principal, case_id, _language())
