"""The end-of-day batch: bills, overdue instalments, penalty interest, days past due and buckets, as set-based SQL.

`run_eod(until)` processes every business date after the last completed run up to `until`, each
date in one transaction: a crash leaves nothing of that date, and the next run redoes it. Every
step also only touches what it has not done yet (interest not yet billed, penalty not accrued to
the date, messages whose dedup key is new), so repeating a date changes nothing.

The statements are the same on PostgreSQL and SQLite (3.33+ for UPDATE … FROM) except for a few
spellings in `SqlDialect`; amounts are rounded to cents in SQL with ROUND (half away from zero).
The journal lines go to each loan's product's accounts: the roles are `posting.RULES`' for the
entry's kind, the accounts the `product_accounts` rows the statement joins.
"""
from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Date, bindparam, delete, insert, select, text, update

from app.extensions import db
from app.lending.billing import BILL_ISSUE_DAYS
from app.models import EodRun, JournalEntry
from app.models.types import UTCDateTime
from app.services import clock
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict
from app.services.ledger.journal import CENTS_SUM_SQL, from_cents, hold_sqlite_write_lock, lock_ledger
from app.services.ledger.posting import IncompleteMapping, Role, batch_movement

EOD_LOCK = 0x454F4400  # "EOD": one batch at a time on PostgreSQL
BILL_NOTICE_DAYS = BILL_ISSUE_DAYS  # bill_due_soon goes out the day the bill is issued: it counts as due from then
Progress = Callable[[date, str], None]

OWED_PI = ("(i.principal_due - i.principal_paid + i.interest_due - i.interest_paid - i.interest_waived)")
OWED = ("(i.principal_due - i.principal_paid + i.interest_due - i.interest_paid - i.interest_waived"
        " + i.fee_due - i.fee_paid - i.fee_waived + i.penalty_due - i.penalty_paid - i.penalty_waived)")
# The product's account of each side of a movement, with the side's sign (debit +, credit -).
SIDES = ("(SELECT product_id, account, 1 AS sign FROM product_accounts WHERE role = :debit_role"
         " UNION ALL SELECT product_id, account, -1 FROM product_accounts WHERE role = :credit_role)")


@dataclass(frozen=True)
class SqlDialect:
    """The few spellings that differ between PostgreSQL and SQLite."""

    name: str

    def days(self, later: str, earlier: str) -> str:
        if self.name == "postgresql":
            return f"({later} - {earlier})"
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def json(self, **pairs: str) -> str:
        items = ", ".join(f"'{k}', {v}" for k, v in pairs.items())
        return f"jsonb_build_object({items})" if self.name == "postgresql" else f"json_object({items})"

    def money_text(self, expr: str) -> str:
        return f"CAST({expr} AS TEXT)" if self.name == "postgresql" else f"printf('%.2f', {expr})"

    def date_text(self, expr: str) -> str:
        return f"to_char({expr}, 'YYYY-MM-DD')" if self.name == "postgresql" else expr

    @property
    def day(self) -> str:
        return "CAST(:d AS DATE)" if self.name == "postgresql" else ":d"


@dataclass
class DateSummary:
    business_date: date
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)


STEPS = ("settle empty bills", "bill interest", "mark overdue", "penalty charges", "penalty interest",
         "days past due", "bill notices", "bills due")


def run_eod(until: date, progress: Progress | None = None, notice_days: int = BILL_NOTICE_DAYS) -> list[DateSummary]:
    """Process every date after the last completed run up to `until` (just `until` on a first run)."""
    with _batch_lock():
        last = db.session.scalar(select(EodRun.business_date).where(EodRun.status == "completed")
                                 .order_by(EodRun.business_date.desc()).limit(1))
        db.session.commit()
        day = until if last is None else last + timedelta(days=1)
        done = []
        while day <= until:
            done.append(run_date(day, progress, notice_days))
            day += timedelta(days=1)
        return done


def pending_dates(until: date) -> list[date]:
    last = db.session.scalar(select(EodRun.business_date).where(EodRun.status == "completed")
                             .order_by(EodRun.business_date.desc()).limit(1))
    start = until if last is None else last + timedelta(days=1)
    return [start + timedelta(days=n) for n in range((until - start).days + 1)]


