"""What the deal pages show a reader: an application with its product, parties by name, documents,
timeline and (for the funder and the platform) the latest risk report; which pages and buttons a
principal is offered; the organisations an applicant chooses among by name.

Reads only: the moves are `applications`' and `products`'; this module asks them and the policy,
so the pages never test a role.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Application, ApplicationDocument, Disbursement, Loan, Organisation, OrgKind
from app.services.errors import NotFound
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.ledger import loans
from app.services.notices import reminders
from app.services.origination import applications, deal_search, risk
from app.services.origination.deal_search import DealFilters
from app.services.origination.decisions import reason_in
from app.services.origination.details import PARTY_FIELDS
from app.services.origination.products import product_row, product_view, terms_of
from app.services.origination.timeline import open_tasks_of, timeline
from app.services.workflow import instance_view, labels, repair

DEAL_PARTY_KINDS = frozenset({"funder", "core_enterprise", "warehouse"})  # who follows deals they are party to


def organisations_of_kind(kind: str) -> list[tuple[str, str]]:
    """(code, name) of every organisation of this kind (funders, core enterprises, warehouses), by name."""
    rows = db.session.execute(select(Organisation.code, Organisation.name).join(OrgKind, OrgKind.org_id == Organisation.id)
                              .where(OrgKind.kind == kind).order_by(Organisation.name)).all()
    return [(code, name) for code, name in rows]


def _names_by_id(ids: Iterable[int]) -> dict[int, str]:
    return dict(db.session.execute(select(Organisation.id, Organisation.name)
                                   .where(Organisation.id.in_(set(ids)))).all())


def _names_by_code(codes: Iterable[str]) -> dict[str, str]:
    return dict(db.session.execute(select(Organisation.code, Organisation.name)
                                   .where(Organisation.code.in_(set(codes)))).all())


def pages_for(principal: Principal) -> dict[str, bool]:
    """Which deal pages the header offers: the borrower's applications, the parties' deals, products."""
    return {"applications": policy.may_ever(principal, "applications.draft"),
            "deals": principal.is_platform or bool(principal.org_kinds & DEAL_PARTY_KINDS),
            "products": may_read_products(principal)}


def may_administer_products(principal: Principal) -> bool:
    return policy.may_ever(principal, "products.administer")


def may_read_products(principal: Principal) -> bool:
    """The product list, read only: the platform's staff (the auditor, the analyst) besides those who administer it."""
    return policy.may_ever(principal, "products.read")


def list_rows(principal: Principal, page: int = 1, per_page: int = 20, language: str | None = None,
              filters: DealFilters | None = None) -> tuple[list[dict[str, Any]], int]:
    """A page of the applications the principal may see (those the filters keep), with product (in `language`),
    borrower and funder names."""
    rows, total = applications.list_applications(principal, page, per_page,
                                                 where=deal_search.condition(filters or DealFilters()))
    product_names = {p: product_row(p).name_in(language) for p in {r.product_id for r in rows}}
    orgs = _names_by_id([r.borrower_org_id for r in rows] + [r.funder_org_id for r in rows])
    late = _days_overdue(principal, rows)
    return [{"id": r.id, "number": r.number, "product": product_names[r.product_id],
             "borrower": orgs.get(r.borrower_org_id, ""), "funder": orgs.get(r.funder_org_id, ""),
             "amount": r.amount, "status": r.status,
             "stage": r.stage, "updated_at": r.updated_at, "days_overdue": late.get(r.id, 0)} for r in rows], total


def _days_overdue(principal: Principal, rows: list[Application]) -> dict[int, int]:
    """How many days late each listed deal's running loan is (as of the last batch; none when nothing is overdue),
    for the readers of its loan: the borrower, the funder and the platform, as on the loan pages."""
    readable = [r.id for r in rows if principal.is_platform or principal.org_id in (r.borrower_org_id, r.funder_org_id)]
    if not readable:
        return {}
    booked = {app_id: loan_id for app_id, loan_id in db.session.execute(select(
        Disbursement.application_id, Disbursement.loan_id).where(
        Disbursement.application_id.in_(readable), Disbursement.status == "succeeded"))}
    running = {loan_id for loan_id in booked.values() if loan_id is not None}
    owed = loans.amounts_overdue(sorted(running))
    days = {loan_id: loans.load_loan(loan_id).dpd for loan_id, amount in owed.items() if amount > 0}
    return {app_id: days[loan_id] for app_id, loan_id in booked.items() if loan_id in days and days[loan_id]}


