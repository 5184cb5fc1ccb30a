"""The simulator: dated payments applied in order to a loan's schedule, paid instalments kept."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.lending.codec import schedule_to_dict
from app.lending.errors import TermsError
from app.lending.schedule import generate_schedule
from app.lending.simulator import request_from_mapping, simulate_request
from tests.unit.lending.reference import schedule_cases

D = Decimal
CASE = next(c for c in schedule_cases() if c["id"] == "declining-5000-12-18")
TERMS: dict[str, Any] = CASE["terms"]


def request(transactions: list[dict[str, str]], mode: str = "shorten_term") -> dict[str, Any]:
    return {"terms": TERMS, "transactions": transactions, "prepayment": mode}


def original():
    return generate_schedule(request_from_mapping(request([])).terms)


def test_paying_exactly_what_is_due_leaves_the_schedule_as_it_was() -> None:
    rows = original().instalments
    txs = [{"date": r.due_date.isoformat(), "amount": str(r.total)} for r in rows[:5]]
    sim = simulate_request(request(txs))
    assert sim.schedule == original()
    assert sim.account.history == ()
    assert all(sim.account.paid_on(r.number).total == r.total for r in rows[:5])


def test_a_payment_above_what_is_due_prepays_principal_on_that_date() -> None:
    rows = original().instalments
    sim = simulate_request(request([{"date": rows[0].due_date.isoformat(), "amount": "1305"}]))
    new = sim.schedule.instalments
    assert new[0] == rows[0]  # the first instalment, paid, is kept as it was
    assert new[1].prepayments == ((rows[0].due_date, D(1000)),)
    assert new[1].interest == ((rows[0].balance - 1000) * D("0.01")).quantize(D("0.01"))
    assert sim.schedule.version == 2 and sim.account.history == (original(),)
    assert len(new) < len(rows)


def test_both_modes_from_a_file_shaped_request() -> None:
    txs = [{"date": "2022-12-01", "amount": "305"}, {"date": "2023-01-15", "amount": "2000"}]
    shorten = simulate_request(request(txs, "shorten_term")).schedule
    reduce = simulate_request(request(txs, "reduce_instalment")).schedule
    assert len(reduce.instalments) == len(original().instalments) > len(shorten.instalments)
    assert shorten.total_interest < original().total_interest
    assert reduce.total_interest < original().total_interest
    out = schedule_to_dict(reduce)
    assert set(out) == {"instalments", "total_interest", "total_repayment"}
    assert [r["number"] for r in out["instalments"]] == list(range(1, 19))
    assert D(out["total_repayment"]) == D(5000) + D(out["total_interest"])


def test_transactions_are_applied_in_date_order() -> None:
    a = [{"date": "2023-01-15", "amount": "2000"}, {"date": "2022-12-01", "amount": "305"}]
    b = list(reversed(a))
    assert simulate_request(request(a)).schedule == simulate_request(request(b)).schedule


def test_paying_beyond_the_loan_leaves_a_credit() -> None:
    sim = simulate_request(request([{"date": "2022-11-20", "amount": "6000"}]))
    assert sim.account.outstanding == 0
    closing = sim.schedule.instalments[-1]
    assert closing.number == 1 and closing.principal == D(5000)
    assert sim.account.credit == D(6000) - closing.total


def test_a_late_partial_payment_settles_the_oldest_interest_first() -> None:
    sim = simulate_request(request([{"date": "2023-02-10", "amount": "100"}]))
    first = sim.account.paid_on(1)
    assert first.interest == D(50) and first.principal == D(50)
    assert sim.account.paid_on(2).total == 0 and sim.schedule == original()


@pytest.mark.parametrize(("data", "field"), [
    ([], "request"),
    ({"transactions": []}, "terms"),
    ({"terms": TERMS, "extra": 1}, "extra"),
    ({"terms": TERMS, "transactions": {}}, "transactions"),
    ({"terms": TERMS, "transactions": [{"date": "2023-01-01"}]}, "transactions[0]"),
    ({"terms": TERMS, "transactions": [{"date": "2023-01-01", "amount": "-5"}]}, "transactions[0].amount"),
    ({"terms": TERMS, "transactions": [{"date": "2023-01-01", "amount": "5.001"}]}, "transactions[0].amount"),
    ({"terms": TERMS, "transactions": [{"date": "2022-01-01", "amount": "5"}]}, "transactions[0].date"),
    ({"terms": TERMS, "transactions": [{"date": "tomorrow", "amount": "5"}]}, "transactions[0].date"),
    ({"terms": TERMS, "prepayment": "skip_one"}, "prepayment"),
    ({"terms": {**TERMS, "principal": "abc"}}, "principal"),
])
def test_bad_requests_are_refused_naming_the_field(data: Any, field: str) -> None:
    with pytest.raises(TermsError) as caught:
        request_from_mapping(data)
    assert caught.value.field == field
