"""The ledger registers its own service-task operators; the product's registry holds them once."""
from __future__ import annotations

import pytest

from app.services.ledger import operators as ledger_operators
from app.services.workflow.operators import HandlerRegistry
from app.wiring import PRODUCT_OPERATORS, product_registry

LEDGER_OPERATORS = {"ledger.book_loan", "ledger.take_payment", "ledger.payoff_quote", "ledger.loan_position"}


def test_the_ledger_registers_exactly_its_operators():
    registry = HandlerRegistry()
    ledger_operators.register(registry)
    assert set(registry.operators()) == LEDGER_OPERATORS


def test_the_product_registry_holds_every_domains_operators():
    operators = set(product_registry().operators())
    origination = {"platform.financing_limit", "origination.stage", "origination.cap", "origination.decide",
                   "origination.lead_outcome", "origination.register_lead", "risk.assess"}
    signing = {"signing.prepare", "signing.verify_identity", "signing.stop", "signing.start_flow", "signing.remind",
               "signing.expire", "signing.provider_ended", "signing.signed", "signing.record_registration"}
    disbursement = {"disbursement.prepare", "disbursement.order", "disbursement.query", "disbursement.settle",
                    "disbursement.stop"}
    collections = {f"collections.{name}" for name in (
        "open", "plan", "contact_window", "send_reminder", "demand_letter", "refer", "record_contact", "check_promise",
        "check_sale", "decide_sale", "decide_write_off", "decide_waiver")}
    others = {o for o in operators if o.split(".")[0] in ("servicing", "collateral")}  # their domains' own tests
    workers = {"camunda.external_task"}  # done by Camunda's external task workers (test_external_tasks.py)
    assert LEDGER_OPERATORS | origination | signing | disbursement | collections | others | {"notify.send"} | workers \
        == operators
    assert "app.services.ledger.operators" in PRODUCT_OPERATORS


def test_an_operator_registered_twice_is_refused():
    registry = HandlerRegistry()
    ledger_operators.register(registry)
    with pytest.raises(ValueError, match="registered twice"):
        ledger_operators.register(registry)
