"""Demo data for `make run`: organisations of every kind, a user per role, and a few deals in flight.

Idempotent: running it again changes nothing. The demo password is printed by `seed demo`; it is
for the embedded development database only.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, Loan, Organisation, ProcessInstance, Product, User
from app.services.identity import accounts
from app.services.identity import directory as identity
from app.services.identity.directory import PLATFORM_ADMIN_NAME
from app.services.ledger import loans, repayments
from app.services.workflow import tasks
from app.services.workflow.instances import latest_version, start_instance

DEMO_PASSWORD = "Harbour-demo-2026"

ORGS = [
    ("PLATFORM", ["platform"], "Loanflow 平台运营"),
    ("BANK1", ["funder"], "华东商业银行"),
    ("BANK2", ["funder"], "滨江小额贷款"),
    ("TRADER1", ["borrower"], "申城贸易有限公司"),
    ("CORE1", ["core_enterprise"], "长江制造集团"),
    ("WH1", ["warehouse"], "港湾仓储监管"),
]
USERS = [
    ("admin", "PLATFORM", ["platform_admin"]), ("operator", "PLATFORM", ["operator"]),
    ("analyst", "PLATFORM", ["analyst"]), ("auditor", "PLATFORM", ["auditor"]),
    ("reviewer1", "BANK1", ["first_reviewer"]), ("reviewer2", "BANK1", ["second_reviewer"]),
    ("finance1", "BANK1", ["finance"]), ("lead1", "BANK1", ["team_lead"]),
    ("reviewer_b2", "BANK2", ["first_reviewer"]), ("applicant1", "TRADER1", ["applicant"]),
    ("signer1", "CORE1", ["core_signer"]), ("warehouse1", "WH1", ["warehouse_supervisor"]),
]
# The names people read in histories and lists (a user name is a sign-in, not a name).
DISPLAY_NAMES = {
    "admin": "周立平", "operator": "吴运营", "analyst": "郑分析", "auditor": "孙审计", "reviewer1": "王审",
    "reviewer2": "李复核", "finance1": "赵财务", "lead1": "钱主管", "reviewer_b2": "陈审", "applicant1": "刘申请",
    "signer1": "黄签署", "warehouse1": "何监管",
}
PRODUCT: dict[str, str | int] = {
    "code": "DEMO-CREDIT", "name": "流动资金贷款（演示）", "annual_rate": "12", "min_amount": "10000",
    "max_amount": "5000000", "min_term": 3, "max_term": 36, "overdue_grace_days": 3,
    "early_repayment_fee_percent": "1",
    "application_process": "risk_approval",  # what TRADER1's applicant may start (the only diagram in processes/)
}
# (business key, principal, months, disbursed this many days before today, instalments paid on time)
LOANS = [("LOAN-2026-0001", "300000.00", 12, 95, 3), ("LOAN-2026-0002", "120000.00", 6, 70, 1)]


def seed_demo() -> list[tuple[str, str, str]]:
    """Create what is missing; (username, organisation, roles) of every demo user."""
    for code, kinds, name in ORGS:
        if db.session.scalar(select(Organisation.id).where(Organisation.code == code)) is None:
            identity.create_org(code, kinds, name)
    for username, org, roles in USERS:
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            identity.create_user(username, org, roles, display_name=DISPLAY_NAMES.get(username))
        user = db.session.scalar(select(User).where(User.username == username))
        if user is not None and user.display_name in (None, "", PLATFORM_ADMIN_NAME):
            user.display_name = DISPLAY_NAMES.get(username) or user.display_name
        if user is not None and user.password_hash is None:
            accounts.set_password_with_token(accounts.invite(username), "invite", DEMO_PASSWORD)
    if latest_version("risk_approval") is not None and not db.session.scalar(
            select(func.count()).select_from(ProcessInstance)):
        admin = identity.principal_for("admin")
        for key, bank, amount in (("APP-2026-0001", "BANK1", "500000"), ("APP-2026-0002", "BANK1", "1200000"),
                                  ("APP-2026-0003", "BANK2", "80000")):
            start_instance("risk_approval", admin, key, {"requested_amount": amount},
                           {"funder": bank, "borrower": "TRADER1"})
        _seed_reviews()
    _seed_product()
    _seed_loans()
    return [(u, o, ", ".join(r)) for u, o, r in USERS]


# Deals further along: (business key, amount, the first reviewer's answer). Asking for more puts a
# task in the borrower's inbox; approving one in the second reviewer's.
REVIEWED = [
    ("APP-2026-0004", "300000", {"first_decision": "need_more_information", "first_limit": "250000",
                                 "first_notes": "请补充最近三个月的销售发票。"}),
    ("APP-2026-0005", "800000", {"first_decision": "approve", "first_limit": "700000",
                                 "first_notes": "核心企业已确认订单，建议按七成放款。"}),
]


def _seed_reviews() -> None:
    reviewer = identity.principal_for("reviewer1")
    for key, amount, answer in REVIEWED:
        instance_id = start_instance("risk_approval", identity.principal_for("admin"), key,
                                     {"requested_amount": amount}, {"funder": "BANK1", "borrower": "TRADER1"})
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                               HumanTask.element_id == "first_review"))
        if task_id is not None:
            tasks.complete_task(task_id, answer, reviewer)


def _seed_product() -> None:
    """The demo's product, offering its application process (also to a product seeded before it did)."""
    product = db.session.scalar(select(Product).where(Product.code == PRODUCT["code"]))
    if product is None:
        loans.create_product(PRODUCT)
    elif product.application_process is None:
        product.application_process = str(PRODUCT["application_process"])
    db.session.commit()


def _seed_loans() -> None:
    """Two loans of TRADER1 funded by BANK1 on the demo product: one paid up, one a bill behind."""
    if db.session.scalar(select(func.count()).select_from(Loan)):
        return
    org_ids = {code: org_id for code, org_id in db.session.execute(select(Organisation.code, Organisation.id))}
    today = loans.business_today()
    for key, principal, months, days_ago, paid in LOANS:
        request = loans.LoanRequest(str(PRODUCT["code"]), key, org_ids["TRADER1"], Decimal(principal), months,
                                    today - timedelta(days=days_ago), org_ids["BANK1"])
        loan = loans.book_loan(request)
        db.session.commit()
        for row in loans.instalments(loan.id)[:paid]:
            repayments.take_payment_and_commit(repayments.PaymentNotice(
                loan.id, f"DEMO-{key}-{row.number}", f"{row.principal_due + row.interest_due + row.fee_due:.2f}",
                received_on=row.due_date))
