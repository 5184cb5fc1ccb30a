"""The current bill: which instalment a payment settles before anything is prepaid, and from when a prepayment counts.

An instalment's bill is issued `BILL_ISSUE_DAYS` days before its due date (the end-of-day batch
sends `bill_due_soon` that day). From then on the bill counts as due: a payment pays it as
scheduled (its full interest, no rebate) before any money prepays principal, and that
prepayment counts from the bill's due date, since the bill already carries the period's
interest. Before the bill is issued, a payment above what is due prepays principal on its own
date. A payment on the period's start date is a payment on the previous due date.
"""
from __future__ import annotations

from datetime import date, timedelta

from app.lending.prepayment import current_index
from app.lending.schedule import Instalment, Schedule

BILL_ISSUE_DAYS = 3


def bill_issued_on(row: Instalment) -> date:
    """The day this instalment's bill is issued: from then on a payment counts towards it."""
    return row.due_date - timedelta(days=BILL_ISSUE_DAYS)


def current_bill_index(schedule: Schedule, on: date) -> int | None:
    """Index of the instalment whose bill a payment on `on` pays before prepaying, or None.

    It is the first instalment not yet due (due date after `on`) once its bill is issued. Another
    row due on the same date (the closing row a prepayment produced) shares it.
    """
    k = current_index(schedule, on)
    if k is None:
        return None
    row = schedule.instalments[k]
    return k if on >= bill_issued_on(row) and on > row.start_date else None


def prepayment_date(schedule: Schedule, on: date) -> date:
    """From when money above the bills prepays principal: the current bill's due date, or `on` itself."""
    k = current_bill_index(schedule, on)
    return on if k is None else schedule.instalments[k].due_date
