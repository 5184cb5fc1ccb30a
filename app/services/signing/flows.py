"""The signing stage of an approved deal (`processes/signing.bpmn`): who signs, their identity,
the contract's flow at the e-signature provider, reminders and expiry, the signed contract and the
registration of the pledge or receivable.

Each function is called by an operator (`signing.operators`) in the step of the diagram that
reached it: it moves the application and writes its timeline in that step's transaction
(`deals.move`, `deals.note`), so nothing is half done. The signers are told by SMS and in the
platform (`notices.sending`), queued in the same transaction.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy import func, select

from app.engine.said import said
from app.extensions import db
from app.models import (
    Application,
    ApplicationDocument,
    ApplicationEvent,
    Document,
    HumanTask,
    Organisation,
    User,
)
from app.services import clock, context
from app.services.notices import sending
from app.services.origination.products import product_row
from app.services.signing import contract, deals, providers
from app.services.signing.deals import DealStateError
from app.services.simulators import esign as esign_simulator
from app.text_input import is_whole
from handlers.errors import ProviderError
from handlers.esign import FlowRequest, Signer, SignerState
from handlers.identifiers import valid_id_number
from handlers.identity import VerificationRequest

MAX_ATTEMPTS = 3
TRI_PARTY = ("order_financing",)  # the core enterprise signs too
REGISTERED = ("order_financing", "pledge_financing")  # 应收账款质押登记, 动产质押登记
PARTY_TASKS = {"borrower": "verify_identity_borrower", "core_enterprise": "verify_identity_core"}
# Why a verification failed, in both languages, by the provider's reason code (and the platform's own).
FAILURES = {
    "bad_identifier": ("The ID number or unified social credit code is not valid", "身份证号或统一社会信用代码无效"),
    "bad_mobile": ("The mobile number is not a valid mainland mobile number", "手机号码格式不正确"),
    "wrong_code": ("The verification code is wrong", "验证码错误"),
    "name_mismatch": ("The name does not match the ID number or credit code", "姓名或名称与证件号码不符"),
    "not_the_party": ("The ID number or credit code is not the signing party's", "证件号码与签署方不符"),
}
IDENTITY_STOPPED = ("A signer failed identity verification three times", "签署人身份验证连续三次失败")
NOT_SIGNED = ("The contract was not signed within 7 days", "合同未在7日内签署完成")
REGISTRIES = {  # the registration form's choices, in both languages
    "zhongdeng": ("the Unified Registration and Publicity System for Movable Property Financing", "动产融资统一登记公示系统"),
    "other": ("another registry", "其他登记机构"),
}
log = logging.getLogger("loanflow.signing")
PROVIDER_ENDED = ("The e-signature provider ended the signing", "电子签约服务商终止了签署")
# How the provider ended a flow (`FlowEvent.status`), in both languages
PROVIDER_STATUSES = {"expired": ("the flow expired", "签署已过期"), "refused": ("a signer refused to sign", "签署方拒绝签署")}


def _org(org_id: int | None = None, code: str | None = None) -> Organisation | None:
    if org_id is not None:
        return db.session.get(Organisation, org_id)
    return db.session.scalar(select(Organisation).where(Organisation.code == (code or "")))


def _party_org(row: Application, party: str) -> Organisation | None:
    if party == "borrower":
        return _org(row.borrower_org_id)
    if party == "funder":
        return _org(row.funder_org_id)
    return _org(code=str((row.details or {}).get("core_enterprise") or ""))


def _kind(row: Application) -> str:
    return str(product_row(row.product_id).kind)


def prepare(business_key: str | None) -> dict[str, Any]:
    """The deal enters signing (stage `identity_verification`): who signs, and whether a
    registration follows."""
    row = deals.deal(business_key, for_update=True)
    if row.status != "approved":
        raise DealStateError(said("application %(number)s is %(status)s: only an approved deal is signed",
                                  number=row.number, status=row.status))
    kind = _kind(row)
    tri_party = kind in TRI_PARTY
    deals.move(row, "approved", "identity_verification", "stage")
    parties = ["borrower", *(["core_enterprise"] if tri_party else []), "funder"]
    return {"tri_party": tri_party, "registration": kind in REGISTERED, "parties": parties, "product_kind": kind,
            "collection_account": _collection_account(row)}


def _collection_account(row: Application) -> str:
    """The collection account the core enterprise confirmed with the receivable (order financing)."""
    answer = db.session.scalar(select(HumanTask.data).where(
        HumanTask.instance_id == (row.instance_id or 0), HumanTask.element_id == "confirm_receivable",
        HumanTask.state == "completed").order_by(HumanTask.id.desc()).limit(1))
    return str((answer or {}).get("collection_account") or "")


def _since_signing_began(row: Application) -> Any:
    """The id of the timeline's last `stage identity_verification` line: this signing's beginning."""
    return db.session.scalar(select(func.max(ApplicationEvent.id)).where(
        ApplicationEvent.application_id == row.id, ApplicationEvent.kind == "stage",
        ApplicationEvent.stage == "identity_verification")) or 0


def _failures(row: Application, party: str) -> int:
    events = db.session.scalars(select(ApplicationEvent).where(
        ApplicationEvent.application_id == row.id, ApplicationEvent.kind == "identity_failed",
        ApplicationEvent.id > _since_signing_began(row)))
    return sum(1 for e in events if (e.data or {}).get("party") == party)


def _completer(instance_id: int | None, party: str) -> User | None:
    """Whoever completed the party's verification task last: the party's signer."""
    user_id = db.session.scalar(select(HumanTask.completed_by_id).where(
        HumanTask.instance_id == (instance_id or 0), HumanTask.element_id == PARTY_TASKS.get(party, ""),
        HumanTask.state == "completed").order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(1))
    return None if user_id is None else db.session.get(User, user_id)


def _claim(name: str, id_number: str, mobile: str, code: str) -> VerificationRequest:
    identifier = id_number.strip().upper()
    if valid_id_number(identifier):
        return VerificationRequest(name=name, id_number=identifier, mobile=mobile, code=code)
    return VerificationRequest(name=name, credit_code=identifier or "-", mobile=mobile, code=code)


def _the_party(row: Application, party: str, claim: VerificationRequest) -> bool:
    """Whether the claimed identifier is the party's: its organisation's credit code, or for a
    person borrowing a credit loan, the ID number the application names."""
    org = _party_org(row, party)
    known = {(org.credit_code or "").upper()} if org is not None else set()
    if party == "borrower":
        known |= {str((row.details or {}).get(k) or "").upper() for k in ("id_number", "credit_code")}
    return claim.identifier.strip().upper() in known - {""}


def verify_identity(business_key: str | None, instance_id: int | None, party: str, name: str, id_number: str,
                    mobile: str, code: str) -> dict[str, Any]:
    """The party's signer's claim checked by the identity provider; a failure is noted with its
    reason in both languages. `attempts` counts this signing's failures of the party."""
    row = deals.deal(business_key, for_update=True)
    if party not in PARTY_TASKS:
        raise DealStateError(said("party must be one of %(choices)s, got %(given)s", choices=", ".join(PARTY_TASKS),
                                  given=repr(party)))
    signer = _completer(instance_id, party)
    claim = _claim(name.strip(), id_number, mobile.strip(), code.strip())
    verdict = providers.identity().verify(claim)
    reason_code = verdict.reason_code if not verdict.verified else ("" if _the_party(row, party, claim)
                                                                    else "not_the_party")
    actor_id = signer.id if signer is not None else None
    if not reason_code:
        deals.note(row, "identity_verified", actor_id, party=party, username=signer.username if signer else None,
                   reference=verdict.reference)
        return {"verified": True, "attempts": _failures(row, party) + 1, "failure": "", "failure_en": "",
                "failure_zh": "", "signer": {"party": party, "username": signer.username if signer else "",
                                             "name": name.strip(), "identifier": claim.identifier,
                                             "mobile": mobile.strip()}}
    en, zh = FAILURES.get(reason_code, FAILURES["bad_identifier"])
    attempts = _failures(row, party) + 1
    deals.note(row, "identity_failed", actor_id, party=party, attempt=attempts, reason=en, reason_zh=zh,
               reference=verdict.reference)
    return {"verified": False, "attempts": attempts, "failure": f"{zh} / {en}", "failure_en": en, "failure_zh": zh,
            "signer": None}


