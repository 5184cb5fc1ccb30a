"""Collateral caps and approvals within limits: never a cent above any limit, never lowered without one."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.lending.limits import approved_within, collateral_cap

cents = st.integers(min_value=0, max_value=10**14).map(lambda c: Decimal(c) / 100)
ratios = st.integers(min_value=1, max_value=10_000).map(lambda r: Decimal(r) / 10_000)


@given(cents, ratios)
def test_a_cap_is_never_a_cent_above_value_times_ratio(value: Decimal, ratio: Decimal) -> None:
    cap = collateral_cap(value, ratio)
    assert cap == cap.quantize(Decimal("0.01"))
    assert cap <= value * ratio < cap + Decimal("0.01")


def test_the_examples_round_down() -> None:
    assert collateral_cap(Decimal("1000000.00"), Decimal("0.8")) == Decimal("800000.00")
    assert collateral_cap(Decimal("0.99"), Decimal("0.5")) == Decimal("0.49")


@pytest.mark.parametrize("value, ratio", [(Decimal("-1"), Decimal("0.5")), (Decimal(1), Decimal(0)),
                                          (Decimal(1), Decimal("1.01"))])
def test_a_cap_refuses_a_negative_value_or_a_ratio_outside_0_1(value: Decimal, ratio: Decimal) -> None:
    with pytest.raises(ValueError):
        collateral_cap(value, ratio)


@given(cents, st.lists(st.tuples(cents, st.sampled_from(["asked", "cap", "maximum"])), max_size=4))
def test_an_approval_is_the_tightest_limit_and_names_it(wanted: Decimal, limits: list[tuple[Decimal, str]]) -> None:
    approved, because = approved_within(wanted, limits)
    assert approved == min([wanted, *(limit for limit, _ in limits)])
    if because is None:
        assert approved == wanted
    else:
        assert approved < wanted and (approved, because) in limits
