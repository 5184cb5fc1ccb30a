"""The borrower's applications (list, draft, edit, documents, submit, withdraw, delete) and the
deals each party follows: the same application page, with the buttons the services offer."""
from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, pgettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.services.errors import ErrorKind, ServiceError
from app.services.origination import applications, deal_search, deal_views, products
from app.services.origination.deal_search import DealFilters
from app.services.origination.products import DOCUMENT_KINDS
from app.services.signing import progress as signing_progress
from app.services.workflow import tasks
from app.web import application_form
from app.web.date_filters import date_arg, date_errors
from app.web.paging import page_number

bp = Blueprint("application_pages", __name__, template_folder="templates")
PER_PAGE = 20
MAX_PER_PAGE = 100
FUNDER, CORE_ENTERPRISE, WAREHOUSE = "funder", "core_enterprise", "warehouse"  # organisation kinds chosen by name


@bp.app_context_processor
def deal_pages() -> dict[str, Any]:
    """Which deal pages the header links to, and the task page's deal panel (both from services)."""
    if not current_user.is_authenticated:
        return {"deal_pages": {}}
    principal = current_user.principal
    return {"deal_pages": deal_views.pages_for(principal),
            "deal_panel": lambda key: _with_signing(principal, deal_views.deal_panel(principal, key, _language()))}


def _with_signing(principal, deal: dict[str, Any] | None) -> dict[str, Any] | None:
    """The deal's view with its contract's signatures while they are awaited (`deal.signing`)."""
    if deal is not None:
        deal["signing"] = signing_progress.contract_signing(principal, deal["number"])
    return deal


@bp.app_template_filter("deal_details")
def deal_details(deal: dict[str, Any]) -> list[dict[str, Any]]:
    """The product's details of a deal, labelled, in the form's order; organisations by name."""
    out = []
    for field in application_form.fields_of(deal["product"]["kind"]):
        key = field.name.removeprefix("details.")
        value = deal["details"].get(key)
        if value in (None, ""):
            continue
        if field.kind in (CORE_ENTERPRISE, WAREHOUSE):
            value = deal["detail_names"].get(key) or value
        out.append({"name": key, "label": field.label, "value": value, "kind": field.kind})
    return out


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def _principal():
    return current_user.principal



