"""The current bill: which instalment a payment settles before anything is prepaid, and from when a prepayment counts.

A payment made inside an instalment's billing period pays that bill as scheduled (its full
interest, no rebate) before any money prepays principal; the prepayment then counts from the
bill's due date. The billing period is the instalment's period (start, due date] — a payment on
the start date is a payment on the previous due date — except that a period longer than a
month (bullet and whole-term loans, two-monthly or quarterly periods) is billed only in its last
month: paying months before maturity is a prepayment, not the bill.
"""
from __future__ import annotations

from datetime import date

from app.lending.daycount import Frequency, add_months, nominal_period_days
from app.lending.prepayment import current_index
from app.lending.schedule import Installment, Schedule
from app.lending.terms import Amortization, LoanTerms

LONGEST_BILLING_DAYS = 31


def billed_over_whole_period(terms: LoanTerms) -> bool:
    """Whether each period is one billing cycle (monthly or shorter regular periods)."""
    if terms.frequency is Frequency.WHOLE_TERM or (terms.amortization is Amortization.BULLET and terms.repayments > 1):
        return False
    return nominal_period_days(terms.frequency, terms.every) <= LONGEST_BILLING_DAYS


def bill_opens(terms: LoanTerms, row: Installment) -> date:
    """The day after which a payment counts towards this instalment's bill."""
    if billed_over_whole_period(terms):
        return row.start_date
    return max(row.start_date, add_months(row.due_date, -1))


def current_bill_index(schedule: Schedule, on: date) -> int | None:
    """Index of the instalment whose bill a payment on `on` pays before prepaying, or None.

    It is the first instalment not yet due (due date after `on`) when `on` lies in its billing
    period. Another row due on the same date (the closing row a prepayment produced) shares it.
    """
    k = current_index(schedule, on)
    if k is None:
        return None
    return k if on > bill_opens(schedule.terms, schedule.installments[k]) else None


def prepayment_date(schedule: Schedule, on: date) -> date:
    """From when money above the bills prepays principal: the current bill's due date, or `on` itself."""
    k = current_bill_index(schedule, on)
    return on if k is None else schedule.installments[k].due_date
