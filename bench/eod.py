"""Time one end-of-day run over many active loans on PostgreSQL, and its peak memory.

    .venv/bin/python bench/eod.py                      # 1,000,000 loans on a throwaway cluster
    .venv/bin/python bench/eod.py --loans 100000
    .venv/bin/python bench/eod.py --database postgresql://user@host:port/scratch   # migrated, then loaded

Every loan has 12 monthly instalments and was disbursed 1–331 days before the business date, so
all are active with instalments paid, due and still to come. One loan in ten pays nothing: its
past instalments are overdue (penalty interest accrued to yesterday, days past due set), so the
run accrues penalties on them, moves their days past due and buckets, marks newly overdue
instalments, bills the interest falling due and writes the bill notices, the next day's `bill_due`
(auto-debit) and the overdue and bucket events for post-loan and collections to the outbox.
The data is generated inside PostgreSQL (generate_series), without Python per row.
Prints the load time, the run's time and counts, the process's peak RSS, and PASS/MISS for ≤ 60 s.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUSINESS_DATE = date(2026, 11, 28)
TARGET_SECONDS = 60.0

LOANS = """
INSERT INTO loans (id, business_key, product_id, borrower_org_id, principal, currency, annual_rate, terms, status,
                   disbursed_on, schedule_version, credit_balance, dpd, bucket, overdue_grace_days,
                   penalty_annual_rate, penalty_basis, penalty_on_interest, penalty_charge_percent,
                   penalty_charge_on_interest, created_at)
SELECT g, 'BENCH-' || g, :product, :org, 12000.00, 'CNY', 12, CAST(:terms AS JSONB), 'active',
       CAST(:d AS DATE) - 1 - (g % 331), 1, 0, 0, 'current', 3, 18, 360, false, 0, false, now()
FROM generate_series(1, :n) AS g
"""

INSTALMENTS = """
INSERT INTO instalments (loan_id, version, number, is_current, status, start_date, due_date, principal_due,
                         interest_due, fee_due, penalty_due, principal_paid, interest_paid, fee_paid, penalty_paid,
                         interest_waived, fee_waived, penalty_waived, interest_billed, balance, accrued_interest,
                         base_interest, prepayments, overdue_on, penalty_accrued_to, paid_on)
SELECT x.loan_id, 1, x.k, true, x.status, x.start_date, x.due_date, 1000.00, x.interest, 0,
       CASE WHEN x.status = 'overdue' THEN ROUND(1000.00 * 18 * (CAST(:d AS DATE) - 1 - x.due_date) / 36000, 2)
            ELSE 0 END,
       CASE WHEN x.status = 'paid' THEN 1000.00 ELSE 0 END, CASE WHEN x.status = 'paid' THEN x.interest ELSE 0 END,
       0, 0, 0, 0, 0,
       CASE WHEN x.due_date < CAST(:d AS DATE) THEN x.interest ELSE 0 END,
       12000.00 - 1000.00 * x.k, x.interest, CAST(x.interest AS TEXT), CAST('[]' AS JSONB),
       CASE WHEN x.status = 'overdue' THEN x.due_date + 4 END,
       CASE WHEN x.status = 'overdue' THEN CAST(:d AS DATE) - 1 END,
       CASE WHEN x.status = 'paid' THEN x.due_date END
FROM (
    SELECT l.id AS loan_id, k, d.due_date, d.start_date, CAST(130 - 10 * k AS NUMERIC(18, 2)) AS interest,
           CASE WHEN d.due_date >= CAST(:d AS DATE) THEN 'pending'
                WHEN l.id % 10 <> 0 THEN 'paid'
                WHEN d.due_date < CAST(:d AS DATE) - 4 THEN 'overdue'
                ELSE 'pending' END AS status
    FROM loans l CROSS JOIN generate_series(1, 12) AS k
    CROSS JOIN LATERAL (SELECT CAST(l.disbursed_on + make_interval(months => k) AS DATE) AS due_date,
                               CAST(l.disbursed_on + make_interval(months => k - 1) AS DATE) AS start_date) d
    WHERE l.id BETWEEN :lo AND :hi
) x
"""

PAST_DUE = """
UPDATE loans AS l SET dpd = o.dpd,
       bucket = CASE WHEN o.dpd <= 30 THEN '1-30' WHEN o.dpd <= 60 THEN '31-60' WHEN o.dpd <= 90 THEN '61-90'
                     ELSE '91+' END
FROM (SELECT loan_id, CAST(:d AS DATE) - 1 - MIN(due_date) AS dpd FROM instalments
      WHERE status = 'overdue' GROUP BY loan_id) o
