"""Risk checks of a deal: the risk adapter asked about the borrower (or the person or company named
in a credit loan), its report kept with the deal, and the simulator's blacklist the platform edits.

The adapter is the configured provider (`LOANFLOW_RISK_URL`: an HTTP client) or, unset, the
simulator in process, whose blacklist is the `risk_blacklist` table; a test puts its own provider
in `app.extensions["risk_provider"]`.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.engine.said import said
from app.extensions import db
from app.models import Application, BlacklistEntry, Organisation, Product, RiskReport
from app.services import clock, context
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid, NotFound
from app.services.identity import policy
from app.services.identity.directory import Principal
from handlers.identifiers import valid_credit_code, valid_id_number
from handlers.risk import HttpRiskClient, RiskProvider, RiskRequest, SimulatedRisk
from handlers.risk import RiskReport as RiskSimReport
from handlers.risk.simulator import normalized_subject


def blacklisted(subject: str) -> bool:
    return db.session.scalar(select(BlacklistEntry.id).where(
        BlacklistEntry.subject == normalized_subject(subject))) is not None


def simulator() -> SimulatedRisk:
    """The risk simulator with the platform's blacklist (also what `/simulators/risk/api/assess` runs)."""
    return SimulatedRisk(blacklisted)


def provider() -> RiskProvider:
    return context.provider("risk", lambda url, key, timeout: HttpRiskClient(url, key, timeout=timeout), simulator,
                            default_timeout=5)


def subject_of(row: Application) -> tuple[str, str, str]:
    """(subject, its kind, a name) the risk platform is asked about for this deal."""
    details = row.details or {}
    if details.get("id_number"):
        return str(details["id_number"]), "id_number", ""
    if details.get("credit_code"):
        return str(details["credit_code"]), "credit_code", ""
    org = db.session.get(Organisation, row.borrower_org_id)
    if org is None or not org.credit_code:
        raise ValueError(said("the borrower of %(number)s has no unified social credit code on file: the platform "
                              "records it on the organisation before its deals can be assessed", number=row.number))
    return org.credit_code, "credit_code", org.name


def assess(business_key: str | None) -> dict[str, Any]:
    """Ask the risk provider about the deal's subject; the report is kept and returned as plain data.

    Raises `handlers.errors.ProviderUnavailable` when the provider is down (the service task
    retries, then an incident) and `ProviderError` when it refuses the subject.
    """
    row = db.session.scalar(select(Application).where(Application.number == (business_key or "")))
    if row is None:
        raise ValueError(said("no application has the number %(key)s", key=repr(business_key)))
    subject, kind, name = subject_of(row)
    product = db.session.get(Product, row.product_id)
    report = provider().assess(RiskRequest(subject=subject, subject_kind=kind, name=name,  # type: ignore[arg-type]
                                           amount=f"{row.amount:.2f}", product_kind=str(product.kind if product else "")))
    db.session.add(RiskReport(business_key=row.number, report_id=report.report_id, provider=report.provider,
                              subject=subject, score=report.score, grade=report.grade,
                              blacklisted=report.blacklisted, report=report.to_dict(), created_at=clock.now()))
    return {"score": report.score, "grade": report.grade, "blacklisted": report.blacklisted, "hits": report.hits,
            "report_id": report.report_id, "bureau": report.bureau, "provider": report.provider}


def latest_report(principal: Principal, business_key: str) -> RiskReport | None:
    """The deal's latest risk report, for the funder and the platform only (404 for anyone else)."""
    row = db.session.scalar(select(Application).where(Application.number == business_key))
    if row is None:
        raise NotFound(_l("Application not found."))
    if not (principal.is_platform or principal.org_id == row.funder_org_id and row.status != "draft"):
        raise NotFound(_l("There is no risk report of this application for you to read."))
    return db.session.scalar(select(RiskReport).where(RiskReport.business_key == business_key)
                             .order_by(RiskReport.id.desc()).limit(1))


# -- the simulator's blacklist ------------------------------------------------------------------

def blacklist(principal: Principal) -> list[BlacklistEntry]:
    policy.require(principal, "risk.blacklist")
    return list(db.session.scalars(select(BlacklistEntry).order_by(BlacklistEntry.id)))


def add_to_blacklist(principal: Principal, subject: str, reason: str = "") -> BlacklistEntry:
    policy.require(principal, "risk.blacklist")
    subject = normalized_subject(subject or "")
    if not (valid_id_number(subject) or valid_credit_code(subject)):
        message = _l("Not a valid ID number or unified social credit code (18 characters, with its check character).")
        raise Invalid(message, {"subject": [message]})
    if blacklisted(subject):
        raise Conflict(_l("This identifier is already on the blacklist."))
    entry = BlacklistEntry(subject=subject, reason=(reason or "").strip()[:500], added_by_id=principal.id,
                           created_at=clock.now())
    db.session.add(entry)
    db.session.commit()
    return entry


def remove_from_blacklist(principal: Principal, entry_id: int) -> None:
    policy.require(principal, "risk.blacklist")
    entry = db.session.get(BlacklistEntry, entry_id)
    if entry is None:
        raise NotFound(_l("This entry is no longer on the blacklist."))
    db.session.delete(entry)
    db.session.commit()


# -- the simulator's page ----------------------------------------------------------------------

def try_assessment(principal: Principal, data: dict[str, Any]) -> RiskSimReport:
    """What the risk simulator answers for `data` (a risk request's fields), on the simulator's page.

    Nothing is stored. 422 for a request that does not read; `handlers.errors.ProviderError` when
    the simulator refuses the identifier, as it would over HTTP.
    """
    policy.require(principal, "risk.simulate")
    try:
        request = RiskRequest.from_dict(data)
    except ValueError:
        raise Invalid(_l("Fill in every field: an identifier, its kind and an amount such as 500000.00.")) from None
    return simulator().assess(request)


def may_try(principal: Principal) -> bool:
    """Whether the simulators' pages offer the risk simulator (trying an assessment) to this user."""
    return policy.allowed(principal, "risk.simulate")


def may_edit_blacklist(principal: Principal) -> bool:
    """Whether the risk simulator's page shows and edits the blacklist for this user."""
    return policy.allowed(principal, "risk.blacklist")
