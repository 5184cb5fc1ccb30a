"""The posting rules (`app.services.ledger.posting`): every event balances to the cent for any
amounts in any accounts, and in the default accounts it posts exactly what the ledger always did."""
from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.models.ledger import ACCOUNT_KINDS, ACCOUNT_ROLES
from app.services.ledger.journal import Line, UnbalancedEntry, credit, debit, entry_lines
from app.services.ledger.posting import (
    DEFAULT_ACCOUNTS,
    DEFAULT_CHART,
    ROLE_KINDS,
    RULES,
    Role,
    event_lines,
    in_accounts,
    parts,
    payment_amounts,
)
from tests.unit.lending.strategies import cents

ROOT = Path(__file__).resolve().parents[2]
AMOUNT = cents(0, 10**15 - 1)  # up to MAX_AMOUNT, zero included


@st.composite
def event_amounts(draw: st.DrawFn, kind: str) -> dict[str, Decimal]:
    return {part: draw(AMOUNT) for part in parts(kind)}


# Any mapping, roles sharing accounts included: drawn from a pool smaller than the roles.
any_accounts = st.fixed_dictionaries({role: st.sampled_from(["a1", "a2", "a3", "a4"]) for role in Role})


@given(st.sampled_from(sorted(RULES)).flatmap(lambda kind: st.tuples(st.just(kind), event_amounts(kind))),
       any_accounts)
def test_every_event_balances_to_the_cent_for_any_amounts_in_any_accounts(
        event: tuple[str, dict[str, Decimal]], accounts: Mapping[Role, str]) -> None:
    kind, amounts = event
    lines = event_lines(kind, amounts, accounts)
    assert sum((line.amount for line in lines), Decimal(0)) == 0
    written = entry_lines(kind, lines)  # what post_entry writes: refuses anything unbalanced
    assert all(amount == amount.quantize(Decimal("0.01")) and amount != 0 for amount in written.values())


def _payment(a: Mapping[str, Decimal]) -> list[Line]:
    cash = (a["penalties"] + a["fees"] + a["interest"] + a["principal"] + a["credit_added"] - a["credit_used"])
    return [debit("cash_clearing", cash), debit("borrower_credit", a["credit_used"]),
            credit("penalty_receivable", a["penalties"]), credit("fee_receivable", a["fees"]),
            credit("interest_receivable", a["interest"]), credit("loan_principal", a["principal"]),
            credit("borrower_credit", a["credit_added"])]


def _write_off(a: Mapping[str, Decimal]) -> list[Line]:
    total = a["principal"] + a["interest"] + a["penalties"] + a["fees"]
    return [debit("write_off_expense", total), credit("loan_principal", a["principal"]),
            credit("interest_receivable", a["interest"]), credit("penalty_receivable", a["penalties"]),
            credit("fee_receivable", a["fees"])]


def _pair(dr: str, cr: str, part: str) -> Callable[[Mapping[str, Decimal]], list[Line]]:
    return lambda a: [debit(dr, a[part]), credit(cr, a[part])]


# The lines each service and the batch wrote before the rules were gathered here (docs/ledger.md).
BEFORE: dict[str, Callable[[Mapping[str, Decimal]], list[Line]]] = {
    "disbursement": _pair("loan_principal", "cash_clearing", "principal"),
    "interest_billed": _pair("interest_receivable", "interest_income", "interest"),
    "eod_interest_billed": _pair("interest_receivable", "interest_income", "interest"),
    "eod_penalty_charged": _pair("penalty_receivable", "penalty_income", "penalties"),
    "eod_penalty_interest": _pair("penalty_receivable", "penalty_income", "penalties"),
    "fee_charged": _pair("fee_receivable", "fee_income", "fees"),
    "payment": _payment,
    "penalty_waived": _pair("penalty_income", "penalty_receivable", "penalties"),
    "fee_waived": _pair("fee_income", "fee_receivable", "fees"),
    "interest_waived": _pair("interest_income", "interest_receivable", "interest"),
    "write_off": _write_off,
    "credit_refund": _pair("borrower_credit", "cash_clearing", "credit"),
}


def test_every_event_kind_is_one_the_ledger_posted_before() -> None:
    assert set(RULES) == set(BEFORE)


@given(st.sampled_from(sorted(RULES)).flatmap(lambda kind: st.tuples(st.just(kind), event_amounts(kind))))
def test_in_the_default_accounts_every_event_posts_what_it_always_did(event: tuple[str, dict[str, Decimal]]) -> None:
    kind, amounts = event
    assert entry_lines(kind, event_lines(kind, amounts, DEFAULT_ACCOUNTS)) == entry_lines(kind, BEFORE[kind](amounts))


def test_a_payment_posts_in_the_order_of_its_accounts() -> None:
    amounts = payment_amounts(Decimal("1000.00"), penalties=Decimal("5.00"), fees=Decimal("10.00"),
                              interest=Decimal("120.00"), principal=Decimal("900.00"), credit_used=Decimal("50.00"),
                              credit_added=Decimal("15.00"))
    assert list(entry_lines("payment", event_lines("payment", amounts, DEFAULT_ACCOUNTS)).items()) == [
        ("borrower_credit", Decimal("35.00")), ("cash_clearing", Decimal("1000.00")),
        ("fee_receivable", Decimal("-10.00")), ("interest_receivable", Decimal("-120.00")),
        ("loan_principal", Decimal("-900.00")), ("penalty_receivable", Decimal("-5.00"))]


def test_a_payment_whose_parts_do_not_add_up_to_the_money_received_is_refused() -> None:
    with pytest.raises(UnbalancedEntry):
        payment_amounts(Decimal("100.00"), penalties=Decimal(0), fees=Decimal(0), interest=Decimal("20.00"),
                        principal=Decimal("80.01"), credit_used=Decimal(0), credit_added=Decimal(0))


def test_an_event_refuses_a_part_it_does_not_have() -> None:
    with pytest.raises(UnbalancedEntry, match="principal"):
        event_lines("fee_charged", {"principal": Decimal("1.00")}, DEFAULT_ACCOUNTS)


def test_the_roles_and_the_default_accounts_agree_with_the_tables_and_the_migration() -> None:
    assert tuple(Role) == ACCOUNT_ROLES  # the CHECK on product_accounts.role
    kinds = {account.code: account.kind for account in DEFAULT_CHART}
    assert set(DEFAULT_ACCOUNTS) == set(Role)
    assert all(kinds[DEFAULT_ACCOUNTS[role]] in ROLE_KINDS[role] for role in Role)
    assert set(kinds.values()) <= set(ACCOUNT_KINDS)
    spec = importlib.util.spec_from_file_location("posting_migration", ROOT / "migrations/versions/0009_posting_rules.py")
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.CHART == tuple((a.code, a.name, a.kind) for a in DEFAULT_CHART)
    assert dict(migration.DEFAULT_ACCOUNTS) == {role.value: code for role, code in DEFAULT_ACCOUNTS.items()}


def test_balances_by_role_add_up_in_accounts_that_roles_share() -> None:
    accounts = {**DEFAULT_ACCOUNTS, Role.FEE_RECEIVABLE: "other_receivable", Role.PENALTY_RECEIVABLE: "other_receivable"}
    assert in_accounts({"loan_portfolio": Decimal("10.00"), "fee_receivable": Decimal("1.50"),
                        "penalty_receivable": Decimal("2.25")}, accounts) == {
        "loan_principal": Decimal("10.00"), "other_receivable": Decimal("3.75")}
