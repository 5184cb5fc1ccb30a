"""The e-signature simulator's flows: one PDF, its signers in order (borrower, core enterprise,
funder), each signing for real with a certificate of the sandbox CA (`esign_ca`) into its own
signature field (`handlers.esign.sign_pdf`, incremental: earlier signatures stay intact).

A signer signs only in turn and only with the sandbox's verification code `SANDBOX_CODE`; anything
else is refused with a reason (`ServiceError.code`: `not_a_signer`, `not_yourself`, `not_signing`,
`not_your_turn`, `already_signed`, `wrong_code`). The last signature completes the flow; a flow
unsigned `FLOW_DAYS` after it was created expires. A signer marked `auto` (the funder's seal,
自动签署) is signed by the simulator itself in the transaction that makes it its turn. Either way a callback to the platform is queued
with the change (`esign_callbacks`) and sent later by the worker.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import EsignFlow, EsignSigner
from app.services import clock, context
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.identity.directory import Principal
from app.services.simulators import esign_ca, esign_callbacks, state
from handlers.esign import FlowRequest, sign_pdf

SANDBOX_CODE = "123456"
FLOW_DAYS = 7
AUTO_PREFIX = "esign.auto."  # a flow's automatic signers (their parties), by flow id


@dataclass(frozen=True)
class SignerView:
    party: str
    username: str
    name: str
    status: str
    signed_at: datetime | None


@dataclass(frozen=True)
class FlowView:
    flow_id: str
    business_key: str
    document_name: str
    status: str
    created_at: datetime
    expires_at: datetime | None
    completed_at: datetime | None
    signers: tuple[SignerView, ...]

    @property
    def next_signer(self) -> SignerView | None:
        """Who signs now: the first signer who has not (None once the flow is no longer signing)."""
        if self.status != "signing":
            return None
        return next((s for s in self.signers if s.status != "signed"), None)


def _signers(flow: EsignFlow) -> list[EsignSigner]:
    return list(db.session.scalars(select(EsignSigner).where(EsignSigner.flow_id == flow.id)
                                   .order_by(EsignSigner.position)))


def _view(flow: EsignFlow) -> FlowView:
    return FlowView(flow.flow_id, flow.business_key, flow.document_name, flow.status, flow.created_at,
                    flow.expires_at, flow.completed_at,
                    tuple(SignerView(s.party, s.username, s.name, s.status, s.signed_at) for s in _signers(flow)))


def _row(flow_id: str, for_update: bool = False) -> EsignFlow:
    query = select(EsignFlow).where(EsignFlow.flow_id == flow_id)
    flow = db.session.scalar(query.with_for_update() if for_update else query)
    if flow is None:
        raise NotFound(_l("There is no signing flow %(flow)s.", flow=flow_id))
    return flow


def create_flow(request: FlowRequest, callback_url: str = "") -> FlowView:
    """A new flow for `request`'s document and signers (in the order given), committed (the
    simulator's HTTP API); the platform is called back at `callback_url` (empty: `LOANFLOW_BASE_URL`'s
    callback endpoint, `esign_callbacks`). The same document for the same business key while its
    flow is signing answers that flow."""
    view = open_flow(request, callback_url)
    db.session.commit()
    return view


def open_flow(request: FlowRequest, callback_url: str = "") -> FlowView:
    """`create_flow` in the caller's transaction (the platform's in-process provider calls it from a
    step of a diagram, which commits or rolls back with everything else). A signer with `auto`
    signs with its seal as soon as its turn comes (at once when it is first)."""
    digest = hashlib.sha256(request.document).hexdigest()
    same = db.session.scalar(select(EsignFlow).where(EsignFlow.business_key == request.business_key,
                                                     EsignFlow.original_sha256 == digest,
                                                     EsignFlow.status == "signing"))
    if same is not None:
        return _view(same)
    now = clock.now()
    for signer in request.signers:  # each party's certificate, made now when it has none
        esign_ca.credential(signer.party, signer.name, signer.identifier)
    flow = EsignFlow(flow_id=f"EF-{secrets.token_hex(12)}", business_key=request.business_key,
                     document_name=request.document_name or "contract.pdf", document=request.document,
                     original_sha256=digest, status="signing", callback_url=callback_url, created_at=now,
                     expires_at=now + timedelta(days=FLOW_DAYS))
    db.session.add(flow)
    db.session.flush()
    for position, signer in enumerate(request.signers, start=1):
        db.session.add(EsignSigner(flow_id=flow.id, position=position, party=signer.party, username=signer.username,
                                   name=signer.name, field=signer.field, status="waiting"))
    db.session.flush()
    autos = [s.party for s in request.signers if s.auto]
    if autos:
        state.put(AUTO_PREFIX + flow.flow_id, {"parties": autos})
        _sign_automatically(flow, _signers(flow), now)
    db.session.flush()
    return _view(flow)


def auto_parties(flow_id: str) -> list[str]:
    """The parties of the flow that sign with their seal by themselves (`Signer.auto`)."""
    value = state.get(AUTO_PREFIX + flow_id)
    return list(value["parties"]) if value else []


def _apply(flow: EsignFlow, signer: EsignSigner, now: datetime) -> None:
    """`signer`'s signature into its field, with its certificate of the sandbox CA."""
    ca = esign_ca.sandbox_ca()
    credential = esign_ca.credential(signer.party, signer.name)
    flow.document = sign_pdf(flow.document, signer.field, credential.certificate, credential.key, [ca.certificate],
                             stamp_zone=context.business_tz())  # the signer's wall clock, in the platform's zone
    signer.status, signer.signed_at = "signed", now


