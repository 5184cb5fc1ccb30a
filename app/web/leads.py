"""Acquisition's pages for the platform's operators: the leads (status, duplicate marker), entering a
lead, and a lead's page (its data, what it may duplicate, its outcome). Qualifying a lead is its
`qualify_lead` task, done from the inbox as every task. Who may see these is the service's
(`leads.may_manage`)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.services.context import language
from app.services.errors import Invalid
from app.services.origination import leads
from app.web import money_input
from app.web.paging import page_number

bp = Blueprint("lead_pages", __name__, template_folder="templates")
PER_PAGE = 25

STATUS_WORDS = {"new": _l("New: waiting to be qualified"), "qualified": _l("Qualified: being registered"),
                "dropped": _l("Dropped"), "registered": _l("Registered and invited")}
FIELD_MESSAGES = {
    "company_name": _l("Enter the company's or the person's name (at most 200 characters)."),
    "contact_name": _l("Enter the contact's name (at most 100 characters)."),
    "credit_code": _l("Enter a valid unified social credit code (18 characters), or an ID number."),
    "id_number": _l("Enter a valid resident ID number (18 characters)."),
    "mobile": _l("Enter a mainland mobile number (11 digits starting with 1)."),
    "email": _l("Enter a valid e-mail address, or leave it empty."),
    "product_code": _l("Choose a product that is offered, or none."),
    "amount": _l("Enter a positive amount such as 500000.00, or leave it empty."),
}
FIELDS = ("company_name", "credit_code", "id_number", "contact_name", "mobile", "email", "product_code", "amount")


@bp.app_template_filter("lead_status")
def lead_status(code: str | None) -> str:
    return str(STATUS_WORDS.get(code or "", _l("Other")))


@bp.app_context_processor
def lead_pages_link() -> dict[str, bool]:
    """Whether the page header links to the leads: the service says who manages them."""
    return {"may_manage_leads": bool(current_user.is_authenticated and leads.may_manage(current_user.principal))}


@bp.before_request
@login_required
def only_lead_managers():
    if not leads.may_manage(current_user.principal):
        abort(403)


@bp.route("/leads")
def index():
    status = request.args.get("status") or None
    status = status if status in leads.LEAD_STATUSES else None
    page = page_number()
    result = leads.list_leads(current_user.principal, page, PER_PAGE, status)
    pages = max(1, -(-result["total"] // PER_PAGE))
    return render_template("leads.html", result=result, pages=pages, status=status, statuses=leads.LEAD_STATUSES)


@bp.route("/leads/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data: dict[str, str] = {k: v for k, v in values.items() if v}
        unread: str | None = None
        try:
            if "amount" in data:  # as people type it: 1,000,000.00, ¥, full-width digits
                data["amount"] = str(money_input.parse_money(data.pop("amount")))
        except ValueError as exc:
            unread = str(exc)
        try:
            if unread is not None:  # the other fields' errors are said with the amount's
                leads.check_lead(current_user.principal, data)
            else:
                row = leads.enter_lead(current_user.principal, data)
        except Invalid as exc:
            errors = {name: [str(FIELD_MESSAGES[name])] for name in exc.fields if name in FIELD_MESSAGES}
            errors = errors or {"_form": [exc.message]}
        if unread is not None:
            errors = {**{k: v for k, v in errors.items() if k != "_form"}, "amount": [unread]}
        elif not errors:
            return redirect(url_for("lead_pages.show", lead_id=row.id), 303)
    return render_template("lead_form.html", values=values, errors=errors, products=leads.products_offered(language())), \
        422 if errors else 200


@bp.route("/leads/<int:lead_id>")
def show(lead_id: int):
    return render_template("lead.html", lead=leads.get_lead(current_user.principal, lead_id, language()))
