"""The ledger operators forward to the port the application injects; without one they fail loudly."""
from __future__ import annotations

from typing import Any

import pytest

from handlers import HandlerContext, HandlerRegistry, default_registry
from handlers.ledger import OPERATIONS, LedgerNotConnected, register

CTX = HandlerContext(instance_id=7, business_key="LOAN-7", element_id="book", idempotency_key="7:abc")


class RecordingPort:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], HandlerContext]] = []

    def _record(self, name: str, params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        self.calls.append((name, params, ctx))
        return {"called": name}

    def book_loan(self, params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        return self._record("book_loan", params, ctx)

    def take_payment(self, params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        return self._record("take_payment", params, ctx)

    def payoff_quote(self, params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        return self._record("payoff_quote", params, ctx)

    def loan_position(self, params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        return self._record("loan_position", params, ctx)


def test_every_operator_forwards_params_and_context_to_the_port():
    port = RecordingPort()
    registry = HandlerRegistry()
    register(registry, port)
    for operator, method in OPERATIONS.items():
        assert registry.call(operator, {"amount": "10.00"}, CTX) == {"called": method}
    assert [c[0] for c in port.calls] == list(OPERATIONS.values())
    assert all(c[1] == {"amount": "10.00"} and c[2] is CTX for c in port.calls)


def test_without_a_port_the_operators_exist_but_fail_when_called():
    registry = default_registry()
    assert set(OPERATIONS) <= set(registry.operators())
    with pytest.raises(LedgerNotConnected):
        registry.call("ledger.take_payment", {"amount": "10.00"}, CTX)