def _report(principal: Principal, number: str) -> dict[str, Any] | None:
    """The latest risk report's summary if the principal may read it (funder, platform), else None."""
    try:
        report = risk.latest_report(principal, number)
    except NotFound:
        return None
    if report is None:
        return {"report_id": None}
    return {"report_id": report.report_id, "score": report.score, "grade": report.grade,
            "blacklisted": report.blacklisted, "hits": list((report.report or {}).get("hits", [])),
            "provider": report.provider, "at": report.created_at}


def _actions(principal: Principal, row: Application) -> dict[str, bool]:
    own = policy.allowed(principal, "applications.draft", parties={"borrower": row.borrower_org_id})
    return {"edit": own and row.status in applications.EDITABLE,
            "documents": own and row.status in applications.EDITABLE,
            "submit": own and row.status in (*applications.SUBMITTABLE, "returned"),
            "withdraw": own and row.status in applications.WITHDRAWABLE,
            "delete": own and row.status == "draft"}


def _loan(principal: Principal, row: Application) -> dict[str, Any] | None:
    """The loan booked when the deal's funds were released, with its current schedule: for the
    borrower, the funder and the platform (None before it is booked, and for the other parties)."""
    if not (principal.is_platform or principal.org_id in (row.borrower_org_id, row.funder_org_id)):
        return None
    loan_id = db.session.scalar(select(Disbursement.loan_id).where(
        Disbursement.application_id == row.id, Disbursement.status == "succeeded"))
    if loan_id is None:
        return None
    loan = loans.load_loan(loan_id)
    overdue = loans.amounts_overdue([loan.id])[loan.id] if loan.status == "active" else Decimal(0)
    first = loans.instalments(loan_id, version=1)  # the schedule as booked, before any early repayment
    settled = {"on": loan.closed_on, "planned": len(first),
               "early": bool(first) and loan.closed_on < max(i.due_date for i in first)} \
        if loan.status == "closed" and loan.closed_on is not None else None
    return {"id": loan.id, "business_key": loan.business_key, "principal": loan.principal, "settled": settled,
            "annual_rate": loan.annual_rate, "disbursed_on": loan.disbursed_on, "status": loan.status,
            "dpd": loan.dpd if overdue > 0 else 0, "amount_overdue": overdue,
            "instalments": [{"number": i.number, "due_date": i.due_date, "principal": i.principal_due,
                             "interest": i.interest_due, "total": i.principal_due + i.interest_due + i.fee_due,
                             "balance": i.balance, "status": i.status} for i in loans.instalments(loan_id)]}


def view(principal: Principal, row: Application, language: str) -> dict[str, Any]:
    """Everything the application page (and the task page's deal panel) shows this reader."""
    product = product_row(row.product_id)
    terms = terms_of(product)
    details = applications.shown_details(principal, row)
    principals = applications.own_deal(principal, row)  # why the funder decided: theirs, not the other parties'
    org_codes = [str(details[k]) for k in PARTY_FIELDS if details.get(k)]
    by_code = _names_by_code(org_codes)
    by_id = _names_by_id([row.borrower_org_id, row.funder_org_id])
    return {
        "id": row.id, "number": row.number, "status": row.status, "stage": row.stage, "amount": row.amount,
        "term_months": row.term_months, "purpose": row.purpose, "approved_amount": row.approved_amount,
        "reason": reason_in(row, language) if principals else None, "created_at": row.created_at, "updated_at": row.updated_at,
        "submitted_at": row.submitted_at, "decided_at": row.decided_at,
        "product": {"code": terms.code, "name": product.name_in(language), "kind": terms.kind,
                    "documents": list(terms.documents)},
        "borrower": by_id.get(row.borrower_org_id, ""), "funder": by_id.get(row.funder_org_id, ""),
        "details": details, "detail_names": {k: by_code.get(str(details.get(k)), "") for k in PARTY_FIELDS},
        "documents": applications.documents_of(principal, row.id),
        "removable_documents": applications.removable_documents(principal, row),
        "timeline": timeline(principal, row, language), "risk": _report(principal, row.number),
        "actions": _actions(principal, row), "loan": _loan(principal, row),
        # the deal's process on its instance page (issue 16), for a reader who may see it
        "instance_id": row.instance_id if row.instance_id and instance_view.may_see(principal, row.instance_id)
        else None,
        # stopped on an error: where and why, with its repair, for the platform's staff; "being processed" for others
        "stopped": repair.stopped(principal, row.instance_id, language),
        "remindable": _remindable(principal, row, language),
    }