def stop(business_key: str | None, reason: str | None = None, reason_zh: str | None = None) -> dict[str, Any]:
    """The signing stops: the application is `expired` with the reason, which every party reads."""
    row = deals.deal(business_key, for_update=True)
    en, zh = (reason or IDENTITY_STOPPED[0]).strip(), (reason_zh or "").strip()
    deals.move(row, "expired", row.stage if row.stage in deals.STAGES else "identity_verification", "expired",
               reason=en, reason_zh=zh or None)
    _tell(row, "signing_stopped", {"reason": en, "reason_zh": zh or en}, deals.parties_users(row))
    return {"status": "expired", "reason": en, "reason_zh": zh or en}


def _tell(row: Application, template: str, params: dict[str, str], user_ids: list[int], key: str = "") -> None:
    sending.send(template, {"number": row.number, **params}, user_ids=user_ids, business_key=row.number,
                 idempotency_key=f"{row.number}:{template}:{key or clock.now().isoformat()}")


def signing_link(flow_id: str) -> str:
    """Where a signer signs: the provider's signing page of the flow."""
    base = str(context.config("ESIGN_URL", "") or "").rstrip("/")
    if not base:
        base = str(context.config("PUBLIC_URL", "")).rstrip("/") + "/simulators/esign"
    return f"{base}/flows/{flow_id}/sign"


