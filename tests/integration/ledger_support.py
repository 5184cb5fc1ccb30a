"""What the ledger tests share: a product, booking a loan, moving the business date, checking the books."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from flask import has_app_context

from app.config import business_timezone
from app.extensions import db
from app.services.identity import directory as identity
from app.services.ledger import loans, posting
from app.services.ledger.journal import loan_balances, trial_balance, unbalanced_entries

PRODUCT: dict[str, Any] = {
    "code": "CREDIT12", "name": "Credit loan, 12 %", "annual_rate": "12", "min_amount": "100",
    "max_amount": "5000000", "min_term": 1, "max_term": 36, "overdue_grace_days": 3,
    "early_repayment_fee_percent": "1",
}


def business_day(clock, day: date) -> None:
    """Move the clock to 10:00 on `day` in the business time zone (the default one outside an app context)."""
    zone = loans.business_tz() if has_app_context() else business_timezone({})
    clock.current = datetime.combine(day, time(10), tzinfo=zone).astimezone(UTC)


def borrower(code: str = "BORROWER1") -> int:
    org = identity.create_org(code, ["borrower"], f"Borrower {code}")
    db.session.commit()
    return org.id


def product(**overrides: Any) -> str:
    settings = {**PRODUCT, **overrides}
    loans.create_product(settings)
    db.session.commit()
    return str(settings["code"])


def book(org_id: int, principal: str = "12000.00", repayments: int = 12, disbursed_on: date = date(2026, 1, 10),
         key: str = "LOAN-1", code: str = "CREDIT12") -> int:
    loan = loans.book_loan(loans.LoanRequest(code, key, org_id, Decimal(principal), repayments, disbursed_on))
    db.session.commit()
    return loan.id


def assert_books_balance(*loan_ids: int) -> None:
    """The trial balance is zero, every entry balances, and each loan's lines match its instalments
    (in the loan's product's accounts)."""
    db.session.expire_all()
    assert trial_balance().total == 0, trial_balance()
    assert unbalanced_entries() == []
    for loan_id in loan_ids:
        position = loans.loan_position(loan_id)
        expected = posting.in_accounts(position, posting.loan_accounts(loans.load_loan(loan_id)))
        balances = loan_balances(loan_id)
        assert {k: balances[k] for k in expected} == expected, (position, balances)
        assert all(v >= 0 for k, v in position.items() if k != posting.Role.OVERPAYMENT_LIABILITY), position


def two_loans(orgs: dict[str, str], users: dict[str, tuple[str, str]], start: date,
              funder: dict[int, str] | None = None) -> tuple[dict[str, dict[str, str]], list[int]]:
    """Organisations (code: kind), users (name: (organisation, role)) each with an API token's
    header, and two loans LOAN-1 of BORR1 and LOAN-2 of BORR2 (12,000.00 over 12 months from
    `start`) funded by BANK1 and BANK2, or as `funder` says; in the caller's app context, committed."""
    org = {code: identity.create_org(code, [kind], f"Organisation {code}").id for code, kind in orgs.items()}
    headers = {}
    for name, (org_code, role) in users.items():
        identity.create_user(name, org_code, [role])
        headers[name] = {"Authorization": f"Bearer {identity.issue_token(name)}"}
    db.session.commit()
    code = product()
    funders = funder or {1: "BANK1", 2: "BANK2"}
    ids = [loans.book_loan(loans.LoanRequest(code, f"LOAN-{n}", org[f"BORR{n}"], Decimal("12000.00"), 12, start,
                                             funder_org_id=org[funders[n]])).id for n in (1, 2)]
    db.session.commit()
    return headers, ids
