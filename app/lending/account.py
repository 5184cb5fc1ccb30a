"""A loan's position: its schedule versions, what was paid, and applying payments and pay-off quotes."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from app.lending.allocation import Allocation, AllocationLine, Due, allocate_payment
from app.lending.billing import current_bill_index, prepayment_date
from app.lending.errors import LoanStateError
from app.lending.money import ZERO, split_with_fee
from app.lending.prepayment import current_index, prepay, principal_not_yet_due
from app.lending.schedule import Instalment, Schedule
from app.lending.settlement import Settlement, plan_settlement
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

    def owed_on(self, row: Instalment) -> Due:
        """What is still owed of one instalment, part by part."""
        p = self.paid_on(row.number)
        return Due(row.number, row.due_date, penalties=self.penalties.get(row.number, ZERO) - p.penalties,
                   fees=row.fees - p.fees, interest=row.interest - p.interest, principal=row.principal - p.principal)

    def dues(self, on: date) -> list[Due]:
        """What is owed on instalments due on or before `on`, oldest first."""
        result = []
        for row in self.schedule.instalments:
            if row.due_date > on:
                break
            due = self.owed_on(row)
            if due.total > 0:
                result.append(due)
        return result

    def bills(self, on: date) -> list[Due]:
        """What is owed on the current bill of `on` (see `app.lending.billing`): due next, paid as scheduled."""
        k = current_bill_index(self.schedule, on)
        if k is None:
            return []
        due_date = self.schedule.instalments[k].due_date
        owed = (self.owed_on(r) for r in self.schedule.instalments[k:] if r.due_date == due_date)
        return [due for due in owed if due.total > 0]

    @property
    def outstanding(self) -> Decimal:
        """Everything scheduled or charged and not yet paid, due or not."""
        owed = self.schedule.total_repayment + sum(self.penalties.values(), ZERO)
        return owed - sum((p.total for p in self.paid.values()), ZERO)


@dataclass(frozen=True)
class PayoffQuote:
    """What settles the loan on `on`: dues + principal not yet due + interest accrued to `on` + fee.

    `fee` is the early-repayment fee on the principal beyond the current bill (all of it when no
    bill is current); `interest` is net of interest already paid in advance, never below zero.
    """

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
    settled: bool = False  # the payment covered the pay-off quote: the loan closed on its date


def open_account(schedule: Schedule) -> LoanAccount:
    return LoanAccount(schedule=schedule)


def payoff_quote(account: LoanAccount, on: date) -> PayoffQuote:
    """Overdue and due dues, plus what settles every instalment not yet due on `on` (`plan_settlement`)."""
    if on < account.schedule.terms.disbursed_on:
        raise LoanStateError("a pay-off quote cannot precede the disbursement")
    dues = sum((d.total for d in account.dues(on)), ZERO)
    plan = plan_settlement(account.schedule, account.paid, on)
    if plan is None:
        return PayoffQuote(on=on, dues=dues, principal=ZERO, interest=ZERO, fee=ZERO)
    return PayoffQuote(on=on, dues=dues, principal=plan.principal, interest=plan.interest, fee=plan.fee)


def apply_payment(account: LoanAccount, on: date, amount: Decimal,
                  mode: Prepayment = Prepayment.SHORTEN_TERM) -> PaymentResult:
    """Book a payment received on `on`.

    A payment that covers the pay-off quote settles the loan on `on` (interest to that date, the
    fee on the principal beyond the current bill); the rest is the borrower's credit. Otherwise it
    settles what is due, then the current bill as scheduled (oldest instalment first; penalties →
    fees → interest → principal), and anything above prepays principal (less the early-repayment
    fee) from the current bill's due date — or from `on` when no bill is current — giving a new
    schedule version. Once all principal is prepaid it pays the interest left on the closing
    instalment; what is left after that is kept as the borrower's credit.
    """
    terms = account.schedule.terms
    if amount <= 0:
        raise LoanStateError("a payment must be positive")
    if on < terms.disbursed_on:
        raise LoanStateError("a payment cannot precede the disbursement")
    if account.last_payment_on is not None and on < account.last_payment_on:
        raise LoanStateError("payments must be booked in date order")
    dues = account.dues(on)
    plan = plan_settlement(account.schedule, account.paid, on, mode)
    if plan is not None and amount >= sum((d.total for d in dues), ZERO) + plan.total:
        return _settle(account, on, amount, dues, plan)
    allocation = allocate_payment(amount, [*dues, *account.bills(on)])
    paid = dict(account.paid)
    for line in allocation.lines:
        paid[line.number] = paid.get(line.number, AllocationLine(line.number)).plus(line)
    schedule, history, left = account.schedule, account.history, allocation.remainder
    prepaid = fee = closing = ZERO
    effective = prepayment_date(schedule, on)
    k = current_index(schedule, effective)
    if left > 0 and k is not None:
        room = principal_not_yet_due(schedule, effective)
        prepaid, fee = split_with_fee(left, room, terms.early_repayment_fee_percent, terms.rounding)
        if prepaid > 0:
            history = (*history, schedule)
            schedule = prepay(schedule, effective, prepaid, mode, fee)
            number = schedule.instalments[k].number
            prepaid_line = AllocationLine(number, fees=fee, principal=prepaid)
            paid[number] = paid.get(number, AllocationLine(number)).plus(prepaid_line)
            left -= prepaid + fee
            if prepaid == room:  # closed: the interest left on the closing instalment is due with it
                row = schedule.instalments[k]
                closing = min(left, row.interest - paid[number].interest)
                paid[number] = paid[number].plus(AllocationLine(number, interest=closing))
                left -= closing
    new = replace(account, schedule=schedule, history=history, paid=_frozen(paid),
                  credit=account.credit + left, last_payment_on=on)
    return PaymentResult(new, allocation, prepaid, fee, closing, left)


def _settle(account: LoanAccount, on: date, amount: Decimal, dues: list[Due], plan: Settlement) -> PaymentResult:
    """Pay every due instalment, then close the rest by the settlement plan; the remainder is credit."""
    allocation = allocate_payment(amount, dues)
    paid = dict(account.paid)
    for line in allocation.lines:
        paid[line.number] = paid.get(line.number, AllocationLine(line.number)).plus(line)
    for number in plan.dropped:
        paid.pop(number, None)
    paid.update(plan.paid)
    history = account.history if plan.schedule is account.schedule else (*account.history, account.schedule)
    left = allocation.remainder - plan.total
    new = replace(account, schedule=plan.schedule, history=history, paid=_frozen(paid),
                  credit=account.credit + left, last_payment_on=on)
    return PaymentResult(new, allocation, plan.principal, plan.fee, plan.interest, left, settled=True)

