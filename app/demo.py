"""Demo data for `make run`: organisations of every kind, a user per role, and a few deals in flight.

Idempotent: running it again changes nothing. The demo password is printed by `seed demo`; it is
for the embedded development database only.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from app import demo_post_loan, demo_signing
from app.extensions import db
from app.models import Application, HumanTask, Lead, Loan, Organisation, Product, User
from app.services.identity import accounts
from app.services.identity import directory as identity
from app.services.identity.directory import PLATFORM_ADMIN_NAME
from app.services.ledger import loans, repayments
from app.services.origination import applications, leads, products
from app.services.workflow import external_tasks, file_sets, instances, operator_mappings, tasks
from app.services.workflow.instances import latest_version

DEMO_PASSWORD = "Harbour-demo-2026"

# (code, kinds, name, unified social credit code: the risk simulator grades these B)
ORGS = [
    ("PLATFORM", ["platform"], "Loanflow 平台运营", None),
    ("BANK1", ["funder"], "华东商业银行", "91310000MA1BK0001P"),
    ("BANK2", ["funder"], "滨江小额贷款", "91330100MA2BK0002E"),
    ("TRADER1", ["borrower"], "申城贸易有限公司", "91310000MA10000018"),
    ("CORE1", ["core_enterprise"], "长江制造集团", "91320000MA1000013K"),
    ("WH1", ["warehouse"], "港湾仓储监管", "91330000MA1000001G"),
]
USERS = [
    ("admin", "PLATFORM", ["platform_admin"]), ("operator", "PLATFORM", ["operator"]),
    ("analyst", "PLATFORM", ["analyst"]), ("auditor", "PLATFORM", ["auditor"]),
    ("reviewer1", "BANK1", ["first_reviewer"]), ("reviewer2", "BANK1", ["second_reviewer"]),
    ("finance1", "BANK1", ["finance"]), ("lead1", "BANK1", ["team_lead"]),
    ("reviewer_b2", "BANK2", ["first_reviewer"]), ("applicant1", "TRADER1", ["applicant"]),
    ("signer1", "CORE1", ["core_signer"]), ("warehouse1", "WH1", ["warehouse_supervisor"]),
    ("collector1", "PLATFORM", ["collections_agent"]),
]
# How the borrower's user is reached (a collector calls the number the case page gives; the demo had none).
CONTACT_DETAILS = {"applicant1": ("13800138000", "liu.shenqing@example.com")}
# The names people read in histories and lists (a user name is a sign-in, not a name).
DISPLAY_NAMES = {
    "admin": "周立平", "operator": "吴运营", "analyst": "郑分析", "auditor": "孙审计", "reviewer1": "王审",
    "reviewer2": "李复核", "finance1": "赵财务", "lead1": "钱主管", "reviewer_b2": "陈审", "applicant1": "刘申请",
    "signer1": "黄签署", "warehouse1": "何监管", "collector1": "冯催收",
}
PRODUCT: dict[str, str | int] = {
    "code": "DEMO-CREDIT", "name": "流动资金贷款（演示）", "annual_rate": "12", "min_amount": "10000",
    "max_amount": "5000000", "min_term": 3, "max_term": 36, "overdue_grace_days": 3,
    "early_repayment_fee_percent": "1",
}
# One product of each kind borrowers apply for (docs/origination.md).
PRODUCTS: list[dict[str, object]] = [
    {"code": "ORDER-FIN", "name": "订单融资（演示）", "name_en": "Order financing (demo)", "kind": "order_financing",
     "annual_rate": "8.5",
     "min_amount": "50000", "max_amount": "5000000", "min_term": 1, "max_term": 12, "amortization": "interest_only",
     "advance_ratio": "0.80", "documents": ["order", "invoice"]},
    {"code": "PLEDGE-FIN", "name": "仓单质押融资（演示）", "name_en": "Warehouse receipt pledge financing (demo)",
     "kind": "pledge_financing", "annual_rate": "9",
     "min_amount": "50000", "max_amount": "8000000", "min_term": 1, "max_term": 12, "amortization": "interest_only",
     "ltv": {"lend": "0.60", "warning": "0.70", "margin_call": "0.75", "liquidation": "0.85"},
     "documents": ["warehouse_receipt"]},
    {"code": "CREDIT-LOAN", "name": "信用贷（演示）", "name_en": "Credit loan (demo)", "kind": "credit_loan",
     "annual_rate": "14",
     "min_amount": "10000", "max_amount": "500000", "min_term": 3, "max_term": 24, "documents": []},
]
# (business key, principal, months, disbursed this many days before today, instalments paid on time)
LOANS = [("LOAN-2026-0001", "300000.00", 12, 95, 3), ("LOAN-2026-0002", "120000.00", 6, 70, 1)]


def seed_demo() -> list[tuple[str, str, str]]:
    """Create what is missing; (username, organisation, roles) of every demo user."""
    for code, kinds, name, credit_code in ORGS:
        organisation = db.session.scalar(select(Organisation).where(Organisation.code == code))
        if organisation is None:
            organisation = identity.create_org(code, kinds, name)
        if credit_code and not organisation.credit_code:
            organisation.credit_code = credit_code
    db.session.commit()
    for username, org, roles in USERS:
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            identity.create_user(username, org, roles, display_name=DISPLAY_NAMES.get(username))
        user = db.session.scalar(select(User).where(User.username == username))
        if user is not None and user.display_name in (None, "", PLATFORM_ADMIN_NAME):
            user.display_name = DISPLAY_NAMES.get(username) or user.display_name
        if user is not None and username in CONTACT_DETAILS and not (user.mobile or user.email):
            user.mobile, user.email = CONTACT_DETAILS[username]
        if user is not None and user.password_hash is None:
            accounts.set_password_with_token(accounts.invite(username), "invite", DEMO_PASSWORD)
    _seed_product()
    _seed_loans()
    if all(latest_version(kind) is not None for kind in ("order_financing", "pledge_financing", "credit_loan")) \
            and not db.session.scalar(select(func.count()).select_from(Application)):
        _seed_deals()
    if latest_version("acquisition") is not None and not db.session.scalar(select(func.count()).select_from(Lead)):
        _seed_leads()
    if latest_version(CAMUNDA_EXAMPLE_PROCESS) is None and CAMUNDA_EXAMPLE.is_dir():
        _seed_camunda_example()
    return [(u, o, ", ".join(r)) for u, o, r in USERS]


# A diagram drawn in Camunda Modeler with the Camunda Forms files it names, brought in as an analyst brings a
# project (Deploy files), and one invoice waiting for an operator's review (docs/from-camunda.md).
CAMUNDA_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "camunda-invoice"
CAMUNDA_EXAMPLE_PROCESS = "invoice_review"


def _seed_camunda_example() -> None:
    files = [(path.name, path.read_bytes()) for path in sorted(CAMUNDA_EXAMPLE.iterdir()) if path.is_file()]
    file_sets.deploy(identity.principal_for("analyst"), files)
    instances.start(CAMUNDA_EXAMPLE_PROCESS, identity.principal_for("operator"), "INV-4403110588", {
        "supplier": "鹏城电子科技有限公司", "invoice_number": "4403110588", "amount": 128000.5,
        "due_date": "2026-12-31"})
    _seed_external_task_example()
    db.session.commit()


# A Camunda 7 diagram whose payment is an external task: the admin maps its topic to Camunda's external task
# workers, the analyst deploys it, and one payment waits for a worker at /engine-rest (External tasks).
EXTERNAL_TASK_EXAMPLE = CAMUNDA_EXAMPLE.parent / "camunda-external-task"
EXTERNAL_TASK_PROCESS = "invoice_payment"


def _seed_external_task_example() -> None:
    operator_mappings.map_operator(identity.principal_for("admin"), "topic", "invoice-payment",
                                   external_tasks.EXTERNAL_TASK_OPERATOR)
    files = [(path.name, path.read_bytes()) for path in sorted(EXTERNAL_TASK_EXAMPLE.glob("*.bpmn"))]
    file_sets.deploy(identity.principal_for("analyst"), files)
    instances.start(EXTERNAL_TASK_PROCESS, identity.principal_for("operator"), "PAY-4403110571", {
        "supplier": "鹏城电子科技有限公司", "invoice_number": "4403110571", "amount": "56000.00"})


# Leads waiting for an operator: two from a loan marketplace (one of them a company already on the
# platform: a duplicate to decide on), one entered from a telephone call.
LEADS = [
    ("channel", {"company_name": "鹏城电子科技有限公司", "credit_code": "91440300MA5F00012E", "contact_name": "陈经理",
                 "mobile": "13912345678", "email": "chen@example.com", "product_code": "ORDER-FIN",
                 "amount": "1500000.00", "external_ref": "MKT-20261201-001"}),
    ("channel", {"company_name": "申城贸易有限公司", "credit_code": "91310000MA10000018", "contact_name": "刘申请",
                 "mobile": "13700001111", "product_code": "PLEDGE-FIN", "amount": "800000.00",
                 "external_ref": "MKT-20261202-007"}),
    ("operator", {"company_name": "京西食品有限公司", "credit_code": "91110108MA01000238", "contact_name": "王总",
                  "mobile": "13600002222", "product_code": "CREDIT-LOAN", "amount": "300000.00"}),
]


def _seed_leads() -> None:
    channel, _ = leads.register_channel("MARKET1", "融信贷款超市（演示）")
    for source, data in LEADS:
        if source == "channel":
            leads.submit_lead(channel, data)
        else:
            leads.enter_lead(identity.principal_for("operator"), data)


# Deals at every stage of origination, in this order (numbers APP-<year>-0001 ...): each is
# (product, amount, funder, details, how far it goes). The steps are those of docs/origination.md.
PAYEE = {"payee_account": "6222 0210 0100 7777 001", "payee_bank": "招商银行上海分行"}  # TRADER1's receiving account


def _order(number: str, amount: str) -> dict[str, str]:
    return {"core_enterprise": "CORE1", "order_number": number, "order_amount": amount,
            "order_due_date": (loans.business_today() + timedelta(days=180)).isoformat(), **PAYEE}


def _pledge(receipt: str, quantity: str) -> dict[str, str]:
    return {"warehouse": "WH1", "receipt_number": receipt, "goods": "热轧卷板 Q235", "quantity": quantity,
            "unit": "吨", "unit_price": "4200.00", **PAYEE}


def _deals() -> list[tuple[str, str, str, dict[str, str], str]]:
    return [
        ("ORDER-FIN", "400000.00", "BANK1", _order("PO-2026-1001", "600000.00"), "submitted"),      # core confirms
        ("PLEDGE-FIN", "500000.00", "BANK1", _pledge("WR-2026-0301", "300"), "submitted"),         # warehouse confirms
        ("ORDER-FIN", "600000.00", "BANK1", _order("PO-2026-1002", "900000.00"), "first_review"),  # reviewer1
        ("ORDER-FIN", "300000.00", "BANK1", _order("PO-2026-1003", "500000.00"), "returned"),      # applicant1 supplies
        ("ORDER-FIN", "800000.00", "BANK1", _order("PO-2026-1004", "1200000.00"), "second_review"),  # reviewer2
        ("ORDER-FIN", "450000.00", "BANK1", _order("PO-2026-1005", "700000.00"), "approved"),
        ("ORDER-FIN", "350000.00", "BANK1", _order("PO-2026-1006", "500000.00"), "rejected"),
        ("CREDIT-LOAN", "200000.00", "BANK2", {"credit_code": "91310000MA10000018", **PAYEE}, "first_review"),  # reviewer_b2
        ("ORDER-FIN", "250000.00", "BANK1", _order("PO-2026-1007", "400000.00"), "draft"),
        ("PLEDGE-FIN", "600000.00", "BANK1", _pledge("WR-2026-0302", "250"), "appraisal"),        # operator appraises
        # after approval (app.demo_signing): the contract out for signing (applicant1 signs first), the
        # pledge to register (operator), the funds to release (finance1), a loan booked
        ("ORDER-FIN", "380000.00", "BANK1", _order("PO-2026-1008", "600000.00"), "signing"),
        ("PLEDGE-FIN", "400000.00", "BANK1", _pledge("WR-2026-0303", "200"), "registration"),
        ("ORDER-FIN", "500000.00", "BANK1", _order("PO-2026-1009", "800000.00"), "disbursing"),
        ("CREDIT-LOAN", "150000.00", "BANK1", {"credit_code": "91310000MA10000018", **PAYEE}, "active"),
    ]


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" \
      b"trailer<</Root 1 0 R>>\n%%EOF\n"
REVIEW_NOTES = {  # the funder's internal notes
    "approve": "核心企业已确认订单，回款账户为监管账户，建议按申请金额放款。",
    "return": "近三个月回款流水偏少，发票齐全后再核额度。",
    "reject": "历史回款两次逾期，内部评级偏低。",
}
REASONS = {  # what the borrower reads
    "return": "请补充最近三个月的销售发票。",
    "reject": "订单对应的历史回款不稳定，暂不符合准入条件。",
}


def _task(instance_id: int | None, element: str) -> int | None:
    return db.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.element_id == element,
        HumanTask.state.in_(("ready", "claimed"))).limit(1))


def _do(instance_id: int | None, element: str, username: str, answer: dict[str, object],
        uploads: tuple[tasks.Upload, ...] = ()) -> None:
    task_id = _task(instance_id, element)
    if task_id is None:
        raise RuntimeError(f"demo: no open {element} task in instance {instance_id}")
    tasks.complete_task(task_id, answer, identity.principal_for(username), uploads)


def _review(decision: str, amount: str) -> dict[str, object]:
    answer: dict[str, object] = {"decision": decision, "notes": REVIEW_NOTES[decision]}
    if decision == "approve":
        answer["approved_amount"] = amount
    else:
        answer["reason"] = REASONS[decision]
    return answer


def _seed_deals() -> None:
    for product, amount, funder, details, goal in _deals():
        _deal(product, amount, funder, details, goal)
    if latest_version("post_loan") is not None:
        demo_post_loan.seed(lambda amount, months: _deal(
            "CREDIT-LOAN", amount, "BANK1", {"credit_code": "91310000MA10000018", **PAYEE}, "active", months))


def _deal(product: str, amount: str, funder: str, details: dict[str, str], goal: str, months: int = 6) -> str:
    """A deal of applicant1 taken as far as `goal`, as each party would; its number."""
    applicant = identity.principal_for("applicant1")
    row = applications.create_application(applicant, {
        "product": product, "amount": amount, "term_months": months, "funder": funder, "details": details,
        "purpose": "采购原材料" if product != "CREDIT-LOAN" else "日常经营周转"})
    for kind in {"ORDER-FIN": ("order", "invoice"), "PLEDGE-FIN": ("warehouse_receipt",)}.get(product, ()):
        applications.add_document(applicant, row.id, kind, f"{kind}.pdf", PDF)
    if goal == "draft":
        return row.number
    row = applications.submit(applicant, row.id)
    instance = row.instance_id
    if goal == "submitted":
        return row.number
    if product == "CREDIT-LOAN":
        _do(instance, "credit_consent", "applicant1", {"consent": True, "mobile": "13800138000"})
    if product == "PLEDGE-FIN":
        _do(instance, "confirm_receipt", "warehouse1", {
            "decision": "confirm", "receipt_number": details["receipt_number"], "goods": details["goods"],
            "quantity": details["quantity"], "location": "上海市宝山区港湾仓库 3 号库 B 区", "goods_locked": True})
        if goal == "appraisal":
            return row.number
        value = f"{Decimal(details['quantity']) * Decimal(details['unit_price']):.2f}"
        _do(instance, "appraise_goods", "operator", {"unit_value": details["unit_price"], "appraised_value": value})
    if product == "ORDER-FIN":
        _do(instance, "confirm_receivable", "signer1", {
            "decision": "confirm", "confirmed_amount": details["order_amount"],
            "due_date": details["order_due_date"], "collection_account": "6222 0210 0100 8888 001"})
    reviewer = "reviewer1" if funder == "BANK1" else "reviewer_b2"
    if goal == "first_review":
        return row.number
    first = {"returned": "return", "rejected": "reject"}.get(goal, "approve")
    _do(instance, "first_review", reviewer, _review(first, amount))
    if goal in ("returned", "rejected", "second_review"):
        return row.number
    _do(instance, "second_review", "reviewer2", _review("approve", amount))
    if goal in demo_signing.GOALS:
        demo_signing.advance(_do, instance, row.number, product, goal)
    return row.number


def _seed_product() -> None:
    """The ledger's demo product (its two loans) and one product of each kind borrowers apply for."""
    if db.session.scalar(select(Product).where(Product.code == PRODUCT["code"])) is None:
        loans.create_product(PRODUCT)
    for data in PRODUCTS:
        if db.session.scalar(select(Product.id).where(Product.code == data["code"])) is None:
            products.create_product(None, data)
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
