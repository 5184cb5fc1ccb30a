"""Collateral disposal (`collateral_disposal`, docs/collateral.md), started by the outbox message
`disposal_requested` under the loan's key: the operator appraises (value, report kept with the deal),
chooses the channel and records the sale; the net proceeds (after the costs) are booked as a
payment of channel `disposal`; a surplus above the pay-off is returned to the borrower, a
remainder is written off by a maker and a different checker (four eyes, both in the audit log);
the pledge ends disposed. Each ends with the loan's state and a zero trial balance. On SQLite and
PostgreSQL."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApplicationDocument, AuditEntry, Notification, Payment, User
from app.models.collateral import Disposal, PledgeMovement
from app.services.ledger import repayments
from app.services.ledger.eod import run_eod
from tests.integration.ledger_support import assert_books_balance
from tests.integration.pledge_support import (
    API,
    KEY,
    REPORT,
    bearer,
    complete,
    deliver,
    instances,
    loan,
    pledge,
    price,
    setup_world,
    tasks,
    wake,
)
from tests.integration.test_identity import set_password
from tests.integration.test_simulators import signed_in


@pytest.fixture
def world(app, clock, runner, admin_token):
    return setup_world(app, clock, runner)


def _disposal(app) -> Disposal:
    with app.app_context():
        row = db.session.scalar(select(Disposal))
        db.session.expunge_all()
        db.session.remove()
    return row


def _sell(client, op: str, price_: str, costs: str) -> None:
    complete(client, op, "appraise", appraised_value="790000.00", report=REPORT, notes="market value less 5%")
    complete(client, op, "choose_channel", channel="auction", disposer="Shanghai Auction House")
    complete(client, op, "record_sale", buyer="Wuxi Steel Trading", price=price_, costs=costs, sold_on="2026-11-30")


def _try_approve(client, token: str):
    task = tasks(client, token)["approve_write_off"]
    return client.post(f"{API}/tasks/{task['id']}/complete",
                       json={"data": {"decision": "approve", "decision_reason": "my own"}}, headers=bearer(token))


def test_a_margin_call_ignored_leads_to_disposal_with_the_surplus_returned(app, client, clock, world):
    op, loan_id = world["tokens"]["op1"], world["loan_id"]
    price(client, op, "2650.00")
    deliver(app)
    clock.advance(days=3)  # the deadline passes with nothing added or repaid
    wake(app)
    with app.app_context():
        run_eod(date(2026, 12, 3))
        db.session.commit()
        db.session.remove()
    deliver(app)
    [inst] = instances(client, op, "collateral_disposal")
    assert (inst["business_key"], inst["status"]) == (KEY, "waiting")
    assert "appraise" not in tasks(client, world["tokens"]["fin1"])  # the platform operator's
    with app.app_context():
        quote = repayments.quote_payoff(loan_id)
        db.session.remove()
    # a forced sale is no early repayment of the borrower's: the product's early-repayment fee (1 %) is not charged
    fee = Decimal(quote["fee"])
    payoff = Decimal(quote["to_pay"]) - fee
    assert fee > 0
    _sell(client, op, "800000.00", "20000.00")

    [inst] = instances(client, op, "collateral_disposal")
    assert inst["status"] == "completed"
    disposal = _disposal(app)
    surplus = Decimal("780000.00") - payoff
    assert (disposal.status, disposal.reason, disposal.channel, disposal.appraised_value) == \
           ("closed", "margin_call_expired", "auction", Decimal("790000.00"))
    assert (disposal.price, disposal.costs, disposal.shortfall, disposal.surplus) == \
           (Decimal("800000.00"), Decimal("20000.00"), Decimal("0.00"), surplus)
    with app.app_context():
        payment = db.session.get(Payment, disposal.payment_id)
        report = db.session.get(ApplicationDocument, disposal.report_document_id)
        assert (payment.channel, payment.amount, payment.status) == ("disposal", Decimal("780000.00"), "booked")
        assert payment.allocation["settled"] is True and Decimal(payment.allocation["credit_added"]) == surplus
        assert Decimal(payment.allocation["fee"]) == 0  # the surplus returned was short of the fee
        assert (report.kind, report.filename) == ("appraisal_report", "appraisal.pdf")
        told = db.session.execute(select(Notification.template, Notification.recipient).where(
            Notification.template.in_(["disposal_surplus_returned", "collateral_disposed"]),
            Notification.channel == "in_app").order_by(Notification.id)).all()
        assert [tuple(t) for t in told] == [("disposal_surplus_returned", "app1"), ("collateral_disposed", "app1")]
        assert_books_balance(loan_id)
        db.session.remove()
    closed = loan(app, loan_id)
    assert (closed.status, closed.credit_balance) == ("closed", Decimal("0.00"))
    after = pledge(app)
    assert (after.status, after.quantity) == ("disposed", Decimal("0"))
    with app.app_context():
        kinds = list(db.session.scalars(select(PledgeMovement.kind).order_by(PledgeMovement.id)))
        db.session.remove()
    assert kinds == ["disposed"]


def test_proceeds_short_of_the_debt_are_written_off_by_a_second_person(app, client, clock, world):
    op, loan_id = world["tokens"]["op1"], world["loan_id"]
    fin1, fin2 = world["tokens"]["fin1"], world["tokens"]["fin2"]
    price(client, op, "2300.00")  # 600,000 / (300 × 2,300) = 0.8696: the liquidation line, disposal at once
    deliver(app)
    [monitoring] = instances(client, op, "pledge_monitoring")
    assert monitoring["status"] == "completed"
    deliver(app)
    [inst] = instances(client, op, "collateral_disposal")
    clock.advance(days=3)
    with app.app_context():
        run_eod(date(2026, 12, 3))
        db.session.commit()
        db.session.remove()
    _sell(client, op, "450000.00", "15000.00")
    disposal = _disposal(app)
    assert (disposal.reason, disposal.status) == ("liquidation", "allocated")
    with app.app_context():
        owed = repayments.quote_payoff(loan_id)
        payment = db.session.get(Payment, disposal.payment_id)
        assert (payment.channel, payment.amount) == ("disposal", Decimal("435000.00"))  # costs first
        assert Decimal(payment.allocation["fee"]) == 0  # all of it to what is owed: no early-repayment fee
        db.session.remove()
    assert Decimal(owed["principal"]) > 0 and disposal.shortfall > 0
    assert loan(app, loan_id).status == "active"

    complete(client, fin1, "propose_write_off", write_off_reason="the goods fetched less than owed", confirmed=True)
    # the maker may not check their own proposal (four eyes): refused, nothing written off
    refused = _try_approve(client, fin1)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "four_eyes", refused.get_json()
    assert loan(app, loan_id).status == "active"
    set_password(app, "fin2")
    page = signed_in(app, "fin2")
    shown = page.get(f"/tasks/{tasks(client, fin2)['approve_write_off']['id']}", headers={"Accept-Language": "zh-CN"})
    assert shown.status_code == 200
    assert all(w in shown.text for w in ("审批核销", "处置后仍欠金额", "质押率达到处置线", "批准核销", "退回")), shown.text
    complete(client, fin2, "approve_write_off", decision="approve", decision_reason="no other recovery")

    [inst] = instances(client, op, "collateral_disposal")
    assert inst["status"] == "completed"
    disposal = _disposal(app)
    written_off = loan(app, loan_id)
    assert written_off.status == "written_off"
    assert (disposal.status, disposal.written_off) == ("closed", disposal.shortfall)
    assert pledge(app).status == "disposed"
    with app.app_context():
        names = dict(db.session.execute(select(User.id, User.username)).all())
        audited = [(a, names.get(u)) for a, u in db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id).where(AuditEntry.action.like("collateral.write_off%"))
            .order_by(AuditEntry.id))]
        assert disposal.proposed_by_id != disposal.approved_by_id
        assert_books_balance(loan_id)
        db.session.remove()
    assert audited == [("collateral.write_off_proposed", "fin1"), ("collateral.write_off_approved", "fin2")]


def test_a_checker_who_sends_the_write_off_back_asks_for_a_new_proposal(app, client, clock, world):
    op, loan_id = world["tokens"]["op1"], world["loan_id"]
    fin1, fin2 = world["tokens"]["fin1"], world["tokens"]["fin2"]
    price(client, op, "2300.00")
    deliver(app)
    deliver(app)
    _sell(client, op, "300000.00", "0")
    complete(client, fin1, "propose_write_off", write_off_reason="first try", confirmed=True)
    complete(client, fin2, "approve_write_off", decision="refuse", decision_reason="ask the guarantor first")
    assert loan(app, loan_id).status == "active"
    complete(client, fin1, "propose_write_off", write_off_reason="the guarantor paid nothing", confirmed=True)
    assert _try_approve(client, fin1).status_code == 403  # fin1 made this proposal
    complete(client, fin2, "approve_write_off", decision="approve", decision_reason="agreed")
    assert loan(app, loan_id).status == "written_off"
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("collateral.write_off%")).order_by(AuditEntry.id)))
        assert_books_balance(loan_id)
        db.session.remove()
    assert actions == ["collateral.write_off_proposed", "collateral.write_off_refused",
                       "collateral.write_off_proposed", "collateral.write_off_approved"]
