"""Signing's service-task operators (`processes/signing.bpmn`); each finds the deal by the
instance's business key (the application's number) and calls `signing.flows`.

| operator | params | result |
|---|---|---|
| `signing.prepare` | — | `tri_party`, `registration`, `parties`, `product_kind`, `collection_account` |
| `signing.verify_identity` | `party` (borrower, core_enterprise), `name`, `id_number` (or credit code), `mobile`, `code` | `verified`, `attempts`, `failure` (both languages), `failure_en`, `failure_zh`, `signer` |
| `signing.stop` | `reason`, `reason_zh` | `status`, `reason` |
| `signing.start_flow` | `signers` ({party: the verified `signer`}), `collection_account` | `flow_id`, `signing_url`, `signers`, `seal`, `contract_document_id` |
| `signing.remind` | `flow_id`, `signers` (usernames) | `reminded` |
| `signing.expire` | — (7 days unsigned) | `status`, `reason` |
| `signing.provider_ended` | `status` (expired, refused), `reason` (the provider's) | `status`, `reason` |
| `signing.signed` | `flow_id`, `registration` | `document_id`, `sha256` |
| `signing.record_registration` | `registry`, `registration_number`, `registration_date`, `certificate` (`document:<id>`) | `document_id`, ... |
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.engine.said import said
from app.extensions import db
from app.services.signing import flows
from app.services.workflow.operators import HandlerContext, HandlerRegistry


def _atomic(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`call()` in a savepoint: an operator that fails (a provider down) leaves nothing behind when
    its task is parked for a retry."""
    with db.session.begin_nested():
        return call()


def _text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    return "" if value is None else str(value)


def prepare(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: flows.prepare(ctx.business_key))


def verify_identity(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: flows.verify_identity(
        ctx.business_key, ctx.instance_id, _text(params, "party"), _text(params, "name"), _text(params, "id_number"),
        _text(params, "mobile"), _text(params, "code")))


def stop(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: flows.stop(ctx.business_key, _text(params, "reason") or None,
                                      _text(params, "reason_zh") or None))


def start_flow(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    signers = params.get("signers")
    if not isinstance(signers, dict):
        raise ValueError(said("signers must map each party to its verified signer"))
    return _atomic(lambda: flows.start_flow(ctx.business_key, signers, _text(params, "collection_account")))


def remind(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    signers = params.get("signers") or []
    return _atomic(lambda: flows.remind(ctx.business_key, _text(params, "flow_id"), [str(s) for s in signers]))


def expire(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: flows.expire(ctx.business_key))


def provider_ended(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: flows.provider_ended(ctx.business_key, _text(params, "status"), _text(params, "reason")))


def signed(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: flows.signed(ctx.business_key, _text(params, "flow_id"),
                                        bool(params.get("registration"))))


def record_registration(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: flows.record_registration(
        ctx.business_key, ctx.instance_id, _text(params, "registry"), _text(params, "registration_number"),
        _text(params, "registration_date"), _text(params, "certificate")))


def register(registry: HandlerRegistry) -> None:
    registry.register("signing.prepare")(prepare)
    registry.register("signing.verify_identity")(verify_identity)
    registry.register("signing.stop")(stop)
    registry.register("signing.start_flow")(start_flow)
    registry.register("signing.remind")(remind)
    registry.register("signing.expire")(expire)
    registry.register("signing.provider_ended")(provider_ended)
    registry.register("signing.signed")(signed)
    registry.register("signing.record_registration")(record_registration)