def start_flow(business_key: str | None, signers: dict[str, Any], collection_account: str = "") -> dict[str, Any]:
    """The contract generated (disbursement date today) and sent for signing: borrower, core
    enterprise (tri-party), then the funder with its seal (automatic); each signer is told: the borrower to
    sign, the core enterprise that it signs after the borrower."""
    row = deals.deal(business_key, for_update=True)
    if row.status != "approved":
        raise DealStateError(said("application %(number)s is %(status)s: its contract cannot be sent for signing",
                                  number=row.number, status=row.status))
    document = contract.generate(row.number, clock.now().date(), collection_account or "")
    people = []
    for party in ("borrower", "core_enterprise"):
        signer = signers.get(party)
        if not signer:
            continue
        org = _party_org(row, party)
        people.append(Signer(party=party, name=org.name if org else str(signer.get("name")),
                             identifier=str(signer.get("identifier") or (org.credit_code if org else "")),
                             username=str(signer["username"]), mobile=str(signer.get("mobile") or "")))
    if not people or people[0].party != "borrower":
        raise DealStateError(said("application %(number)s: the borrower's signer has not verified their identity",
                                  number=row.number))
    funder = _party_org(row, "funder")
    if funder is None:
        raise DealStateError(said("application %(number)s has no funder", number=row.number))
    seal = Signer(party="funder", name=funder.name, identifier=funder.credit_code or "", username=f"seal:{funder.code}",
                  auto=True)
    flow_id = providers.esign().create_flow(FlowRequest(business_key=row.number, document_name=document.filename,
                                                        document=bytes(document.content), signers=(*people, seal)))
    deals.move(row, "signing", "contract_signing", "stage", flow=flow_id)
    link = signing_link(flow_id)
    first, *after = people  # the borrower signs first: the others are told they sign in turn, after it
    ids = dict(db.session.execute(select(User.username, User.id).where(
        User.username.in_([p.username for p in people]))).all())
    _tell(row, "contract_to_sign", {"link": link}, [ids[first.username]] if first.username in ids else [],
          key=f"{flow_id}:sent")
    if later := [ids[p.username] for p in after if p.username in ids]:
        _tell(row, "contract_to_sign_in_turn", {"link": link, "first": first.name}, later, key=f"{flow_id}:sent")
    return {"flow_id": flow_id, "signing_url": link, "signers": [p.username for p in people],
            "seal": seal.username, "contract_document_id": document.id}


def _unsigned(flow_id: str, usernames: list[str]) -> list[str]:
    """The signers who have not signed yet: asked of the simulator in process; a provider over HTTP
    is not asked (every human signer is reminded until the flow ends)."""
    if isinstance(providers.esign(), providers.SimulatedESign):
        signed = {s.username for s in esign_simulator.flow(flow_id).signers if s.status == "signed"}
        return [u for u in usernames if u not in signed]
    return list(usernames)