def _remindable(principal: Principal, row: Application, language: str) -> list[dict[str, Any]]:
    """The deal's open tasks whose holders the reader may remind (催办) from its page: the platform's operator any,
    a team lead their own organisation's (`notices.reminders.may_remind`)."""
    if not policy.may_ever(principal, "tasks.remind"):
        return []  # most readers: no query
    return [{"task_id": t.id, "title": labels.task_title(t.title, t.properties, language), "since": t.created_at,
             "claimed": t.state == "claimed"} for t in open_tasks_of(row) if reminders.may_remind(t.id, principal)]


def application_page(principal: Principal, application_id: int, language: str) -> dict[str, Any]:
    """The application page's content (404 for an application the principal may not see)."""
    return view(principal, applications.get_application(principal, application_id), language)


def loan_application(principal: Principal, loan_id: int) -> dict[str, Any] | None:
    """The application whose released funds booked the loan (`id`, `number`, and `certificate`: `id` and `filename` of its
    settlement certificate once the loan is repaid, else None), when the reader may see it (the loan page links
    them); None for a loan booked otherwise or an application hidden from the reader."""
    found = db.session.execute(select(Application.id, Application.number)
                               .join(Disbursement, Disbursement.application_id == Application.id)
                               .where(Disbursement.loan_id == loan_id, Disbursement.status == "succeeded",
                                      applications.application_visible(principal)).limit(1)).first()
    if found is None:
        return None
    certificate = db.session.execute(select(ApplicationDocument.id, ApplicationDocument.filename).where(
        ApplicationDocument.application_id == found.id, ApplicationDocument.kind == "settlement_certificate")
        .order_by(ApplicationDocument.id.desc()).limit(1)).first()
    return {"id": found.id, "number": found.number,
            "certificate": {"id": certificate.id, "filename": certificate.filename} if certificate else None}


def deal_panel(principal: Principal, business_key: str | None, language: str) -> dict[str, Any] | None:
    """The deal behind a task (its business key is an application number), if the reader may see it."""
    row = applications.by_number(principal, business_key) if business_key else None
    return view(principal, row, language) if row is not None else None


def draft_values(principal: Principal, application_id: int, language: str | None = None) -> dict[str, Any]:
    """An application's fields as its form shows them (product and funder by code), its product's terms."""
    row = applications.get_application(principal, application_id)
    codes = dict(db.session.execute(select(Organisation.id, Organisation.code)
                                    .where(Organisation.id == row.funder_org_id)).all())
    product = product_row(row.product_id)
    return {"id": row.id, "number": row.number, "status": row.status, "product": product.code,
            "terms": product_view(product, language),  # even when no longer offered: a draft of it is still edited
            "amount": f"{row.amount:,.2f}", "term_months": row.term_months, "purpose": row.purpose,
            "funder": codes.get(row.funder_org_id, ""), "details": dict(row.details or {}),
            "editable": _actions(principal, row)["edit"]}


def pages_of_keys(principal: Principal, keys: Iterable[str | None]) -> dict[str, tuple[str, int]]:
    """Which page each business key opens for `principal` (a notice's loan or application): `("loan", id)` for a
    loan's key, `("application", id)` for an application's; keys the reader may not open are left out."""
    wanted = sorted({k for k in keys if k})
    if not wanted:
        return {}
    found: dict[str, tuple[str, int]] = {number: ("application", app_id) for app_id, number in db.session.execute(
        select(Application.id, Application.number).where(Application.number.in_(wanted),
                                                          applications.application_visible(principal)))}
    found.update({key: ("loan", loan_id) for loan_id, key in db.session.execute(
        select(Loan.id, Loan.business_key).where(Loan.business_key.in_(wanted), loans.loan_visible(principal)))})
    return found
