"""What the origination tests share: the shipped diagrams deployed, a funder, borrowers the risk
simulator grades as wanted, a core enterprise, a warehouse, their users, one product of each kind."""
from __future__ import annotations

from collections.abc import Callable

from app.extensions import db
from app.services.identity import directory as identity
from app.services.origination import products
from handlers.identifiers import make_credit_code
from handlers.risk import RiskRequest, SimulatedRisk
from tests.conftest import ROOT
from tests.integration.ledger_support import PRODUCT

BASE = {k: v for k, v in PRODUCT.items() if k != "code"}
PRODUCTS = [
    {**BASE, "code": "ORDER-FIN", "name": "Order financing", "kind": "order_financing", "advance_ratio": "0.80"},
    {**BASE, "code": "PLEDGE-FIN", "name": "Pledge financing", "kind": "pledge_financing",
     "ltv": {"lend": "0.60", "warning": "0.70", "margin_call": "0.75", "liquidation": "0.85"}},
    {**BASE, "code": "CREDIT-LOAN", "name": "Credit loan", "kind": "credit_loan", "max_amount": "500000"},
]


def graded(accept: Callable[[int], bool], *, besides: tuple[str, ...] = ()) -> str:
    """A unified social credit code whose risk simulator score (no amount penalty) `accept`s."""
    simulator = SimulatedRisk(())
    for n in range(10000):
        code = make_credit_code(f"91310000MA{n:07d}")
        if code not in besides and accept(simulator.assess(RiskRequest(code, "credit_code", "", "1.00", "x")).score):
            return code
    raise AssertionError("no such credit code")


# Manual review: grade B to D at every amount used (at most 25 points off for the amount). Fast track: grade A.
MANUAL_CODE = graded(lambda score: 620 <= score < 700)
FAST_CODE = graded(lambda score: score >= 800)
OTHER_CODE = graded(lambda score: 620 <= score < 700, besides=(MANUAL_CODE,))

USERS = (("rev1", "BANK1", ["first_reviewer"], "Reviewer Wang"), ("rev2", "BANK1", ["second_reviewer"], None),
         ("app1", "BORR1", ["applicant"], "Applicant Li"), ("app2", "BORR2", ["applicant"], None),
         ("signer1", "CORE1", ["core_signer"], None), ("wh1", "WH1", ["warehouse_supervisor"], None),
         ("op1", "PLATFORM", ["operator"], None))


def deploy_shipped(app, runner) -> None:
    """processes/ deployed with forms/ (the app's FORMS_DIR restored: the app outlives the test)."""
    forms_dir, app.config["FORMS_DIR"] = app.config["FORMS_DIR"], str(ROOT / "forms")
    try:
        deployed = runner.invoke(args=["processes", "deploy", str(ROOT / "processes")])
        assert deployed.exit_code == 0, deployed.output
    finally:
        app.config["FORMS_DIR"] = forms_dir


def seed_parties() -> None:
    """The organisations, users and products (in the caller's app context; the platform exists)."""
    identity.create_org("BANK1", ["funder"], "Pearl River Bank")
    for code, name, credit_code in (("BORR1", "Lotus Trading", MANUAL_CODE), ("BORR2", "Jade Foods", FAST_CODE)):
        identity.create_org(code, ["borrower"], name).credit_code = credit_code
    identity.create_org("CORE1", ["core_enterprise"], "Yangtze Manufacturing")
    identity.create_org("WH1", ["warehouse"], "Harbour Warehousing")
    for username, org, roles, display_name in USERS:
        identity.create_user(username, org, roles, display_name=display_name)
    for data in PRODUCTS:
        products.create_product(None, data)
    db.session.commit()


PAYEE = {"payee_account": "6222 0210 0100 7777", "payee_bank": "China Merchants Bank, Shanghai branch"}


def order_application(amount: str = "400000.00", order_amount: str = "600000.00",
                      number: str = "PO-1") -> dict:
    return {"product": "ORDER-FIN", "amount": amount, "term_months": 6, "purpose": "Raw materials",
            "funder": "BANK1", "details": {"core_enterprise": "CORE1", "order_number": number,
                                           "order_amount": order_amount, "order_due_date": "2027-05-31", **PAYEE}}


def pledge_application(amount: str = "400000.00", **details: str) -> dict:
    """A pledge of 300 t of steel coil at 4,200.00 (1,260,000.00) in WH1 to BANK1."""
    return {"product": "PLEDGE-FIN", "amount": amount, "term_months": 6, "purpose": "Raw materials",
            "funder": "BANK1", "details": {"warehouse": "WH1", "receipt_number": "WR-1", "goods": "Steel coil",
                                           "quantity": "300", "unit": "t", "unit_price": "4200.00", **PAYEE,
                                           **details}}


def credit_application(amount: str = "200000.00", credit_code: str = MANUAL_CODE) -> dict:
    return {"product": "CREDIT-LOAN", "amount": amount, "term_months": 6, "purpose": "Working capital",
            "funder": "BANK1", "details": {"credit_code": credit_code, **PAYEE}}
