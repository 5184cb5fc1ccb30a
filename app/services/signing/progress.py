"""What the deal pages show while a deal's contract waits for signatures (stage `contract_signing`):
the parties in signing order, who has signed and who has not (asked of the e-signature provider,
`ESignProvider.flows`), and, for the reader who signs next, the provider's signing page.

Reads only. The flow is the one the deal's last `contract_signing` line names (`flows.start_flow`);
a provider that cannot be asked (one attempt, `providers.PAGE_TIMEOUT`) leaves the page saying the
contract waits, without the signers.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Application, ApplicationEvent, HumanTask, ProcessInstance
from app.services import context
from app.services.identity.directory import Principal
from app.services.origination import applications
from app.services.signing import contract, flows, providers
from app.services.signing.flows import signing_link
from handlers.errors import ProviderError
from handlers.esign import FlowState

IDENTITY_ATTEMPTS = 3  # the diagram's `identity['attempts'] < 3`: the third failure stops the signing
SEAL_PREFIX = "seal:"  # the funder's seal account (`flows.start_flow`): signed by the provider itself


def _flow_id(row: Application) -> str:
    """The flow the deal's contract was last sent for signing in."""
    data = db.session.scalar(select(ApplicationEvent.data).where(
        ApplicationEvent.application_id == row.id, ApplicationEvent.kind == "stage",
        ApplicationEvent.stage == "contract_signing").order_by(ApplicationEvent.id.desc()).limit(1))
    return str((data or {}).get("flow") or "")


def _current(flows: list[FlowState], flow_id: str) -> FlowState | None:
    return next((f for f in flows if f.flow_id == flow_id), flows[-1] if flows else None)


def contract_signing(principal: Principal, business_key: str | None) -> dict[str, Any] | None:
    """While the deal of `business_key` (which `principal` may see) waits for signatures:
    `{"flow_id", "known", "signers": [{"party", "name", "signed", "seal", "mine"}], "my_turn",
    "signing_url", "terms"}` (`terms`: the contract's figures, `contract.key_terms`); None at any other stage, and once every party has signed. `known` is False when
    the provider could not be asked (no signers then); `signing_url` only for the signer whose turn it is."""
    row = applications.by_number(principal, business_key) if business_key else None
    if row is None or (row.status, row.stage) != ("signing", "contract_signing"):
        return None
    flow_id = _flow_id(row)
    terms = contract.key_terms(row)  # what is signed, said beside the link
    try:
        flow = _current(providers.esign(for_page=True).flows(row.number), flow_id)
    except ProviderError:
        return {"flow_id": flow_id, "known": False, "signers": [], "my_turn": False, "signing_url": None,
                "terms": terms}
    if flow is None or flow.status != "signing":
        return None
    turn = next((s for s in flow.signers if s.status != "signed"), None)
    my_turn = turn is not None and turn.username == principal.username
    url = (turn.signing_url or signing_link(flow.flow_id)) if my_turn and turn is not None else None
    return {"flow_id": flow.flow_id, "known": True, "my_turn": my_turn, "signing_url": url, "terms": terms,
            "signers": [{"party": s.party, "name": s.name, "signed": s.status == "signed",
                         "seal": s.username.startswith(SEAL_PREFIX), "mine": s.username == principal.username}
                        for s in flow.signers]}


def identity_attempt(principal: Principal, task_id: int) -> dict[str, Any] | None:
    """What the identity verification `principal` just answered in task `task_id` came to:
    `{"verified", "reason", "remaining", "retry_task_id"}` (the reason of a failure in the reader's
    language; the task to try again in while attempts remain). None for any other task or reader."""
    task = db.session.get(HumanTask, task_id)
    party = next((p for p, element in flows.PARTY_TASKS.items() if task is not None and element == task.element_id),
                 None)
    if task is None or party is None or task.completed_by_id != principal.id:
        return None
    instance = db.session.get(ProcessInstance, task.instance_id)
    row = applications.by_number(principal, instance.business_key) if instance and instance.business_key else None
    if row is None:
        return None
    last = next((e for e in db.session.scalars(select(ApplicationEvent).where(
        ApplicationEvent.application_id == row.id,
        ApplicationEvent.kind.in_(("identity_verified", "identity_failed"))).order_by(ApplicationEvent.id.desc()))
        if (e.data or {}).get("party") == party), None)
    if last is None:
        return None
    data = last.data or {}
    retry = db.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == task.instance_id, HumanTask.element_id == task.element_id,
        HumanTask.state.in_(("ready", "claimed"))).order_by(HumanTask.id.desc()).limit(1))
    reason = str(data.get("reason_zh") if context.language() == "zh" else data.get("reason") or "")
    return {"verified": last.kind == "identity_verified", "reason": reason,
            "remaining": max(0, IDENTITY_ATTEMPTS - int(data.get("attempt") or 0)), "retry_task_id": retry}
