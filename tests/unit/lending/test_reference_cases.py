"""Every reference case of tests/fixtures/reference/loan-cases.json, reproduced to the cent."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.lending.codec import terms_from_mapping
from app.lending.overdue import UnpaidInstalment, instalment_penalty_charge, penalty_charge
from app.lending.schedule import generate_schedule
from app.lending.terms import PenaltyChargeBasis
from tests.unit.lending.reference import penalty_cases, schedule_cases

SCHEDULES = schedule_cases()
PENALTIES = penalty_cases()


def test_the_reference_file_has_cases() -> None:
    assert len(SCHEDULES) >= 6 and len(PENALTIES) >= 2


@pytest.mark.parametrize("case", SCHEDULES, ids=[c["id"] for c in SCHEDULES])
def test_schedule_matches_the_reference_to_the_cent(case: dict[str, Any]) -> None:
    schedule = generate_schedule(terms_from_mapping(case["terms"]))
    expect = case["expect"]
    rows = schedule.instalments
    assert len(rows) == case["terms"]["repayments"]
    for part in ("principal", "interest", "total"):
        if part in expect:
            assert [getattr(r, part) for r in rows] == [Decimal(x) for x in expect[part]], part
    assert schedule.total_interest == Decimal(expect["total_interest"])
    assert schedule.total_principal == Decimal(case["terms"]["principal"])
    assert rows[-1].balance == 0


@pytest.mark.parametrize("case", PENALTIES, ids=[c["id"] for c in PENALTIES])
def test_penalty_charge_matches_the_reference(case: dict[str, Any]) -> None:
    percent = Decimal(case["rule"].split("%")[0])
    overdue = Decimal(case.get("overdue_principal", case.get("overdue_amount")))
    assert penalty_charge(percent, overdue) == Decimal(case["expect_penalty"])


@pytest.mark.parametrize("case", PENALTIES, ids=[c["id"] for c in PENALTIES])
def test_penalty_charge_basis_of_the_product_matches_the_reference(case: dict[str, Any]) -> None:
    """The product setting picks the basis: principal only (interest ignored), or principal + interest."""
    percent = Decimal(case["rule"].split("%")[0])
    amount = Decimal(case.get("overdue_principal", case.get("overdue_amount")))
    if "interest" in case["rule"]:
        basis = PenaltyChargeBasis.PRINCIPAL_AND_INTEREST
        splits = [(amount, Decimal(0)), (amount * 3 / 4, amount / 4)]  # any split of the overdue amount
    else:
        basis = PenaltyChargeBasis.PRINCIPAL
        splits = [(amount, Decimal(0)), (amount, Decimal("123.45"))]  # interest does not count
    terms = terms_from_mapping({**SCHEDULES[0]["terms"], "penalty_charge_percent": str(percent),
                                "penalty_charge_basis": basis.value})
    for principal, interest in splits:
        due = UnpaidInstalment(1, date(2023, 1, 1), principal=principal, interest=interest)
        assert instalment_penalty_charge(terms, due) == Decimal(case["expect_penalty"])
