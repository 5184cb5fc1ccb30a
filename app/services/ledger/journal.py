"""The double-entry journal: posting balanced entries, the trial balance, and a loan's balances from its lines.

Amounts are signed — debits positive, credits negative — so an entry is balanced when its lines
sum to zero, and the whole ledger always sums to zero.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, ColumnElement, cast, func, insert, select, text
from sqlalchemy.orm import InstrumentedAttribute

from app.extensions import db
from app.lending.money import CENT
from app.models import GlAccount, JournalEntry, JournalLine, Loan
from app.models.loan import ZERO
from app.services.identity import policy
from app.services.identity.directory import Principal

# PostgreSQL advisory lock that orders payments (shared) against the end-of-day batch (exclusive).
LEDGER_LOCK = 0x4C4F414E  # "LOAN"


class UnbalancedEntry(AssertionError):
    """A programming error: an entry whose lines do not sum to zero, or an amount in fractions of a cent."""


@dataclass(frozen=True)
class Line:
    account: str
    amount: Decimal  # debit > 0, credit < 0


def debit(account: str, amount: Decimal) -> Line:
    return Line(account, amount)


def credit(account: str, amount: Decimal) -> Line:
    return Line(account, -amount)


def post_entry(kind: str, business_date: date, lines: Iterable[Line], loan_id: int | None = None,
               payment_id: int | None = None, memo: str | None = None) -> int | None:
    """Write one balanced entry (`entry_lines`); None when no line is left."""
    kept = entry_lines(kind, lines)
    if not kept:
        return None
    entry_id = db.session.execute(insert(JournalEntry).returning(JournalEntry.id).values(
        kind=kind, business_date=business_date, loan_id=loan_id, payment_id=payment_id, memo=memo)).scalar_one()
    db.session.execute(insert(JournalLine), [
        {"entry_id": entry_id, "account": account, "loan_id": loan_id, "amount": amount}
        for account, amount in kept.items()])
    return int(entry_id)


def entry_lines(kind: str, lines: Iterable[Line]) -> dict[str, Decimal]:
    """The lines an entry is written with: one per account (merged), none of zero, by account; an
    entry that does not sum to zero, or an amount in fractions of a cent, is refused."""
    merged: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        if line.amount != line.amount.quantize(CENT):
            raise UnbalancedEntry(f"{line.account}: {line.amount} is not a whole number of cents")
        merged[line.account] += line.amount
    if sum(merged.values(), ZERO) != 0:
        raise UnbalancedEntry(f"{kind} entry does not balance: {dict(merged)}")
    return {account: amount for account, amount in sorted(merged.items()) if amount != 0}


def cents_sum(amount: InstrumentedAttribute[Decimal]) -> ColumnElement[int]:
    """SUM of a money column in whole cents: exact on both databases.

    SQLite keeps amounts as doubles (exact each, see `app.lending.money.MAX_AMOUNT`), but a SUM
    of doubles rounds at every step; a sum of integers does not.
    """
    return func.sum(cast(func.round(amount * 100), BigInteger))


CENTS_SUM_SQL = "SUM(CAST(ROUND({amount} * 100) AS BIGINT))"  # `cents_sum` in hand-written SQL


def from_cents(cents: int | Decimal | None) -> Decimal:
    """A `cents_sum` (an int, a Decimal, or None for no rows) as an amount."""
    return Decimal(int(cents or 0)).scaleb(-2).quantize(CENT)


@dataclass(frozen=True)
class TrialBalance:
    """Per-account balances (debit positive); `total` is zero in a ledger that never lost money."""

    balances: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.balances.values(), ZERO)


def trial_balance(loan_id: int | None = None, funder_org_id: int | None = None) -> TrialBalance:
    """Balances of every account of the chart over all entries (or over one loan's lines, or one
    funder's loans'), in the chart's order (then any account posted to that is not in it)."""
    query = select(JournalLine.account, cents_sum(JournalLine.amount)).group_by(JournalLine.account)
    if loan_id is not None:
        query = query.where(JournalLine.loan_id == loan_id)
    if funder_org_id is not None:
        query = query.where(JournalLine.loan_id.in_(select(Loan.id).where(Loan.funder_org_id == funder_org_id)))
    balances = {account: from_cents(cents) for account, cents in db.session.execute(query)}
    chart = db.session.scalars(select(GlAccount.code).order_by(GlAccount.id))
    return TrialBalance({**{account: ZERO for account in chart}, **balances})


def trial_balance_for(principal: Principal) -> tuple[str, TrialBalance]:
    """The trial balance a user may read: the whole ledger for platform staff, their funder's loans
    for a funder's finance (`ledger.trial_balance`); 403 for everyone else. Returns the scope ('all'
    or 'funder') with it."""
    # a party's grant reads the loans the caller's own organisation is that party to
    grant = policy.require(principal, "ledger.trial_balance", parties={"funder": principal.org_id},
                           message="the trial balance is for platform staff and a funder's finance")
    if grant.side is policy.Side.PLATFORM:
        return "all", trial_balance()
    return "funder", trial_balance(funder_org_id=principal.org_id)


def loan_balances(loan_id: int) -> dict[str, Decimal]:
    """One loan's balance in each account, derived from its journal lines alone."""
    return trial_balance(loan_id).balances


def unbalanced_entries() -> list[int]:
    """Ids of entries whose lines do not sum to zero (always empty; a check for tests and audits)."""
    rows = db.session.execute(select(JournalLine.entry_id).group_by(JournalLine.entry_id)
                              .having(cents_sum(JournalLine.amount) != 0))
    return [int(r) for r in rows.scalars()]


def lock_ledger(exclusive: bool = False) -> None:
    """Order a money decision against the others and the end-of-day batch, before it reads anything.

    PostgreSQL: an advisory lock — payments take it shared, so they never wait for each other (the
    loan's row lock orders those of one loan); the batch takes it exclusively for each business
    date, so a payment waits for (or is waited for by) a whole date. SQLite: the database's write
    lock, held to the end of the transaction (`hold_sqlite_write_lock`).
    """
    if db.session.get_bind().dialect.name != "postgresql":
        hold_sqlite_write_lock()
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    db.session.execute(text(f"SELECT {function}(:key)"), {"key": LEDGER_LOCK})


def hold_sqlite_write_lock() -> None:
    """On SQLite, take the database's write lock now and keep it until the transaction ends.

    Python 3.11's sqlite3 driver opens a transaction only before the first INSERT, UPDATE or
    DELETE, so the SELECTs before it each see whatever is committed at that moment: two requests
    could both read a payment as pending and both book it. A first write (one that changes no
    row) opens the transaction holding the write lock, waiting for it under the busy timeout, so
    every read after it sees the latest state and no other writer commits until this one ends.
    Nothing on PostgreSQL, whose row locks do this (`load_loan(lock=True)`).
    """
    if db.session.get_bind().dialect.name != "sqlite":
        return
    db.session.execute(text("UPDATE loans SET id = id WHERE 1 = 0"))
    driver = db.session.connection().connection.dbapi_connection
    if driver is None or not driver.in_transaction:
        raise RuntimeError("SQLite runs in autocommit mode: a money decision cannot hold the write lock")
