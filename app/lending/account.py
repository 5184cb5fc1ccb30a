"""A loan's position: its schedule versions, what was paid, and applying payments and pay-off quotes."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from app.lending.allocation import Allocation, AllocationLine, Due, allocate_payment
from app.lending.errors import LoanStateError
from app.lending.money import ZERO, percent_of, split_with_fee
from app.lending.prepayment import current_index, interest_accrued_to, prepay, principal_not_yet_due
from app.lending.schedule import Schedule
from app.lending.terms import Prepayment


def _frozen(d: dict[int, AllocationLine]) -> MappingProxyType[int, AllocationLine]:
    return MappingProxyType(d)


@dataclass(frozen=True)
class LoanAccount:
    """The current schedule, the earlier versions it replaced, payments per instalment and any credit.

    `penalties` holds penalty charges and penalty interest booked per instalment (by the overdue
    rules); `paid` what has been paid of each instalment's parts.
    """

    schedule: Schedule
    paid: MappingProxyType[int, AllocationLine] = field(default_factory=lambda: _frozen({}))
    penalties: MappingProxyType[int, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    credit: Decimal = ZERO
    history: tuple[Schedule, ...] = ()
    last_payment_on: date | None = None

    def paid_on(self, number: int) -> AllocationLine:
        return self.paid.get(number, AllocationLine(number))

    def dues(self, on: date) -> list[Due]:
        """What is owed on instalments due on or before `on`, oldest first."""
        result = []
        for row in self.schedule.installments:
            if row.due_date > on:
                break
            p = self.paid_on(row.number)
            due = Due(row.number, row.due_date, penalties=self.penalties.get(row.number, ZERO) - p.penalties,
                      fees=row.fees - p.fees, interest=row.interest - p.interest,
                      principal=row.principal - p.principal)
            if due.total > 0:
                result.append(due)
        return result

    @property
    def outstanding(self) -> Decimal:
        """Everything scheduled or charged and not yet paid, due or not."""
        owed = self.schedule.total_repayment + sum(self.penalties.values(), ZERO)
        return owed - sum((p.total for p in self.paid.values()), ZERO)


@dataclass(frozen=True)
class PayoffQuote:
    """What settles the loan on `on`: overdue dues + principal not yet due + interest to date + fee."""

    on: date
    dues: Decimal
    principal: Decimal
    interest: Decimal
    fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.dues + self.principal + self.interest + self.fee


@dataclass(frozen=True)
class PaymentResult:
    account: LoanAccount
    allocation: Allocation
    prepaid_principal: Decimal = ZERO
    fee: Decimal = ZERO
    closing_interest: Decimal = ZERO
    credit_added: Decimal = ZERO


def open_account(schedule: Schedule) -> LoanAccount:
    return LoanAccount(schedule=schedule)


def payoff_quote(account: LoanAccount, on: date) -> PayoffQuote:
    schedule = account.schedule
    if on < schedule.terms.disbursed_on:
        raise LoanStateError("a pay-off quote cannot precede the disbursement")
    principal = principal_not_yet_due(schedule, on)
    fee = percent_of(principal, schedule.terms.early_repayment_fee_percent, schedule.terms.rounding)
    return PayoffQuote(on=on, dues=sum((d.total for d in account.dues(on)), ZERO), principal=principal,
                       interest=interest_accrued_to(schedule, on) if principal > 0 else ZERO, fee=fee)


def apply_payment(account: LoanAccount, on: date, amount: Decimal,
                  mode: Prepayment = Prepayment.SHORTEN_TERM) -> PaymentResult:
    """Book a payment received on `on`.

    It first settles what is due (oldest instalment first; penalties → fees → interest →
    principal). Anything above prepays principal on that date (less the early-repayment fee), giving
    a new schedule version; once all principal is prepaid it pays the interest accrued to `on`; what
    is left after that is kept as the borrower's credit.
    """
    terms = account.schedule.terms
    if amount <= 0:
        raise LoanStateError("a payment must be positive")
    if on < terms.disbursed_on:
        raise LoanStateError("a payment cannot precede the disbursement")
    if account.last_payment_on is not None and on < account.last_payment_on:
        raise LoanStateError("payments must be booked in date order")
    allocation = allocate_payment(amount, account.dues(on))
    paid = dict(account.paid)
    for line in allocation.lines:
        paid[line.number] = _add(paid.get(line.number, AllocationLine(line.number)), line)
    schedule, history, left = account.schedule, account.history, allocation.remainder
    prepaid = fee = closing = ZERO
    k = current_index(schedule, on)
    if left > 0 and k is not None:
        room = principal_not_yet_due(schedule, on)
        prepaid, fee = split_with_fee(left, room, terms.early_repayment_fee_percent, terms.rounding)
        if prepaid > 0:
            history = (*history, schedule)
            schedule = prepay(schedule, on, prepaid, mode, fee)
            number = schedule.installments[k].number
            paid[number] = _add(paid.get(number, AllocationLine(number)),
                                AllocationLine(number, fees=fee, principal=prepaid))
            left -= prepaid + fee
            if prepaid == room:  # closed: the interest accrued to today is due now
                row = schedule.installments[k]
                closing = min(left, row.interest - paid[number].interest)
                paid[number] = _add(paid[number], AllocationLine(number, interest=closing))
                left -= closing
    new = replace(account, schedule=schedule, history=history, paid=_frozen(paid),
                  credit=account.credit + left, last_payment_on=on)
    return PaymentResult(new, allocation, prepaid, fee, closing, left)


def _add(a: AllocationLine, b: AllocationLine) -> AllocationLine:
    return AllocationLine(a.number, a.penalties + b.penalties, a.fees + b.fees,
                          a.interest + b.interest, a.principal + b.principal)
