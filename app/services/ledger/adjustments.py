"""Waivers and write-offs: giving up what a borrower owes, each as one balanced journal entry.

A waiver forgives billed interest, fees or penalties (oldest instalment first) and reverses the
income they were booked to. A write-off takes everything still owed off the books at once into
the product's losses written off and ends the loan; its credit, if any, stays owed to the borrower.
The accounts are the product's (`posting`).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.lending.errors import LendingError
from app.lending.money import parse_money
from app.models.loan import ZERO
from app.services.context import lazy_gettext as _l
from app.services.context import readable
from app.services.errors import Conflict, Invalid, Text
from app.services.ledger.journal import lock_ledger
from app.services.ledger.loans import business_today, ended, load_state, loan_is, mark_settled
from app.services.ledger.posting import loan_accounts, post_event

WAIVABLE = {"penalty": ("penalty_due", "penalty_paid", "penalty_waived"),
            "fee": ("fee_due", "fee_paid", "fee_waived"),
            "interest": ("interest_billed", "interest_paid", "interest_waived")}
AMOUNT_PART = {"penalty": "penalties", "fee": "fees", "interest": "interest"}  # the waiver's part (`posting`)
# A part as a refusal names it: its code in English, its word in Chinese.
PART_WORDS: dict[str, Text] = {"penalty": _l("penalty"), "fee": _l("fee"), "interest": _l("interest")}


def waive(loan_id: int, part: str, amount: Decimal | str | None = None, on: date | None = None,
          memo: str | None = None) -> Decimal:
    """Forgive `amount` (default: all) of the loan's billed `part`; returns what was waived."""
    if part not in WAIVABLE:
        raise Invalid(_l("cannot waive that"), {"part": [_l("must be penalty, fee or interest")]})
    on = on or business_today()
    lock_ledger()
    state = load_state(loan_id, lock=True)
    if state.loan.status != "active":
        raise Conflict(loan_is(state.loan.status))
    due_name, paid_name, waived_name = WAIVABLE[part]
    rows = sorted(state.rows.values(), key=lambda r: (r.due_date, r.number))
    open_amount = {r.number: getattr(r, due_name) - getattr(r, paid_name) - getattr(r, waived_name) for r in rows}
    available = sum(open_amount.values(), ZERO)
    wanted = available if amount is None else _amount(amount)
    if wanted > available:
        raise Invalid(_l("only %(available)s of %(part)s is owed", available=str(available), part=PART_WORDS[part]),
                      {"amount": [_l("must be at most %(available)s", available=str(available))]})
    left = wanted
    for r in rows:
        take = min(left, open_amount[r.number])
        if take > 0:
            setattr(r, waived_name, getattr(r, waived_name) + take)
            left -= take
    post_event(f"{part}_waived", on, {AMOUNT_PART[part]: wanted}, loan_accounts(state.loan), loan_id=loan_id,
               memo=memo)
    mark_settled(state.loan, state.rows, on)
    return wanted


def write_off(loan_id: int, on: date | None = None, memo: str | None = None) -> Decimal:
    """Take the loan's outstanding principal and receivables off the books; returns the total."""
    on = on or business_today()
    lock_ledger()
    state = load_state(loan_id, lock=True)
    loan = state.loan
    if loan.status != "active":
        raise Conflict(loan_is(loan.status))
    rows = list(state.rows.values())
    amounts = {
        "principal": sum((r.principal_due - r.principal_paid for r in rows), ZERO),
        "interest": sum((r.interest_billed - r.interest_paid - r.interest_waived for r in rows), ZERO),
        "penalties": sum((r.penalty_due - r.penalty_paid - r.penalty_waived for r in rows), ZERO),
        "fees": sum((r.fee_due - r.fee_paid - r.fee_waived for r in rows), ZERO),
    }
    total = sum(amounts.values(), ZERO)
    post_event("write_off", on, amounts, loan_accounts(loan), loan_id=loan_id, memo=memo)
    for r in rows:
        if r.status in ("pending", "overdue"):
            r.status = "written_off"
    loan.status, loan.closed_on = "written_off", on
    ended(loan, "loan_written_off", on)
    return total


def _amount(value: Decimal | str) -> Decimal:
    try:
        amount = parse_money(value, "amount")
    except LendingError as exc:
        raise Invalid(readable(exc), {"amount": [readable(exc)]}) from None
    if amount <= 0:
        raise Invalid(_l("the amount must be positive"), {"amount": [_l("must be positive")]})
    return amount
