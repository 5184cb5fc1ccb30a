"""An approved deal on its way to a loan: the application row as signing and disbursement move it.

One rule for both stages: `deal` finds the application of the instance's business key (its number),
`move` sets its status and stage and writes the timeline line, in the caller's transaction (the
step of the diagram that reached it). The statuses after approval, in order:

| status | stage | the deal waits for |
|---|---|---|
| approved | identity_verification | every signer to verify their identity |
| signing | contract_signing | every signer to sign the contract at the e-signature provider |
| signing | registration | the platform to register the pledge or receivable |
| disbursing | disbursement | the funder's finance to release the funds, then the gateway's notification |
| active | loan | — the loan is booked (`Disbursement.loan_id`) |
| expired | (where it stopped) | — a signer failed identity verification three times, or the contract was not signed in 7 days |
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.engine.said import said
from app.extensions import db
from app.models import Application, ApplicationEvent, Organisation, User
from app.services.origination.applications import record

# From which statuses a stage of signing or disbursement may move the deal on.
AFTER_APPROVAL = ("approved", "signing", "disbursing")
STAGES = ("identity_verification", "contract_signing", "registration", "disbursement", "loan")


class DealStateError(ValueError):
    """A diagram asked for a move the deal cannot make (an unknown number, a deal not approved, an
    ended deal): the service task fails and, after its retries, the instance has an incident."""


def deal(business_key: str | None, for_update: bool = False) -> Application:
    """The application whose number is `business_key` (locked for the caller's transaction when asked)."""
    query = select(Application).where(Application.number == (business_key or ""))
    row = db.session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise DealStateError(said("no application has the number %(key)s: signing and disbursement run with the "
                                  "application's number as their business key", key=repr(business_key)))
    return row


def move(row: Application, status: str, stage: str, event: str, actor_id: int | None = None,
         reason: str | None = None, **data: Any) -> Application:
    """Set `status` and `stage` and record `event` on the timeline (`reason`: why it stopped, shown
    to every party; `data`: what the event says). Refused once the deal is active or expired."""
    if row.status not in AFTER_APPROVAL:
        raise DealStateError(said("application %(number)s is %(status)s: signing and disbursement cannot move it",
                                  number=row.number, status=row.status))
    if stage not in STAGES:
        raise DealStateError(said("stage must be one of %(choices)s, got %(given)s", choices=", ".join(STAGES),
                                  given=repr(stage)))
    row.status, row.stage, row.lock_version = status, stage, row.lock_version + 1
    if status == "expired":
        row.reason = reason
    record(row, event, actor_id=actor_id, reason=reason, **data)
    return row


def note(row: Application, event: str, actor_id: int | None = None, **data: Any) -> None:
    """A timeline line without a move (a verification attempt, a reminder, a failed payment)."""
    record(row, event, actor_id=actor_id, **data)


def contract_flow(business_key: str) -> str | None:
    """The e-signature flow the deal's contract was last sent for signing in (its last
    `contract_signing` line), None for an unknown number or a contract not sent yet."""
    application_id = db.session.scalar(select(Application.id).where(Application.number == business_key))
    if application_id is None:
        return None
    data = db.session.scalar(select(ApplicationEvent.data).where(
        ApplicationEvent.application_id == application_id, ApplicationEvent.kind == "stage",
        ApplicationEvent.stage == "contract_signing").order_by(ApplicationEvent.id.desc()).limit(1))
    return str((data or {}).get("flow") or "") or None


def parties_users(row: Application) -> list[int]:
    """The active users of the deal's parties that sign it: the borrower, the core enterprise (order financing)
    and the funder."""
    orgs = [row.borrower_org_id, row.funder_org_id]
    core = str((row.details or {}).get("core_enterprise") or "")
    if core:
        orgs += list(db.session.scalars(select(Organisation.id).where(Organisation.code == core)))
    return list(db.session.scalars(select(User.id).where(User.org_id.in_(orgs), User.active.is_(True))))
