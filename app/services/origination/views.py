"""Applications and products as the JSON API gives them: codes for organisations and products,
amounts as strings with two decimals, the documents and the timeline of an application, and the
latest risk report's summary for the funder and the platform only.

Reads, and the product writes committed; the moves of an application are `applications`'.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Application, Disbursement, Organisation, Product
from app.services.errors import NotFound
from app.services.identity.directory import Principal
from app.services.origination import applications, deal_search, products, risk
from app.services.origination.deal_search import DealFilters
from app.services.origination.decisions import reason_in
from app.services.origination.timeline import timeline


def _money(value: object) -> str | None:
    return None if value is None else f"{value:.2f}"


def _org_codes(ids: Iterable[int]) -> dict[int, str]:
    rows = db.session.execute(select(Organisation.id, Organisation.code).where(Organisation.id.in_(set(ids))))
    return {row.id: row.code for row in rows}


def _products(ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    rows = db.session.execute(select(Product.id, Product.code, Product.kind).where(Product.id.in_(set(ids))))
    return {row.id: (row.code, str(row.kind)) for row in rows}


def _summary(row: Application, orgs: Mapping[int, str], kinds: Mapping[int, tuple[str, str]]) -> dict[str, Any]:
    product_code, product_kind = kinds[row.product_id]
    return {
        "id": row.id, "number": row.number, "product": product_code, "product_kind": product_kind,
        "amount": _money(row.amount), "term_months": row.term_months, "purpose": row.purpose,
        "funder": orgs.get(row.funder_org_id), "borrower": orgs.get(row.borrower_org_id),
        "details": dict(row.details or {}), "status": row.status, "stage": row.stage,
        "approved_amount": _money(row.approved_amount), "reason": row.reason, "created_at": row.created_at,
        "updated_at": row.updated_at, "submitted_at": row.submitted_at, "decided_at": row.decided_at,
    }


def application_page(principal: Principal, page: int, per_page: int,
                     filters: DealFilters | None = None) -> dict[str, Any]:
    """A page of the applications the principal may see (those the filters keep), newest first."""
    rows, total = applications.list_applications(principal, page, per_page,
                                                 where=deal_search.condition(filters or DealFilters()))
    orgs = _org_codes([r.borrower_org_id for r in rows] + [r.funder_org_id for r in rows])
    kinds = _products(r.product_id for r in rows)
    return {"items": [_summary(r, orgs, kinds) for r in rows], "total": total, "page": page, "per_page": per_page}


def _risk(principal: Principal, row: Application) -> dict[str, Any] | None:
    report = risk.latest_report(principal, row.number)
    if report is None:
        return None
    return {"score": report.score, "grade": report.grade, "blacklisted": report.blacklisted,
            "report_id": report.report_id}


def loan_of(application_id: int) -> int | None:
    """The loan booked for the application (its succeeded disbursement's, `docs/signing.md`), or None."""
    return db.session.scalar(select(Disbursement.loan_id).where(
        Disbursement.application_id == application_id, Disbursement.status == "succeeded"))


def application_detail(principal: Principal, application_id: int, language: str) -> dict[str, Any]:
    """One application as the principal may read it (404 otherwise), its timeline in `language`.

    `loan_id` is the loan booked once the funds were released (null before). `risk` (the latest
    report's summary, null before the risk check) is there for the funder and the platform only:
    the borrower and the other parties never read the funder's risk report.
    """
    row = applications.get_application(principal, application_id)
    view = _summary(row, _org_codes([row.borrower_org_id, row.funder_org_id]), _products([row.product_id]))
    view["documents"] = [{"id": d.id, "kind": d.kind, "filename": d.filename, "content_type": d.content_type,
                          "size": d.size, "created_at": d.created_at}
                         for d in applications.documents_of(principal, row.id)]
    view["details"] = applications.shown_details(principal, row)
    view["reason"] = reason_in(row, language) if applications.own_deal(principal, row) else None
    view["timeline"] = timeline(principal, row, language)
    view["loan_id"] = loan_of(row.id)
    try:
        view["risk"] = _risk(principal, row)
    except NotFound:
        pass  # not the reader's to see: no `risk` at all
    return view


# -- products -----------------------------------------------------------------------------------

def add_product(principal: Principal, data: Mapping[str, Any]) -> dict[str, Any]:
    """A new product (`products.create_product`: the platform's), committed; as the API shows it."""
    row = products.create_product(principal, data)
    db.session.commit()
    return products.product_view(row)


def change_product(principal: Principal, code: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A product's name, offer or origination terms changed (`products.update_product`), committed."""
    row = products.update_product(principal, code, data)
    db.session.commit()
    return products.product_view(row)