def _list(title: str, deals: bool):
    page = page_number()
    filters = _deal_filters() if deals else DealFilters()
    per_page = min(max(request.args.get("per_page", PER_PAGE, type=int), 1), MAX_PER_PAGE) if deals else PER_PAGE
    rows, total = deal_views.list_rows(_principal(), page, per_page, _language(), filters)
    errors = date_errors(filters.submitted_from, filters.submitted_to,
                         _("The end date is before the start date: no deal can match.")) if deals else {}
    paging = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("applications.html", rows=rows, total=total, page=page, title=title, deals=deals,
                           pages=max(1, -(-total // per_page)), filters=filters, paging=paging, errors=errors,
                           choices=deal_search.choices(_principal(), _language()) if deals else None,
                           may_apply=deal_views.pages_for(_principal())["applications"]), 422 if errors else 200


def _deal_filters() -> DealFilters:
    """The deals list's filters as asked (`?status=&stage=&product=&funder=&borrower=&from=&to=&decision=&q=`)."""
    args = request.args
    return DealFilters(status=args.get("status") or None, stage=args.get("stage") or None,
                       product=args.get("product") or None, funder=args.get("funder") or None,
                       borrower=args.get("borrower") or None, submitted_from=date_arg("from"),
                       submitted_to=date_arg("to"), decision=args.get("decision") or None,
                       text=(args.get("q") or "").strip()[:100] or None)


@bp.route("/applications/")
@login_required
def index():
    return _list(_("My applications"), deals=False)


@bp.route("/deals/")
@login_required
def deals():
    return _list(_("Deals"), deals=True)


def _choices() -> dict[str, list[tuple[str, str]]]:
    return {kind: deal_views.organisations_of_kind(kind) for kind in (FUNDER, CORE_ENTERPRISE, WAREHOUSE)}


def _form(product: dict[str, Any], values: dict[str, Any], errors: dict[str, list[str]], application=None,
          status: int = 200):
    return render_template("application_form.html", product=product, values=values, errors=errors,
                           application=application, choices=_choices(),
                           detail_fields=application_form.fields_of(product["kind"]),
                           core_fields=application_form.CORE), status


def _refused(exc: ServiceError, terms: dict[str, Any] | None) -> dict[str, list[str]]:
    if exc.kind is ErrorKind.INVALID and exc.fields:
        return application_form.messages(exc.fields, terms)
    raise exc  # a refusal that is no field's: the error page says it


@bp.route("/applications/new", methods=["GET", "POST"])
@login_required
def new():
    principal = _principal()
    if not deal_views.pages_for(principal)["applications"]:
        abort(403)  # the product's form as well: only a borrower's applicant drafts
    code = request.values.get("product")
    if not code:
        return render_template("application_products.html", products=products.list_products(principal, language=_language()))
    product = products.get_product(principal, code, _language())
    if request.method == "GET":
        return _form(product, {"details": {}}, {})
    data, errors = application_form.parse(request.form, product["kind"], code)
    if errors:  # the fields it could read are checked too, and every problem said at once
        errors = {**application_form.messages(applications.draft_problems(principal, data), product), **errors}
    else:
        try:
            row = applications.create_application(principal, data)
        except ServiceError as exc:
            errors = _refused(exc, product)
        else:
            flash(_("Draft %(number)s saved. Attach the documents, then submit it.", number=row.number))
            return redirect(url_for("application_pages.show", application_id=row.id))
    return _form(product, _posted(), errors, status=422)


def _posted() -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in request.form.items() if not k.startswith("details.")}
    values["details"] = {k.removeprefix("details."): v for k, v in request.form.items() if k.startswith("details.")}
    return values


@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
@login_required
def edit(application_id: int):
    principal = _principal()
    values = deal_views.draft_values(principal, application_id, _language())
    if not values["editable"]:
        abort(403)
    product = values["terms"]
    if request.method == "GET":
        return _form(product, values, {}, application=values)
    data, errors = application_form.parse(request.form, product["kind"], None)
    if errors:
        errors = {**application_form.messages(applications.draft_problems(principal, data, application_id),
                                              product), **errors}
    else:
        try:
            applications.update_application(principal, application_id, data)
        except ServiceError as exc:
            errors = _refused(exc, product)
        else:
            flash(_("Application saved."))
            return redirect(url_for("application_pages.show", application_id=application_id))
    return _form(product, _posted(), errors, application=values, status=422)


def _show(application_id: int, errors: dict[str, list[str]] | None = None, status: int = 200):
    principal = _principal()
    deal = deal_views.application_page(principal, application_id, _language())
    return render_template("application.html", deal=_with_signing(principal, deal), errors=errors or {},
                           submit_refused=errors or {}, document_kinds=DOCUMENT_KINDS,
                           my_task=tasks.waiting_on(principal, deal["number"], _language())), status


@bp.route("/applications/<int:application_id>")
@login_required
def show(application_id: int):
    return _show(application_id)


@bp.route("/applications/<int:application_id>/documents", methods=["POST"])
@login_required
def upload(application_id: int):
    upload_file = request.files.get("file")
    try:
        applications.add_document(_principal(), application_id, request.form.get("kind", ""),
                                  (upload_file.filename or "upload") if upload_file else "",
                                  upload_file.read() if upload_file else b"")
    except ServiceError as exc:
        return _show(application_id, _refused(exc, None), 422)
    flash(_("Document attached."))
    return redirect(url_for("application_pages.show", application_id=application_id) + "#documents")


@bp.route("/applications/<int:application_id>/documents/<int:document_id>/remove", methods=["POST"])
@login_required
def remove_document(application_id: int, document_id: int):
    applications.remove_document(_principal(), application_id, document_id)
    flash(_("Document removed."))
    return redirect(url_for("application_pages.show", application_id=application_id) + "#documents")


@bp.route("/applications/<int:application_id>/documents/<int:document_id>")
@login_required
def document(application_id: int, document_id: int):
    doc = applications.get_document(_principal(), application_id, document_id)
    return send_file(BytesIO(doc.content), mimetype=doc.content_type, as_attachment=True, download_name=doc.filename)


@bp.route("/applications/<int:application_id>/submit", methods=["POST"])
@login_required
def submit(application_id: int):
    principal = _principal()
    try:
        row = applications.submit(principal, application_id)
    except ServiceError as exc:
        if exc.kind is ErrorKind.INVALID and exc.fields:
            terms = deal_views.draft_values(principal, application_id)["terms"]
            return _show(application_id, application_form.messages(exc.fields, terms), 422)
        raise
    flash(_("Application %(number)s submitted.", number=row.number))
    return redirect(url_for("application_pages.show", application_id=application_id))


@bp.route("/applications/<int:application_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(application_id: int):
    if request.method == "GET":
        return _confirm(application_id, "withdraw")
    row = applications.withdraw(_principal(), application_id)
    flash(pgettext("application", "Application %(number)s withdrawn: you can change it and submit it again.",
                   number=row.number))
    return redirect(url_for("application_pages.show", application_id=application_id))


@bp.route("/applications/<int:application_id>/delete", methods=["GET", "POST"])
@login_required
def delete(application_id: int):
    if request.method == "GET":
        return _confirm(application_id, "delete")
    applications.delete_application(_principal(), application_id)
    flash(_("Draft deleted."))
    return redirect(url_for("application_pages.index"))


def _confirm(application_id: int, action: str):
    view = deal_views.application_page(_principal(), application_id, _language())
    if not view["actions"][action]:
        abort(403)
    return render_template("application_confirm.html", deal=view, action=action)