def _sign_automatically(flow: EsignFlow, signers: list[EsignSigner], now: datetime) -> None:
    """Apply the seal of each automatic signer whose turn it is now, then complete the flow when
    nobody is left."""
    autos = set(auto_parties(flow.flow_id))
    for signer in signers:
        if signer.status == "signed":
            continue
        if signer.party not in autos:
            break
        _apply(flow, signer, now)
    if all(s.status == "signed" for s in signers):
        flow.status, flow.completed_at = "completed", now
        esign_callbacks.queue(flow.flow_id, flow.business_key, "completed", flow.callback_url)


def flows_for(business_key: str, username: str | None = None) -> list[FlowView]:
    """The flows of `business_key`, oldest first; with `username`, only those that user signs in."""
    query = select(EsignFlow).where(EsignFlow.business_key == business_key).order_by(EsignFlow.id)
    if username is not None:
        query = query.where(EsignFlow.id.in_(select(EsignSigner.flow_id).where(EsignSigner.username == username)))
    return [_view(flow) for flow in db.session.scalars(query)]


def flow(flow_id: str) -> FlowView:
    """The flow as the simulator holds it (NotFound for an unknown id)."""
    return _view(_row(flow_id))


def flow_for_signer(flow_id: str, principal: Principal) -> FlowView:
    """The flow as its signer `principal` sees it; Forbidden for anyone who does not sign in it."""
    view = _view(_row(flow_id))
    if all(s.username != principal.username for s in view.signers):
        raise Forbidden(_l("Only the signers of this contract may open it."), code="not_a_signer")
    return view


def _expire(flow: EsignFlow) -> None:
    flow.status = "expired"
    esign_callbacks.queue(flow.flow_id, flow.business_key, "expired", flow.callback_url,
                          reason=f"not signed by every signer within {FLOW_DAYS} days")


def sign(flow_id: str, username: str, code: str, actor: Principal | None = None) -> FlowView:
    """`username` signs the flow `flow_id` with the verification `code`; with `actor` (the caller),
    only as themselves. The flow as it is afterwards."""
    if actor is not None and actor.username != username:
        raise Forbidden(_l("You may sign only as yourself."), code="not_yourself")
    flow = _row(flow_id, for_update=True)
    signers = _signers(flow)
    me = next((s for s in signers if s.username == username), None)
    if me is None:
        raise Forbidden(_l("%(username)s does not sign this contract.", username=username), code="not_a_signer")
    now = clock.now()
    if flow.status == "signing" and flow.expires_at is not None and flow.expires_at <= now:
        _expire(flow)
        db.session.commit()
    if flow.status != "signing":
        raise Conflict(_l("This contract can no longer be signed: its signing flow has ended."), code="not_signing")
    if me.status == "signed":
        raise Conflict(_l("You have already signed this contract."), code="already_signed")
    turn = next(s for s in signers if s.status != "signed")
    if turn is not me:
        raise Conflict(_l("Not your turn: %(name)s signs first.", name=turn.name), code="not_your_turn")
    if code.strip() != SANDBOX_CODE:
        message = _l("Wrong verification code (the sandbox code is 123456).")
        raise Invalid(message, fields={"code": [message]}, code="wrong_code")
    _apply(flow, me, now)
    _sign_automatically(flow, signers, now)
    db.session.flush()
    view = _view(flow)
    db.session.commit()
    return view


def signed_document(flow_id: str) -> tuple[str, bytes]:
    """The flow's document name and PDF as signed so far (all signatures once completed)."""
    flow = _row(flow_id)
    return flow.document_name, bytes(flow.document)


def document_for(flow_id: str, principal: Principal) -> tuple[str, bytes]:
    """`signed_document` for a signer of the flow; Forbidden for anyone else."""
    flow_for_signer(flow_id, principal)
    return signed_document(flow_id)


def expire_due() -> int:
    """Expire the flows still signing past their expiry; how many expired."""
    due = list(db.session.scalars(select(EsignFlow).where(EsignFlow.status == "signing",
                                                          EsignFlow.expires_at <= clock.now())
                                  .order_by(EsignFlow.id).with_for_update(skip_locked=True)))
    for flow in due:
        _expire(flow)
    db.session.commit()
    return len(due)
