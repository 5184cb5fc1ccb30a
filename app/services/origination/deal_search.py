"""The deals list's filters (the `/deals/` page and `GET /api/v1/applications`): status, stage, product, funder,
borrower, submission dates (business-local, both included), the decision (as the portfolio dashboard counts
it: decided, approved, rejected) and a search by application number or borrower name. They narrow what the
reader may see (`applications.application_visible`), never widen it; the organisations offered by name are
offered to the platform's staff only (a funder's staff would otherwise read every other party's name).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, ScalarSelect, and_, exists, select, true

from app.extensions import db
from app.models import Application, Organisation, OrgKind, Product
from app.models.origination import APPLICATION_STATUSES
from app.services import context
from app.services.identity.directory import Principal
from app.services.origination.decisions import STAGES
from app.services.origination.products import product_row

DECISIONS = ("decided", "approved", "rejected")
# The stages after the decision, as signing, disbursement and closing write them (a higher domain's codes).
LATER_STAGES = ("identity_verification", "contract_signing", "registration", "disbursement", "loan", "repaid")


@dataclass(frozen=True)
class DealFilters:
    status: str | None = None
    stage: str | None = None
    product: str | None = None  # a product's code
    funder: str | None = None  # an organisation's code
    borrower: str | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    decision: str | None = None  # decided | approved | rejected
    text: str | None = None  # part of the application number or of the borrower's name

    @property
    def any(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), context.business_tz()).astimezone(UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _org(code: str) -> ScalarSelect[int]:
    return select(Organisation.id).where(Organisation.code == code).scalar_subquery()


def _decision(kind: str) -> ColumnElement[bool]:
    decided = Application.decided_at.is_not(None)
    if kind == "approved":  # as the dashboard counts it: decided and not rejected
        return and_(decided, Application.status != "rejected")
    if kind == "rejected":
        return and_(decided, Application.status == "rejected")
    return decided


def condition(filters: DealFilters) -> ColumnElement[bool]:
    """The SQL condition on Application the filters make (true with none)."""
    parts: list[ColumnElement[bool]] = []
    if filters.status:
        parts.append(Application.status == filters.status)
    if filters.stage:
        parts.append(Application.stage == filters.stage)
    if filters.product:
        parts.append(Application.product_id == select(Product.id).where(
            Product.code == filters.product).scalar_subquery())
    if filters.funder:
        parts.append(Application.funder_org_id == _org(filters.funder))
    if filters.borrower:
        parts.append(Application.borrower_org_id == _org(filters.borrower))
    if filters.submitted_from:
        parts.append(Application.submitted_at >= _local_midnight(filters.submitted_from))
    if filters.submitted_to:
        parts.append(Application.submitted_at < _local_midnight(filters.submitted_to + timedelta(days=1)))
    if filters.decision in DECISIONS:
        parts.append(_decision(filters.decision))
    text = (filters.text or "").strip()
    if text:
        pattern = f"%{_escape_like(text)}%"
        parts.append(Application.number.ilike(pattern, escape="\\") | exists().where(
            Organisation.id == Application.borrower_org_id, Organisation.name.ilike(pattern, escape="\\")))
    return and_(true(), *parts)


@dataclass(frozen=True)
class Choices:
    statuses: tuple[str, ...]
    stages: tuple[str, ...]
    products: list[tuple[str, str]]  # (code, name in the reader's language)
    funders: list[tuple[str, str]]  # (code, name): the platform's staff only
    borrowers: list[tuple[str, str]]


def _kind(kind: str) -> list[tuple[str, str]]:
    return [(c, n) for c, n in db.session.execute(
        select(Organisation.code, Organisation.name).join(OrgKind, OrgKind.org_id == Organisation.id)
        .where(OrgKind.kind == kind).order_by(Organisation.name, Organisation.code))]


def choices(principal: Principal, language: str | None) -> Choices:
    """What the filter form offers this reader."""
    products = [(code, product_row(product_id).name_in(language)) for product_id, code in db.session.execute(
        select(Product.id, Product.code).order_by(Product.code))]
    platform = principal.is_platform
    return Choices(APPLICATION_STATUSES, (*STAGES, *LATER_STAGES), products,
                   _kind("funder") if platform else [], _kind("borrower") if platform else [])