def recent_runs(last: int) -> list[EodRun]:
    """The `last` most recent end-of-day runs, the latest business date first."""
    return list(db.session.scalars(select(EodRun).order_by(EodRun.business_date.desc()).limit(last)))


def run_date(day: date, progress: Progress | None = None, notice_days: int = BILL_NOTICE_DAYS) -> DateSummary:
    """One business date in one transaction; its run row says `running` until it commits.

    A batch that waited for the date's lock while another completed it stops there (a conflict):
    a date is posted once.
    """
    run_id = _start_run(day)
    started = time.perf_counter()
    summary = DateSummary(day)
    try:
        lock_ledger(exclusive=True)
        if db.session.scalar(select(EodRun.status).where(EodRun.id == run_id)) == "completed":
            raise _CompletedMeanwhile(_l("the end-of-day run of %(day)s is completed already", day=str(day)))
        _check_product_accounts()
        batch = _Batch(SqlDialect(db.session.get_bind().dialect.name), day, run_id, summary.counts)
        for step, name in zip(batch.steps(notice_days), STEPS, strict=True):
            step_started = time.perf_counter()
            step()
            summary.step_seconds[name] = round(time.perf_counter() - step_started, 3)
            if progress is not None:
                progress(day, name)
        summary.seconds = round(time.perf_counter() - started, 3)
        db.session.execute(update(EodRun).where(EodRun.id == run_id).values(
            status="completed", counts=summary.counts, finished_at=clock.now(), error=None))
        db.session.commit()
    except _CompletedMeanwhile:
        db.session.rollback()
        raise
    except Exception as exc:
        db.session.rollback()
        db.session.execute(update(EodRun).where(EodRun.id == run_id).values(
            status="failed", error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=clock.now()))
        db.session.commit()
        raise
    return summary


class _CompletedMeanwhile(Conflict):
    """Another batch completed the date while this one waited for it (SQLite, which has no batch lock)."""


def _start_run(day: date) -> int:
    """Mark the date's run `running` (a new row, or a crashed or failed one again) and commit.

    On SQLite the read and the write hold the write lock together, so two batches never both
    insert the date's row; the one that comes second redoes the date only if it is not completed.
    """
    hold_sqlite_write_lock()
    run = db.session.scalar(select(EodRun).where(EodRun.business_date == day)
                            .execution_options(populate_existing=True))
    if run is None:
        run = EodRun(business_date=day, status="running", attempts=1, counts={}, started_at=clock.now())
        db.session.add(run)
    elif run.status == "completed":
        db.session.rollback()
        raise Conflict(_l("the end-of-day run of %(day)s is completed already", day=str(day)))
    else:  # crashed or failed before: do it again
        run.status, run.attempts, run.started_at, run.finished_at = "running", run.attempts + 1, clock.now(), None
    db.session.commit()
    return run.id


def _check_product_accounts() -> None:
    """Every product maps every role (it is written so): a loan whose product did not would get no lines."""
    incomplete = db.session.execute(text(
        "SELECT p.code FROM loan_products p LEFT JOIN product_accounts m ON m.product_id = p.id"
        " GROUP BY p.id, p.code HAVING COUNT(m.role) <> :roles ORDER BY p.id"), {"roles": len(Role)}).scalars().all()
    if incomplete:
        raise IncompleteMapping(f"products without an account for every role: {', '.join(incomplete)}")


class _batch_lock:
    """One batch at a time on PostgreSQL: an advisory lock held by a connection of its own for the run.

    SQLite has no such lock across transactions: there each date takes the database's write lock
    (`lock_ledger`), and a batch that finds its date completed meanwhile stops (`run_date`).
    """

    def __init__(self) -> None:
        self._conn: Connection | None = None

    def __enter__(self) -> None:
        if db.engine.dialect.name != "postgresql":
            return
        self._conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if not self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": EOD_LOCK}).scalar():
            self._conn.close()
            self._conn = None
            raise Conflict(_l("another end-of-day run is in progress"))

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": EOD_LOCK})
            self._conn.close()


