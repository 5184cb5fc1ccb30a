"""Amounts through the database, on both backends: every amount the parser accepts reads back exactly as
written, sums over the journal are exact to the cent, and an amount the columns could not hold exactly
is refused at the API with a 422 naming the field."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from app.extensions import db
from app.lending.money import parse_money
from app.models import JournalEntry, JournalLine, Payment
from app.services.ledger import journal as ledger

ACCEPTED = st.from_regex(r"-?[0-9]{1,13}(\.[0-9]{1,2})?", fullmatch=True)
DB_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _entry() -> int:
    db.session.execute(delete(JournalLine))
    db.session.execute(delete(JournalEntry))
    return int(db.session.execute(insert(JournalEntry).returning(JournalEntry.id).values(
        kind="test", business_date=date(2026, 1, 1))).scalar_one())


@DB_SETTINGS
@given(texts=st.lists(ACCEPTED, min_size=1, max_size=8))
@example(texts=["9999999999999.99", "-9999999999999.99", "0.01"])
@example(texts=["9999999999999.99"] * 8)
@example(texts=["1234567890123.45", "0.10", "0.20"])
def test_every_accepted_amount_reads_back_as_written_and_sums_are_exact(ctx, texts):
    amounts = [parse_money(text, "amount") for text in texts]
    entry_id = _entry()
    db.session.execute(insert(JournalLine), [
        {"entry_id": entry_id, "account": "cash_clearing", "amount": amount} for amount in amounts])
    db.session.commit()
    db.session.expire_all()
    stored = db.session.scalars(select(JournalLine.amount).order_by(JournalLine.id)).all()
    assert stored == amounts
    assert all(str(value) == str(amount) for value, amount in zip(stored, amounts, strict=True))
    assert ledger.trial_balance().balances["cash_clearing"] == sum(amounts, Decimal("0.00"))
    assert ledger.unbalanced_entries() == ([] if sum(amounts) == 0 else [entry_id])
    db.session.rollback()


def test_an_entry_of_many_cents_beside_the_largest_amount_balances_to_the_cent(ctx):
    """Summed as doubles (SQLite's SUM), 9999999999999.99 and fifty 0.01s lose cents; summed as cents
    they do not, so the entry balances and each account holds what was posted."""
    entry_id = _entry()
    big, cent = Decimal("9999999999999.99"), Decimal("0.01")
    lines = ([("cash_clearing", big)] + [("cash_clearing", cent)] * 50
             + [("loan_principal", -big), ("fee_income", -cent * 50)])
    db.session.execute(insert(JournalLine), [
        {"entry_id": entry_id, "account": account, "amount": amount} for account, amount in lines])
    db.session.commit()
    assert ledger.unbalanced_entries() == []
    balances = ledger.trial_balance().balances
    assert (balances["cash_clearing"], balances["loan_principal"]) == (Decimal("10000000000000.49"), -big)
    assert ledger.trial_balance().total == 0


BAD_AMOUNTS = ["٣.٠٠", "１.00", "1.00\n", " 1.00", "1.00 ", "+1.00", "1_000.00", "1e3", "999999999999999.99",
               "10000000000000.00", "9999999999999.999", "-1.00", "0.00"]


def test_amounts_the_columns_cannot_hold_exactly_are_a_422_naming_the_field(app, client, admin_token):
    from app.services.identity import directory as identity
    from app.services.ledger import loans
    from tests.integration.ledger_support import product

    with app.app_context():
        org = identity.create_org("BORR1", ["borrower"], "Borrower").id
        db.session.commit()
        loan_id = loans.book_loan(loans.LoanRequest(product(), "LOAN-1", org, Decimal("12000.00"), 12,
                                                    date(2026, 1, 10))).id
        db.session.commit()
        db.session.remove()
    headers = {"Authorization": f"Bearer {admin_token}"}
    for n, amount in enumerate(BAD_AMOUNTS):
        response = client.post(f"/api/v1/loans/{loan_id}/payments", headers=headers,
                               json={"amount": amount, "idempotency_key": f"k{n}"})
        assert response.status_code == 422, (amount, response.json)
        assert list(response.json["error"]["fields"]) == ["amount"], (amount, response.json)
    # the largest amount the columns hold is read exactly, and refused as more than settles the loan today (a
    # reported transfer is at most the pay-off, as an online payment is); the ledger holds it exactly (above)
    largest = client.post(f"/api/v1/loans/{loan_id}/payments", headers=headers,
                          json={"amount": "9999999999999.99", "idempotency_key": "largest"})
    assert largest.status_code == 422 and list(largest.json["error"]["fields"]) == ["amount"], largest.json
    settles = client.post(f"/api/v1/loans/{loan_id}/payments", headers=headers,
                          json={"amount": "1000.01", "idempotency_key": "some"})
    assert settles.status_code == 201 and settles.json["amount"] == "1000.01", settles.json
    with app.app_context():
        assert db.session.scalars(select(Payment.amount)).all() == [Decimal("1000.01")]
        db.session.remove()
