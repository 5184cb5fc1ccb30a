"""A borrower's applications: draft, change, attach documents, submit, withdraw, delete, follow.

Who may do what is the service's (`app.services.origination.applications`): the borrower's applicant
moves its own applications; every party of the deal reads it, the funder and the platform with the
latest risk report; another organisation's application is 404. The timeline is worded in the
reader's language: the session's or the account's choice, else Accept-Language, else English.
"""
from io import BytesIO

from flask import request, send_file
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.applications import (
    DOCUMENT_UPLOAD,
    ApplicationChangeSchema,
    ApplicationDetailSchema,
    ApplicationDocumentSchema,
    ApplicationListArgs,
    ApplicationPage,
    NewApplicationSchema,
)
from app.services.errors import Invalid
from app.services.origination import applications, views
from app.services.origination.deal_search import DealFilters
from app.services.workflow.documents import ALLOWED

blp = Blueprint("applications", __name__, url_prefix="/applications",
                description="Borrowers' applications for products, and how each deal is going")
blp.before_request(require_user)


def reader_language() -> str:
    """The API reader's language, as the API's errors read it (`app.web.i18n.select_locale`)."""
    return str(get_locale())


def detail(application_id: int) -> dict:
    language = reader_language()
    with force_locale(language):
        return views.application_detail(current_user(), application_id, language)


@blp.route("", methods=["POST"])
@blp.arguments(NewApplicationSchema())
@blp.response(201, ApplicationDetailSchema)
@blp.errors(403)
def create(args):
    """Draft an application for the caller's organisation (a borrower's applicant); 422 names each wrong field."""
    return detail(applications.create_application(current_user(), args).id)


@blp.route("")
@blp.arguments(ApplicationListArgs(), location="query")
@blp.response(200, ApplicationPage)
def list_applications(args):
    """The applications the caller may see, newest first (a borrower's own, drafts too; a party's once submitted),
    narrowed by the filters given (the deals page's)."""
    filters = DealFilters(
        status=args.get("status"), stage=args.get("stage"), product=args.get("product"), funder=args.get("funder"),
        borrower=args.get("borrower"), submitted_from=args.get("submitted_from"),
        submitted_to=args.get("submitted_to"), decision=args.get("decision"), text=args.get("q"))
    return views.application_page(current_user(), args["page"], args["per_page"], filters)


@blp.route("/<int:application_id>")
@blp.response(200, ApplicationDetailSchema)
@blp.errors(404)
def get_application(application_id):
    """The application with its documents and timeline (and `risk` for the funder and the platform)."""
    return detail(application_id)


@blp.route("/<int:application_id>", methods=["PATCH"])
@blp.arguments(ApplicationChangeSchema())
@blp.response(200, ApplicationDetailSchema)
@blp.errors(403, 404, 409)
def update(args, application_id):
    """Change the fields sent, in draft, returned or withdrawn (409 otherwise)."""
    applications.update_application(current_user(), application_id, args)
    return detail(application_id)


@blp.route("/<int:application_id>", methods=["DELETE"])
@blp.response(204)
@blp.errors(403, 404, 409)
def delete(application_id):
    """Delete a draft (409 once it has been submitted: its history is kept)."""
    applications.delete_application(current_user(), application_id)
    return "", 204


@blp.route("/<int:application_id>/submit", methods=["POST"])
@blp.response(200, ApplicationDetailSchema)
@blp.errors(403, 404, 409, 422)
def submit(application_id):
    """Start the deal (the product's diagram), or answer the funder's return; 422 lists missing documents.

    Submitted once: a second submit at the same moment is a 409 and starts nothing.
    """
    applications.submit(current_user(), application_id)
    return detail(application_id)


@blp.route("/<int:application_id>/withdraw", methods=["POST"])
@blp.response(200, ApplicationDetailSchema)
@blp.errors(403, 404, 409)
def withdraw(application_id):
    """Pull the application back before it is decided: open tasks cancelled, history kept."""
    applications.withdraw(current_user(), application_id)
    return detail(application_id)


@blp.route("/<int:application_id>/documents", methods=["POST"])
@blp.response(201, ApplicationDocumentSchema)
@blp.errors(403, 404, 409, 422)
@blp.doc(requestBody=DOCUMENT_UPLOAD)
def add_document(application_id):
    """Attach a typed document (multipart `file` and `kind`); the type is judged from the content."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_l("upload the document in the multipart field 'file'"), fields={"file": [_l("missing")]})
    kind = request.form.get("kind", "")
    content = upload.stream.read(applications.MAX_DOCUMENT_BYTES + 1)
    return applications.add_document(current_user(), application_id, kind, upload.filename, content)


def _document_content_types(func):
    """The bytes of each content type a stored document can have (what `documents.sniff` accepts)."""
    for content_type in (*ALLOWED, "text/plain"):
        func = blp.alt_response(200, schema={"type": "string", "format": "binary"}, content_type=content_type,
                                description="the document's bytes, as uploaded", success=True)(func)
    return func


@blp.route("/<int:application_id>/documents/<int:document_id>")
@_document_content_types
@blp.errors(404)
def download_document(application_id, document_id):
    """The document's bytes, as an attachment (404 unless the application is yours to see)."""
    document = applications.get_document(current_user(), application_id, document_id)
    response = send_file(BytesIO(document.content), mimetype=document.content_type, as_attachment=True,
                         download_name=document.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
