"""Margin calls (`pledge_monitoring`) and releases in proportion to repayment (docs/collateral.md):
a price upload's margin-call crossing writes `ltv_margin_call` to the outbox under the loan's key,
which starts one instance per margin call; the borrower gets a deadline; the warehouse supervisor
confirms goods added (the LTV is recomputed; still above the line, the task comes back); at the
deadline an unanswered call hands the goods to disposal. Goods are released in proportion to the
principal repaid, at most the releasable quantity. Time moves with the clock, the timers with the
worker's pass, the days with the batch. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, Notification, OutboxMessage
from app.models.collateral import MarginCall, PledgeMovement
from app.services.ledger import repayments
from app.services.ledger.eod import run_eod
from tests.integration.ledger_support import assert_books_balance, business_day
from tests.integration.pledge_support import (
    API,
    KEY,
    NUMBER,
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
from tests.integration.test_identity import set_password, sign_in
from tests.integration.test_simulators import csrf_of


@pytest.fixture
def world(app, clock, runner, admin_token):
    return setup_world(app, clock, runner)


def _notices(app, template: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(select(Notification.recipient, Notification.body).where(
            Notification.template == template, Notification.channel == "in_app").order_by(Notification.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def _calls(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(select(MarginCall.kind, MarginCall.status).order_by(MarginCall.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def test_a_margin_call_answered_by_a_top_up(app, client, clock, world):
    op, wh = world["tokens"]["op1"], world["tokens"]["wh1"]
    price(client, op, "2650.00")  # 600,000 / (300 × 2,650) = 0.7548: margin call
    with app.app_context():
        [message] = db.session.execute(select(OutboxMessage.name, OutboxMessage.correlation_key,
                                              OutboxMessage.start_process, OutboxMessage.payload)).all()
        db.session.remove()
    assert message[:3] == ("ltv_margin_call", KEY, "pledge_monitoring")
    assert message[3]["parties"] == {"borrower": "BORR1", "funder": "BANK1", "warehouse": "WH1"}
    assert deliver(app) == 1
    [inst] = instances(client, op, "pledge_monitoring")
    assert (inst["business_key"], inst["status"]) == (KEY, "waiting")
    # the borrower is told the deadline: three days on, in China time
    [(to, body)] = _notices(app, "margin_call_deadline")
    assert to == "app1" and "2026-12-03 10:00" in body
    assert _calls(app) == [("margin_call", "open")]
    assert "confirm_top_up" not in tasks(client, world["tokens"]["app1"])  # the warehouse's task only

    clock.advance(days=1)
    complete(client, wh, "confirm_top_up", quantity_added="1")  # 301 t: 0.7522, still at the margin-call line
    assert pledge(app).quantity == Decimal("301") and _calls(app) == [("margin_call", "open")]
    complete(client, wh, "confirm_top_up", quantity_added="19", notes="WR-2 received")  # 320 t: 0.7076
    after = pledge(app)
    assert (after.quantity, after.ltv, after.zone) == (Decimal("320"), Decimal("0.7076"), "warning")
    assert _calls(app) == [("margin_call", "answered")]
    [inst] = instances(client, op, "pledge_monitoring")
    assert inst["status"] == "completed"

    clock.advance(days=3)
    assert wake(app) == []  # the deadline's timer went with the task
    with app.app_context():
        run_eod(date(2026, 12, 4))
        db.session.commit()
        movements = db.session.execute(select(PledgeMovement.kind, PledgeMovement.quantity, PledgeMovement.note)
                                       .order_by(PledgeMovement.id)).all()
        audited = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action == "collateral.top_up")))
        db.session.remove()
    assert [tuple(m) for m in movements] == [("top_up", Decimal("1"), None), ("top_up", Decimal("19"), None)]
    assert len(audited) == 2
    assert deliver(app) == 0 and instances(client, op, "collateral_disposal") == []
    assert loan(app, world["loan_id"]).status == "active"
    with app.app_context():
        assert_books_balance(world["loan_id"])

    listed = client.get(f"{API}/collateral/pledges", headers=bearer(world["tokens"]["app1"])).get_json()["items"]
    assert [m["kind"] for m in listed[0]["history"]] == ["top_up", "top_up"]
    assert [(c["kind"], c["status"]) for c in listed[0]["margin_calls"]] == [("margin_call", "answered")]


def test_a_margin_call_not_answered_by_its_deadline_asks_for_disposal(app, client, clock, world):
    op = world["tokens"]["op1"]
    price(client, op, "2650.00")
    deliver(app)
    clock.advance(days=3, seconds=-1)
    assert wake(app) == []
    clock.advance(seconds=1)
    [woken] = wake(app)
    [inst] = instances(client, op, "pledge_monitoring")
    assert inst["id"] == woken and inst["status"] == "completed"
    assert "confirm_top_up" not in tasks(client, world["tokens"]["wh1"])
    assert _calls(app) == [("margin_call", "disposal")]
    with app.app_context():
        [request] = db.session.execute(select(OutboxMessage.correlation_key, OutboxMessage.start_process,
                                              OutboxMessage.payload).where(OutboxMessage.name == "disposal_requested")
                                       ).all()
        db.session.remove()
    assert request[:2] == (KEY, "collateral_disposal")
    assert request[2]["reason"] == "margin_call_expired" and request[2]["loan_id"] == world["loan_id"]
    assert request[2]["parties"]["warehouse"] == "WH1"
    deliver(app)
    [disposal] = instances(client, op, "collateral_disposal")
    assert disposal["business_key"] == KEY and "appraise" in tasks(client, op)
    assert pledge(app).status == "disposing"
    price(client, op, "2000.00")  # goods being disposed of are no longer valued: no new crossing
    assert deliver(app) == 0
    assert loan(app, world["loan_id"]).status == "active"  # until the sale
    with app.app_context():
        assert_books_balance(world["loan_id"])


def test_a_repayment_answers_the_margin_call_at_the_deadline(app, client, clock, world):
    op = world["tokens"]["op1"]
    price(client, op, "2650.00")
    deliver(app)
    business_day(clock, date(2026, 12, 2))
    with app.app_context():
        repayments.take_payment(repayments.PaymentNotice(world["loan_id"], "prepay-1", Decimal("60000.00")))
        db.session.commit()
        db.session.remove()
    clock.advance(days=1)
    wake(app)
    assert _calls(app) == [("margin_call", "answered")]
    [inst] = instances(client, op, "pledge_monitoring")
    assert inst["status"] == "completed"
    assert instances(client, op, "collateral_disposal") == [] and pledge(app).status == "active"
    with app.app_context():
        assert_books_balance(world["loan_id"])


def test_goods_are_released_in_proportion_to_the_principal_repaid(app, client, clock, world):
    op, wh = world["tokens"]["op1"], world["tokens"]["wh1"]
    price(client, op, "4200.00")
    pledge_id = pledge(app).id
    url = f"{API}/collateral/pledges/{pledge_id}/releases"
    nothing_yet = client.post(url, json={"quantity": "1"}, headers=bearer(wh))
    assert nothing_yet.status_code == 422 and "quantity" in nothing_yet.get_json()["error"]["fields"]

    business_day(clock, date(2026, 12, 10))
    with app.app_context():
        run_eod(date(2026, 12, 10))
        payment = repayments.take_payment(repayments.PaymentNotice(world["loan_id"], "prepay-1",
                                                                   Decimal("200000.00"))).payment
        db.session.commit()
        repaid = Decimal(payment.allocation["principal"]) + Decimal(payment.allocation["prepaid_principal"])
        db.session.remove()
    releasable = (Decimal(300) * repaid / Decimal("600000.00")).quantize(Decimal("0.0001"), rounding="ROUND_DOWN")
    listed = client.get(f"{API}/collateral/pledges", headers=bearer(wh)).get_json()["items"]
    assert (listed[0]["releasable"], listed[0]["may_release"]) == (f"{releasable.normalize():f}", True)
    set_password(app, "wh1", "Quiet-river-stones-88")
    page = app.test_client()
    assert sign_in(page, "wh1", "Quiet-river-stones-88").status_code == 302
    shown = page.get("/collateral", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Release goods" in shown and "Nothing can be released yet" not in shown

    too_much = client.post(url, json={"quantity": str(releasable + Decimal("0.0001"))}, headers=bearer(wh, "zh"))
    assert too_much.status_code == 422, too_much.get_json()
    assert "quantity" in too_much.get_json()["error"]["fields"] and "最多" in too_much.get_json()["error"]["message"]
    assert client.post(url, json={"quantity": "1"}, headers=bearer(world["tokens"]["app1"])).status_code == 403
    assert client.post(url, json={"quantity": "1"}, headers=bearer(world["tokens"]["signer1"])).status_code == 404

    for odd in ("1e1", "+5", " 5 5", "0x10"):  # a quantity is written in digits: "1e1" released 10 t
        written = client.post(url, json={"quantity": odd}, headers=bearer(wh))
        assert written.status_code == 422 and list(written.get_json()["error"]["fields"]) == ["quantity"], odd
    assert pledge(app).released == 0

    half = (releasable / 2).quantize(Decimal("0.0001"))
    r = client.post(url, json={"quantity": str(half), "note": "lot A"}, headers=bearer(wh))
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["kind"], r.get_json()["quantity"]) == ("release", f"{half.normalize():f}")
    again = client.post(url, json={"quantity": str(releasable - half + Decimal("0.0001"))}, headers=bearer(wh))
    assert again.status_code == 422  # what was released counts
    assert client.post(url, json={"quantity": str(releasable - half)}, headers=bearer(wh)).status_code == 201
    after = pledge(app)
    assert (after.quantity, after.released) == (Decimal(300) - releasable, releasable)
    assert [to for to, _ in _notices(app, "pledge_released")] == ["app1", "app1"]
    history = client.get(f"{API}/collateral/pledges", headers=bearer(world["tokens"]["fin1"])).get_json()["items"][0]
    assert [(m["kind"], m["note"]) for m in history["history"]] == [("release", "lot A"), ("release", None)]
    assert history["releasable"] == "0" and history["may_release"] is False
    with app.app_context():
        assert_books_balance(world["loan_id"])
    assert loan(app, world["loan_id"]).status == "active"


def test_the_page_shows_margin_calls_and_releases_goods_in_both_languages(app, client, clock, world):
    op = world["tokens"]["op1"]
    price(client, op, "2650.00")
    deliver(app)
    set_password(app, "wh1", "Quiet-river-stones-88")  # not the default: it shares a word with Harbour Warehousing
    page = app.test_client()
    assert sign_in(page, "wh1", "Quiet-river-stones-88").status_code == 302
    zh = page.get("/collateral", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "追加担保" in zh and "等待补充质押或还款" in zh and NUMBER in zh
    assert 'id="prices"' not in zh  # the upload and the prices are the operators'
    en = page.get("/collateral", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Open: waiting for a top-up or repayment" in en
    # nothing repaid, nothing to release: the page says so instead of a form every use of which is refused
    assert "Release goods" not in en and "Nothing can be released yet" in en
    assert "尚无可解除的货物" in zh and "暂无处置记录" in zh and "暂无质押变动记录" in zh
    refused = page.post(f"/collateral/pledges/{pledge(app).id}/releases",
                        data={"quantity": "5", "csrf_token": csrf_of(en)}, headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and "At most 0 t can be released" in refused.get_data(as_text=True)
    assert page.post("/collateral/prices", data={"csrf_token": csrf_of(en)}).status_code == 403
    task = tasks(client, world["tokens"]["wh1"])["confirm_top_up"]
    form = page.get(f"/tasks/{task['id']}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "确认补充质押货物" in form and "补充数量" in form and "截止时间（北京时间）" in form and "2026-12-03 10:00" in form
    assert pledge(app).released == 0
    clock.advance(days=3)
    wake(app)
    deliver(app)
    page = app.test_client()  # the session ended with the days
    assert sign_in(page, "wh1", "Quiet-river-stones-88").status_code == 302
    en = page.get("/collateral", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Handed to disposal" in en and "Being disposed of" in en and "Release goods" not in en
    assert loan(app, world["loan_id"]).status == "active"
    with app.app_context():
        assert_books_balance(world["loan_id"])


def test_the_liquidation_line_crossed_during_a_margin_call_asks_for_disposal_at_once(app, client, clock, world):
    op = world["tokens"]["op1"]
    price(client, op, "2650.00")
    deliver(app)
    clock.advance(days=1)
    price(client, op, "2300.00")  # 0.8696: the message goes to the open instance, not a second one
    assert deliver(app) == 1
    [inst] = instances(client, op, "pledge_monitoring")
    assert inst["status"] == "completed"
    assert "confirm_top_up" not in tasks(client, world["tokens"]["wh1"])
    assert _calls(app) == [("liquidation", "disposal")]
    with app.app_context():
        reasons = [p["reason"] for p in db.session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.name == "disposal_requested"))]
        db.session.remove()
    assert reasons == ["liquidation"]
    deliver(app)
    assert [i["status"] for i in instances(client, op, "collateral_disposal")] == ["waiting"]
    clock.advance(days=3)
    assert wake(app) == []  # the deadline's timer is gone with the task
    with app.app_context():
        assert_books_balance(world["loan_id"])


def test_the_top_up_task_shows_the_ltv_as_a_percentage_and_says_what_a_quantity_is(app, client, clock, world):
    """The warehouse's task reads the LTV at the margin call as the collateral page does (75.48%, not 0.7548),
    and a quantity that is not a number is refused with what to type, in the reader's language (not "wrong format")."""
    price(client, world["tokens"]["op1"], "2650.00")  # 600,000 / (300 × 2,650) = 0.7548
    deliver(app)
    set_password(app, "wh1", "Quiet-river-stones-88")
    task = tasks(client, world["tokens"]["wh1"])["confirm_top_up"]
    zh_page = app.test_client()
    assert sign_in(zh_page, "wh1", "Quiet-river-stones-88").status_code == 302
    form = zh_page.get(f"/tasks/{task['id']}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "75.48%" in form and "0.7548" not in form
    refused = zh_page.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_of(form), "quantity_added": "-5"},
                           headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 422
    said = refused.get_data(as_text=True)
    assert "请填写数字，例如 20 或 20.5（最多 4 位小数）" in said and "格式不正确" not in said
    en_page = app.test_client()
    assert sign_in(en_page, "wh1", "Quiet-river-stones-88").status_code == 302
    en_form = en_page.get(f"/tasks/{task['id']}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "75.48%" in en_form
    en = en_page.post(f"/tasks/{task['id']}", data={"csrf_token": csrf_of(en_form), "quantity_added": "abc"},
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Enter a number, such as 20 or 20.5 (at most 4 decimals)" in en
    assert pledge(app).quantity == Decimal("300")