WHERE o.loan_id = l.id
"""


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def start_cluster(folder: Path) -> str:
    out = subprocess.run([str(ROOT / ".ci" / "start-postgres"), str(folder)], check=True, capture_output=True,
                         text=True)
    return out.stdout.strip().splitlines()[-1]


def stop_cluster(folder: Path) -> None:
    subprocess.run([str(ROOT / ".ci" / "stop-postgres"), str(folder)], check=False, capture_output=True)


def scratch_database(server_url: str) -> str:
    import sqlalchemy as sa

    url = server_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS loanflow_bench_eod"))
        conn.execute(sa.text("CREATE DATABASE loanflow_bench_eod"))
    engine.dispose()
    return sa.engine.make_url(url).set(database="loanflow_bench_eod").render_as_string(hide_password=False)


def load(n: int) -> float:
    """Migrate and fill the database; returns the seconds it took."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app.extensions import db
    from app.lending.codec import terms_to_mapping
    from app.services.identity import directory as identity
    from app.services.ledger import loans

    started = time.perf_counter()
    upgrade()
    org = identity.create_org("BENCH", ["borrower"], "Bench borrower")
    product = loans.create_product({"code": "BENCH", "name": "Bench", "annual_rate": "12", "min_amount": "100",
                                    "max_amount": "1000000", "min_term": 1, "max_term": 36,
                                    "overdue_grace_days": 3})
    terms = terms_to_mapping(loans.product_rules(product).terms_for(
        Decimal("12000.00"), 12, BUSINESS_DATE))
    db.session.commit()
    params = {"d": BUSINESS_DATE, "n": n, "product": product.id, "org": org.id, "terms": json.dumps(terms)}
    run = db.session.execute
    run(text("ALTER TABLE instalments DROP CONSTRAINT uq_instalments_loan_id"))
    run(text("DROP INDEX ix_instalments_open"))
    run(text(LOANS), params)
    run(text("SELECT setval(pg_get_serial_sequence('loans', 'id'), :n)"), params)
    db.session.commit()
    step = 100_000
    for lo in range(1, n + 1, step):
        run(text(INSTALMENTS), {**params, "lo": lo, "hi": min(lo + step - 1, n)})
        db.session.commit()
        print(f"  instalments of loans {lo}–{min(lo + step - 1, n)} loaded", file=sys.stderr, flush=True)
    run(text(PAST_DUE), params)
    run(text("ALTER TABLE instalments ADD CONSTRAINT uq_instalments_loan_id UNIQUE (loan_id, version, number)"))
    run(text("CREATE INDEX ix_instalments_open ON instalments (status, due_date)"
             " WHERE is_current AND status IN ('pending', 'overdue')"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--database", help="PostgreSQL server URL (default: a throwaway cluster)")
    args = parser.parse_args()

    from sqlalchemy import text

    from app import create_app
    from app.extensions import db
    from app.services.ledger.eod import run_eod

    folder = Path(tempfile.mkdtemp(prefix="loanflow-bench-eod-"))
    server = args.database or start_cluster(folder)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": scratch_database(server), "SECRET_KEY": "bench",
                          "RATELIMIT_ENABLED": False})
        with app.app_context():
            print(f"loading {args.loans:,} loans with 12 instalments each …", file=sys.stderr)
            load_seconds = load(args.loans)
            counts = db.session.execute(text(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'overdue') FROM instalments")).one()
            db.session.commit()
            rss_before = peak_rss_mib()
            started = time.perf_counter()
            [summary] = run_eod(BUSINESS_DATE)
            seconds = time.perf_counter() - started
            rss_after = peak_rss_mib()
            db.session.remove()
            db.engine.dispose()
    finally:
        if not args.database:
            stop_cluster(folder)
    verdict = "PASS" if seconds <= TARGET_SECONDS else "MISS"
    print(f"loans {args.loans:,}  instalments {counts[0]:,} ({counts[1]:,} overdue)  loaded in {load_seconds:.0f} s")
    print(f"end of day {BUSINESS_DATE}: {seconds:.1f} s  (target ≤ {TARGET_SECONDS:.0f} s: {verdict})")
    print("  " + ", ".join(f"{k} {v}" for k, v in summary.counts.items()))
    print("  seconds per step: " + ", ".join(f"{k} {v:.2f}" for k, v in summary.step_seconds.items()))
    print(f"peak RSS: {rss_before:.0f} MiB before the run, {rss_after:.0f} MiB after it")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
