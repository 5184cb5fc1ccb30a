"""What the margin-call and disposal tests share: an active pledge-financing loan of BORR1 to BANK1
(300 t of steel coil in WH1 for 600,000.00 over 6 months from 2026-11-30, product lines 0.70 / 0.75 /
0.85), the two diagrams deployed, the users' tokens, and the API calls they make."""
from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Application, Loan, Organisation, Product
from app.models.collateral import Pledge
from app.services.identity import directory as identity
from app.services.ledger import loans
from app.services.workflow.outbox_delivery import deliver_outbox
from app.services.workflow.waking import wake_due
from tests.conftest import ROOT
from tests.integration.ledger_support import business_day
from tests.integration.origination_support import USERS, seed_parties

API = "/api/v1"
NUMBER = "APP-2026-0001"
KEY = f"LOAN-{NUMBER}"
START = date(2026, 11, 30)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
REPORT = "data:application/pdf;name=appraisal.pdf;base64," + base64.b64encode(PDF).decode()
DIAGRAMS = ("pledge_monitoring.bpmn", "collateral_disposal.bpmn")


def active_pledge(principal: str = "600000.00") -> int:
    """The deal and its booked loan (as disbursement leaves them); the loan's id."""
    product = db.session.scalar(select(Product).where(Product.code == "PLEDGE-FIN"))
    org = {o.code: o.id for o in db.session.scalars(select(Organisation))}
    db.session.add(Application(
        number=NUMBER, product_id=product.id, borrower_org_id=org["BORR1"], funder_org_id=org["BANK1"],
        amount=Decimal(principal), term_months=6, purpose="Raw materials", status="active", stage="loan",
        approved_amount=Decimal(principal),
        details={"warehouse": "WH1", "receipt_number": "WR-1", "goods": "Steel coil", "quantity": "300", "unit": "t",
                 "unit_price": "4200.00"}))
    loan = loans.book_loan(loans.LoanRequest("PLEDGE-FIN", KEY, org["BORR1"], Decimal(principal), 6, START,
                                             funder_org_id=org["BANK1"]))
    db.session.commit()
    return loan.id


def setup_world(app, clock, runner) -> dict[str, Any]:
    """Parties, the loan, the diagrams; tokens by user name and the loan's id."""
    business_day(clock, START)
    forms_dir, app.config["FORMS_DIR"] = app.config["FORMS_DIR"], str(ROOT / "forms")
    try:
        deployed = runner.invoke(args=["processes", "deploy", *(str(ROOT / "processes" / d) for d in DIAGRAMS)])
        assert deployed.exit_code == 0, deployed.output
    finally:
        app.config["FORMS_DIR"] = forms_dir
    with app.app_context():
        seed_parties()
        identity.create_user("fin1", "BANK1", ["finance"])
        identity.create_user("fin2", "BANK1", ["finance"])
        identity.create_user("wh2", "WH1", ["warehouse_supervisor"])
        loan_id = active_pledge()
        tokens = {name: identity.issue_token(name) for name in [u[0] for u in USERS] + ["fin1", "fin2", "wh2"]}
        db.session.commit()
        db.session.remove()
    return {"tokens": tokens, "loan_id": loan_id}


def bearer(token: str, language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


def price(client, token: str, value: str, as_of: str = "2026-11-30") -> dict:
    r = client.post(f"{API}/collateral/prices", headers=bearer(token),
                    json={"prices": [{"goods": "Steel coil", "unit": "t", "price": value, "as_of": as_of}]})
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()


def deliver(app) -> int:
    """One pass of the worker's outbox job."""
    with app.app_context():
        n = deliver_outbox()
        db.session.remove()
    return n


def wake(app) -> list[int]:
    with app.app_context():
        woken = wake_due().woken
        db.session.remove()
    return woken


def tasks(client, token: str) -> dict[str, dict]:
    """The ready tasks the user is offered, by element id."""
    r = client.get(f"{API}/tasks", query_string={"state": "ready", "per_page": 100}, headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return {t["element_id"]: t for t in r.get_json()["items"]}


def complete(client, token: str, element_id: str, expect: int = 200, **data: Any) -> Any:
    task = tasks(client, token).get(element_id)
    assert task is not None, (element_id, list(tasks(client, token)))
    r = client.post(f"{API}/tasks/{task['id']}/complete", json={"data": data}, headers=bearer(token))
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def instances(client, token: str, process_id: str) -> list[dict]:
    r = client.get(f"{API}/process-instances", query_string={"process_id": process_id, "per_page": 100},
                   headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def pledge(app) -> Pledge:
    with app.app_context():
        row = db.session.scalar(select(Pledge))
        db.session.expunge_all()
        db.session.remove()
    return row


def loan(app, loan_id: int) -> Loan:
    with app.app_context():
        row = db.session.get(Loan, loan_id)
        db.session.expunge_all()
        db.session.remove()
    return row
