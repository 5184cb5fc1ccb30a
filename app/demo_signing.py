"""The demo's deals after approval (docs/signing.md): each party does its part as a person would,
through the same tasks, the e-signature simulator's signing and the providers' signed callbacks.

While `seed demo` runs, no server is up to receive the simulators' callbacks: they are handed to
the platform's callback endpoint's service in process (`receive_esign`, `receive_payment`), signed
and checked exactly as over HTTP. The payment gateway settles an order a few seconds after it is
placed; the seed settles it as of then.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Organisation
from app.services import clock
from app.services.errors import ServiceError
from app.services.signing import callbacks
from app.services.simulators import esign, esign_callbacks
from app.services.simulators import payments as payments_simulator
from app.services.workflow.uploads import PENDING_DOCUMENT, Upload

# How far past approval a demo deal goes, in order.
GOALS = ("identity", "signing", "registration", "disbursing", "active")
SANDBOX_CODE = "123456"
CERTIFICATE = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" \
              b"trailer<</Root 1 0 R>>\n%%EOF\n"

Do = Callable[..., None]


def advance(do: Do, instance_id: int | None, number: str, product: str, goal: str) -> None:
    """Take the approved deal `number` as far as `goal` (one of `GOALS`); `do(instance, element,
    username, answer, uploads=())` completes a task as that user."""
    if goal not in GOALS:
        raise ValueError(f"demo goal must be one of {', '.join(GOALS)}, got {goal!r}")
    if goal == "identity":
        return
    _verify(do, instance_id, "verify_identity_borrower", "applicant1", "TRADER1")
    if product == "ORDER-FIN":
        _verify(do, instance_id, "verify_identity_core", "signer1", "CORE1")
    if goal == "signing":
        return
    [flow] = [f for f in esign.flows_for(number) if f.status == "signing"]
    for signer in flow.signers:
        if signer.status != "signed" and not signer.username.startswith("seal:"):
            esign.sign(flow.flow_id, signer.username, SANDBOX_CODE)
    esign_callbacks.deliver_callbacks(post=_esign_in_process)
    if product != "CREDIT-LOAN":  # a receivable or pledged goods: registered before the money goes
        if goal == "registration":
            return
        do(instance_id, "register_collateral", "operator", {
            "registry": "zhongdeng", "registration_number": f"ZD-{number}",
            "registration_date": clock.now().date().isoformat(), "certificate": PENDING_DOCUMENT},
            (Upload("certificate", "登记证明.pdf", CERTIFICATE),))
    if goal == "disbursing":
        return
    do(instance_id, "release_funds", "finance1", {
        "payee_account": "6222 0210 0100 7777 001", "payee_bank": "招商银行上海分行",
        "confirmed": True, "notes": "合同与登记齐全，按批准金额放款。"})
    payments_simulator.settle_due(clock.now() + timedelta(minutes=1))
    payments_simulator.deliver_notifications(post=payment_in_process)


def _verify(do: Do, instance_id: int | None, element: str, username: str, org_code: str) -> None:
    org = db.session.scalar(select(Organisation).where(Organisation.code == org_code))
    if org is None:
        raise RuntimeError(f"demo: no organisation {org_code}")
    do(instance_id, element, username, {"name": org.name, "id_number": org.credit_code or "",
                                        "mobile": "13800138000", "code": SANDBOX_CODE})


def _esign_in_process(url: str, body: bytes, headers: dict[str, str]) -> int:
    try:
        callbacks.receive_esign(headers, body, "demo seed")
    except ServiceError:
        return 401
    return 200


def payment_in_process(url: str, body: bytes, headers: dict[str, str]) -> str:
    try:
        callbacks.receive_payment(headers, body, "demo seed")
    except ServiceError as exc:
        return f"refused: {exc.code}"
    return ""
