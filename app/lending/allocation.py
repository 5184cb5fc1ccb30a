"""Allocating a payment to what is due: oldest instalment first, penalties → fees → interest → principal."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.lending.errors import LoanStateError
from app.lending.money import ZERO

PARTS = ("penalties", "fees", "interest", "principal")


class _Parts:
    """The four money parts an instalment is owed and paid in (PARTS), and their total."""

    penalties: Decimal
    fees: Decimal
    interest: Decimal
    principal: Decimal

    @property
    def total(self) -> Decimal:
        return self.penalties + self.fees + self.interest + self.principal


@dataclass(frozen=True)
class Due(_Parts):
    """What is still owed on one instalment that has fallen due."""

    number: int
    due_date: date
    penalties: Decimal = ZERO
    fees: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO


@dataclass(frozen=True)
class AllocationLine(_Parts):
    """The part of a payment applied to one instalment."""

    number: int
    penalties: Decimal = ZERO
    fees: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO

    def plus(self, other: _Parts) -> AllocationLine:
        """This line with another's parts added (the number stays this line's)."""
        return AllocationLine(self.number, *(getattr(self, part) + getattr(other, part) for part in PARTS))


@dataclass(frozen=True)
class Allocation:
    """A payment split over instalments; `remainder` is what was left once everything due was paid."""

    amount: Decimal
    lines: tuple[AllocationLine, ...]
    remainder: Decimal

    @property
    def applied(self) -> Decimal:
        return sum((line.total for line in self.lines), ZERO)


def allocate_payment(amount: Decimal, dues: Iterable[Due]) -> Allocation:
    """Settle dues oldest first (by due date, then number), each penalties → fees → interest → principal.

    Money is conserved: the lines plus the remainder add up to `amount`, and no line exceeds its due.
    """
    if amount < 0:
        raise LoanStateError("a payment cannot be negative")
    left = amount
    lines: list[AllocationLine] = []
    for due in sorted(dues, key=lambda d: (d.due_date, d.number)):
        if left <= 0:
            break
        parts: dict[str, Decimal] = {}
        for part in PARTS:
            owed = getattr(due, part)
            if owed < 0:
                raise LoanStateError("instalment %(number)s owes a negative %(part)s", number=due.number, part=part)
            take = min(owed, left)
            parts[part] = take
            left -= take
        line = AllocationLine(number=due.number, **parts)
        if line.total > 0:
            lines.append(line)
    return Allocation(amount=amount, lines=tuple(lines), remainder=left)