class _Batch:
    """The statements of one business date."""

    def __init__(self, sql: SqlDialect, day: date, run_id: int, counts: dict[str, Any]) -> None:
        self.sql, self.day, self.run_id, self.counts = sql, day, run_id, counts
        self.params = {"d": day, "dkey": day.isoformat(), "now": clock.now(), "run": run_id}

    def steps(self, notice_days: int) -> list[Callable[[], None]]:
        return [self.settle_empty, self.bill_interest, self.mark_overdue, self.charge_penalties,
                self.accrue_penalty_interest, self.days_past_due, lambda: self.bill_notices(notice_days),
                self.bills_due]

    def execute(self, statement: str, **extra: Any) -> int:
        params = {k: v for k, v in {**self.params, **extra}.items() if re.search(f":{k}\\b", statement)}
        clause = text(statement).bindparams(*(
            bindparam(k, type_=UTCDateTime() if isinstance(v, datetime) else Date())
            for k, v in params.items() if isinstance(v, date)))
        return db.session.execute(clause, params).rowcount  # type: ignore[attr-defined]

    def settle_empty(self) -> None:
        """Instalments that fell due owing nothing (interest-grace periods) are settled."""
        self.counts["settled_empty"] = self.execute(f"""
            UPDATE instalments AS i SET status = 'paid', paid_on = :d
            WHERE i.is_current AND i.status = 'pending' AND i.due_date <= :d AND ROUND({OWED}, 2) = 0""")

    def bill_interest(self) -> None:
        """Interest that fell due becomes receivable (Dr interest_receivable, Cr interest_income)."""
        self.counts["interest_billed"], self.counts["instalments_billed"] = self.apply(
            "eod_interest_billed",
            "SELECT i.id, i.loan_id, NULL, i.interest_due - i.interest_billed FROM instalments i"
            " WHERE i.is_current AND i.status = 'pending' AND i.due_date <= :d AND i.interest_billed < i.interest_due",
            "interest_billed = i.interest_due")

    def mark_overdue(self) -> None:
        """Unpaid instalments past their due date and the product's grace days become overdue."""
        sql = self.sql
        self.counts["instalments_overdue"] = self.execute(f"""
            UPDATE instalments AS i SET status = 'overdue', overdue_on = :d, penalty_accrued_to = i.due_date
            FROM loans l
            WHERE l.id = i.loan_id AND i.is_current AND i.status = 'pending' AND i.due_date < :d
              AND {sql.days(sql.day, 'i.due_date')} > l.overdue_grace_days AND ROUND({OWED}, 2) > 0""")
        payload = sql.json(loan_id="l.id", business_date="CAST(:dkey AS TEXT)", instalments="o.n",
                           first_due_date=sql.date_text("o.first_due"), amount_overdue=sql.money_text("o.owed"))
        self.counts["overdue_messages"] = self.outbox("overdue", "'overdue:' || l.id || ':' || CAST(:dkey AS TEXT)", payload, f"""
            FROM loans l JOIN (SELECT i.loan_id, COUNT(*) AS n, MIN(i.due_date) AS first_due,
                                      ROUND(SUM({OWED}), 2) AS owed
                               FROM instalments i WHERE i.is_current AND i.status = 'overdue' AND i.overdue_on = :d
                               GROUP BY i.loan_id) o ON o.loan_id = l.id""")

    def charge_penalties(self) -> None:
        """The product's penalty charge (a % of each newly overdue instalment), once per instalment."""
        base = ("(i.principal_due - i.principal_paid + CASE WHEN l.penalty_charge_on_interest"
                " THEN i.interest_due - i.interest_paid - i.interest_waived ELSE 0 END)")
        self.counts["penalty_charged"], _ = self.apply(
            "eod_penalty_charged",
            f"SELECT i.id, i.loan_id, l.product_id, ROUND({base} * l.penalty_charge_percent / 100, 2)"
            " FROM instalments i JOIN loans l ON l.id = i.loan_id"
            " WHERE i.is_current AND i.status = 'overdue' AND i.overdue_on = :d"
            " AND i.penalty_accrued_to = i.due_date AND l.penalty_charge_percent > 0",
            "penalty_due = ROUND(i.penalty_due + a.amount, 2)")

    def accrue_penalty_interest(self) -> None:
        """Penalty interest (罚息) on overdue principal (and interest when the product says so), per day.

        From the date accrued to (the due date, on the first overdue day) up to this date, at
        contract rate × multiplier over the product's day basis (the actual year: this date's).
        """
        sql = self.sql
        base = ("(i.principal_due - i.principal_paid + CASE WHEN l.penalty_on_interest"
                " THEN i.interest_due - i.interest_paid - i.interest_waived ELSE 0 END)")
        basis = "(CASE WHEN l.penalty_basis = 0 THEN :year_length ELSE l.penalty_basis END)"
        accrual = (f"ROUND({base} * l.penalty_annual_rate * {sql.days(sql.day, 'i.penalty_accrued_to')}"
                   f" / (100 * {basis}), 2)")
        self.counts["penalty_interest"], self.counts["instalments_accrued"] = self.apply(
            "eod_penalty_interest",
            f"SELECT i.id, i.loan_id, l.product_id, {accrual} FROM instalments i JOIN loans l ON l.id = i.loan_id"
            " WHERE i.is_current AND i.status = 'overdue' AND i.penalty_accrued_to < :d",
            "penalty_due = ROUND(i.penalty_due + a.amount, 2), penalty_accrued_to = :d",
            year_length=366 if calendar.isleap(self.day.year) else 365)

    def days_past_due(self) -> None:
        """Days past due of each loan (its oldest overdue instalment still owing principal or interest).

        Only loans that are overdue now or were at the last run are looked at, in one pass into a
        temporary table; a changed bucket is a `bucket_changed` message.
        """
        sql = self.sql
        dpd = f"COALESCE({sql.days(sql.day, 'c.first_due')}, 0)"
        bucket = (f"CASE WHEN {dpd} = 0 THEN 'current' WHEN {dpd} <= 30 THEN '1-30' WHEN {dpd} <= 60 THEN '31-60'"
                  f" WHEN {dpd} <= 90 THEN '61-90' ELSE '91+' END")
        self.execute("DROP TABLE IF EXISTS eod_past_due")
        self.execute("CREATE TEMPORARY TABLE eod_past_due (id BIGINT PRIMARY KEY, dpd INTEGER, bucket VARCHAR(8))")
        self.execute(f"""
            INSERT INTO eod_past_due (id, dpd, bucket)
            SELECT c.loan_id, {dpd}, {bucket}
            FROM (SELECT u.loan_id, MIN(u.first_due) AS first_due
                  FROM (SELECT i.loan_id, i.due_date AS first_due FROM instalments i
                        WHERE i.is_current AND i.status = 'overdue' AND ROUND({OWED_PI}, 2) > 0
                        UNION ALL SELECT id, NULL FROM loans WHERE dpd > 0) u
                  GROUP BY u.loan_id) c
            JOIN loans l ON l.id = c.loan_id
            WHERE l.status <> 'written_off'""")
        payload = sql.json(loan_id="l.id", business_date="CAST(:dkey AS TEXT)", **{"from": "l.bucket"},
                           to="n.bucket", dpd="n.dpd")
        self.counts["bucket_changes"] = self.outbox(
            "bucket_changed", "'bucket_changed:' || l.id || ':' || CAST(:dkey AS TEXT)", payload,
            "FROM loans l JOIN eod_past_due n ON n.id = l.id", where="n.bucket <> l.bucket")
        self.counts["loans_past_due"] = db.session.execute(
            text("SELECT COUNT(*) FROM eod_past_due WHERE dpd > 0")).scalar_one()
        self.counts["loans_dpd_updated"] = self.execute(
            "UPDATE loans AS l SET dpd = n.dpd, bucket = n.bucket FROM eod_past_due n"
            " WHERE n.id = l.id AND (l.dpd <> n.dpd OR l.bucket <> n.bucket)")
        self.execute("DROP TABLE eod_past_due")

    def bill_notices(self, notice_days: int) -> None:
        """`bill_due_soon` for each open instalment falling due within the notice days (once each)."""
        sql = self.sql
        payload = sql.json(loan_id="l.id", number="i.number", due_date=sql.date_text("i.due_date"),
                           amount_due=sql.money_text(f"ROUND({OWED}, 2)"))
        key = f"'bill_due_soon:' || l.id || ':' || i.number || ':' || {sql.date_text('i.due_date')}"
        self.counts["bill_notices"] = self.outbox(
            "bill_due_soon", key, payload, "FROM instalments i JOIN loans l ON l.id = i.loan_id",
            where=("i.is_current AND i.status = 'pending' AND i.due_date > :d AND i.due_date <= :notice"
                   " AND l.status = 'active'"), notice=self.day + timedelta(days=notice_days))

    def bills_due(self) -> None:
        """`bill_due` for each instalment of an active loan falling due the next day and still owing (once
        each): the batch of a date runs after it ends, so the loan's `post_loan` tries the auto-debit the
        borrower authorised on the due date itself."""
        sql = self.sql
        payload = sql.json(loan_id="l.id", number="i.number", due_date=sql.date_text("i.due_date"),
                           business_date="CAST(:dkey AS TEXT)",
                           amount_due=sql.money_text(f"ROUND({OWED}, 2)"))
        key = f"'bill_due:' || l.id || ':' || i.number || ':' || {sql.date_text('i.due_date')}"
        self.counts["bills_due"] = self.outbox(
            "bill_due", key, payload, "FROM instalments i JOIN loans l ON l.id = i.loan_id",
            where=f"i.is_current AND i.status = 'pending' AND i.due_date = :next AND l.status = 'active'"
                  f" AND ROUND({OWED}, 2) > 0", next=self.day + timedelta(days=1))

    # -- writing ------------------------------------------------------------------------------

    def apply(self, kind: str, amounts: str, assignments: str, **extra: Any) -> tuple[str, int]:
        """Compute (instalment id, loan id, product id, amount) once into a temporary table, post it, update the rows.

        A query that does not join the loans leaves the product NULL: it is looked up afterwards,
        per instalment found (PostgreSQL would rather hash every loan, misjudging how few are due).

        Returns the total posted and the number of instalments updated. The lines (per loan) and
        the instalments are written from the same computed amounts.
        """
        self.execute("DROP TABLE IF EXISTS eod_amounts")
        self.execute("CREATE TEMPORARY TABLE eod_amounts"
                     " (id BIGINT PRIMARY KEY, loan_id BIGINT, product_id INTEGER, amount NUMERIC(18, 2))")
        self.execute(f"INSERT INTO eod_amounts (id, loan_id, product_id, amount) {amounts}", **extra)
        if self.sql.name == "postgresql":
            self.execute("ANALYZE eod_amounts")  # temporary tables get no statistics otherwise
        self.execute("UPDATE eod_amounts AS a SET product_id = l.product_id FROM loans l"
                     " WHERE l.id = a.loan_id AND a.product_id IS NULL")
        total = self.post(kind, f"SELECT loan_id, product_id, {CENTS_SUM_SQL.format(amount='amount')} / 100.0"
                                " AS amount FROM eod_amounts GROUP BY loan_id, product_id")
        rows = self.execute(f"UPDATE instalments AS i SET {assignments} FROM eod_amounts a WHERE a.id = i.id")
        self.execute("DROP TABLE eod_amounts")
        return total, rows

    def post(self, kind: str, amounts: str, **extra: Any) -> str:
        """One journal entry for the step, two lines per loan from `amounts` (loan_id, product_id,
        amount) in the product's accounts of the kind's movement (`posting.batch_movement`); the total."""
        movement = batch_movement(kind)
        entry_id = db.session.execute(insert(JournalEntry).returning(JournalEntry.id).values(
            kind=kind, business_date=self.day, eod_run_id=self.run_id, created_at=self.params["now"])).scalar_one()
        lines = self.execute(f"""
            INSERT INTO journal_lines (entry_id, account, loan_id, amount)
            SELECT :entry, s.account, a.loan_id, s.sign * a.amount
            FROM ({amounts}) a JOIN {SIDES} s ON s.product_id = a.product_id WHERE a.amount > 0""",
                             entry=entry_id, debit_role=movement.debit.value, credit_role=movement.credit.value,
                             **extra)
        if lines == 0:
            db.session.execute(delete(JournalEntry).where(JournalEntry.id == entry_id))
            return "0.00"
        cents = db.session.execute(text(f"SELECT {CENTS_SUM_SQL.format(amount='amount')} FROM journal_lines"
                                        " WHERE entry_id = :e AND amount > 0"), {"e": entry_id}).scalar_one()
        return f"{from_cents(cents):.2f}"

    def outbox(self, name: str, dedup: str, payload: str, source: str, where: str = "TRUE", **extra: Any) -> int:
        """Messages to the loans' instances (by business key), skipping any whose dedup key exists."""
        return self.execute(f"""
            INSERT INTO outbox (name, correlation_key, loan_id, payload, dedup_key, business_date, created_at)
            SELECT '{name}', l.business_key, l.id, {payload}, {dedup}, :d, :now
            {source} WHERE {where} AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.dedup_key = {dedup})""", **extra)