def remind(business_key: str | None, flow_id: str, signers: list[str]) -> dict[str, Any]:
    """The daily reminder: the signers who have not signed are told again, with the link."""
    row = deals.deal(business_key)
    waiting = _unsigned(flow_id, [str(u) for u in signers])
    users = list(db.session.scalars(select(User.id).where(User.username.in_(waiting)))) if waiting else []
    if users:
        _tell(row, "contract_reminder", {"link": signing_link(flow_id)}, users)
    deals.note(row, "signing_reminded", signers=waiting or None)
    return {"reminded": waiting}


def expire(business_key: str | None) -> dict[str, Any]:
    """Seven days without every signature: the deal expires with that reason."""
    return stop(business_key, NOT_SIGNED[0], NOT_SIGNED[1])


def provider_ended(business_key: str | None, status: str, reason: str = "") -> dict[str, Any]:
    """The provider reports the flow `expired` or `refused`: the deal expires with its reason (the
    provider's status and words in the English reason, the status in words in the Chinese one)."""
    status_en, status_zh = PROVIDER_STATUSES.get(status, (status, "签署未完成"))
    en = f"{PROVIDER_ENDED[0]} ({status}: {status_en}{'; ' + reason if reason else ''})"
    zh = f"{PROVIDER_ENDED[1]}（{status_zh}）"  # the provider's own words are English: in the English reason only
    return stop(business_key, en, zh)


def _signatures(business_key: str, flow_id: str) -> list[SignerState]:
    """Who signed the flow, in signing order, and when: a line each on the deal's timeline before "every party
    signed". The provider not answering leaves them out (the signed PDF holds each signature)."""
    try:
        flow = next((f for f in providers.esign().flows(business_key) if f.flow_id == flow_id), None)
    except ProviderError as exc:
        log.warning("e-sign flow %s of %s: who signed is not known (%s)", flow_id, business_key, exc)
        return []
    return [s for s in flow.signers if s.status == "signed"] if flow is not None else []


def signed(business_key: str | None, flow_id: str, registration: bool) -> dict[str, Any]:
    """The provider's signed PDF kept as the deal's `signed_contract`; stage `registration` when
    the pledge or receivable is registered next."""
    row = deals.deal(business_key, for_update=True)
    pdf = providers.esign().signed_document(flow_id)
    document = ApplicationDocument(application_id=row.id, kind="signed_contract", filename=f"HT-{row.number}-signed.pdf",
                                   content_type="application/pdf", size=len(pdf),
                                   sha256=hashlib.sha256(pdf).hexdigest(), content=pdf, created_at=clock.now())
    db.session.add(document)
    for signer in _signatures(row.number, flow_id):
        deals.note(row, "party_signed", party=signer.party, name=signer.name, signed_at=signer.signed_at or None)
    deals.note(row, "contract_signed", flow=flow_id, document=document.filename)
    if registration:
        deals.move(row, "signing", "registration", "stage")
    db.session.flush()
    return {"document_id": document.id, "sha256": document.sha256}


def record_registration(business_key: str | None, instance_id: int | None, registry: str, registration_number: str,
                        registration_date: str, certificate: str) -> dict[str, Any]:
    """The registration of the pledge or receivable: its certificate (the task's upload,
    `document:<id>`) kept as the deal's `registration_certificate`."""
    row = deals.deal(business_key, for_update=True)
    reference = str(certificate or "")
    if not reference.startswith("document:") or not is_whole(reference[len("document:"):]):
        raise DealStateError(said("the registration certificate must be an upload (document:<id>), got %(given)s",
                                  given=repr(reference)))
    upload = db.session.get(Document, int(reference[len("document:"):]))
    if upload is None or (instance_id is not None and upload.instance_id != instance_id):
        raise DealStateError(said("no uploaded certificate %(reference)s in this deal", reference=reference))
    document = ApplicationDocument(application_id=row.id, kind="registration_certificate", filename=upload.filename,
                                   content_type=upload.content_type, size=upload.size, sha256=upload.sha256,
                                   content=bytes(upload.content), uploaded_by_id=upload.uploaded_by_id,
                                   created_at=clock.now())
    db.session.add(document)
    registry_en, registry_zh = REGISTRIES.get(registry, (registry, registry))
    deals.note(row, "collateral_registered", upload.uploaded_by_id, registry=registry_en, registry_zh=registry_zh,
               registration_number=registration_number, registration_date=registration_date,
               document=upload.filename)
    db.session.flush()
    return {"document_id": document.id, "registry": registry, "registration_number": registration_number,
            "registration_date": registration_date}
