"""Pledge monitoring, prices and LTV (docs/collateral.md): prices of pledged goods arrive as JSON or a
CSV file (platform operators and admins only); every pledge of the goods is valued at its latest
price (LTV = outstanding principal / (quantity × price), rounded up to 4 places); a crossing into
warning, margin call or liquidation is told to the borrower and the funder's finance once, and a
margin call or liquidation is written to the outbox under the loan's key, to start its
pledge_monitoring (test_margin_calls.py follows it). A bad row refuses the
whole upload (422 naming the row and field) and changes nothing. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.lending.ltv import ZONES, entered, loan_to_value, zone_of
from app.models import Application, Notification, Organisation, OutboxMessage, Product
from app.models.collateral import CommodityPrice, Pledge, PledgeEvent, PledgeValuation
from app.services.identity import directory as identity
from app.services.ledger import loans
from tests.integration.ledger_support import business_day
from tests.integration.origination_support import USERS, seed_parties
from tests.integration.test_identity import set_password
from tests.integration.test_simulators import csrf_of, signed_in

API = "/api/v1/collateral"
NUMBER = "APP-2026-0001"
LINES = {"warning": Decimal("0.70"), "margin_call": Decimal("0.75"), "liquidation": Decimal("0.85")}


def _active_pledge(number: str, principal: str, goods: str = "Steel coil", quantity: str = "300",
                   unit: str = "t") -> None:
    """An active pledge-financing deal of BORR1 to BANK1 with its loan booked (as disbursement leaves it)."""
    product = db.session.scalar(select(Product).where(Product.code == "PLEDGE-FIN"))
    org = {o.code: o.id for o in db.session.scalars(select(Organisation))}
    db.session.add(Application(
        number=number, product_id=product.id, borrower_org_id=org["BORR1"], funder_org_id=org["BANK1"],
        amount=Decimal(principal), term_months=6, purpose="Raw materials", status="active", stage="loan",
        approved_amount=Decimal(principal),
        details={"warehouse": "WH1", "receipt_number": "WR-1", "goods": goods, "quantity": quantity, "unit": unit,
                 "unit_price": "4200.00"}))
    loans.book_loan(loans.LoanRequest("PLEDGE-FIN", f"LOAN-{number}", org["BORR1"], Decimal(principal), 6,
                                      date(2026, 11, 30), funder_org_id=org["BANK1"]))
    db.session.commit()


@pytest.fixture
def platform(app, client, clock, admin_token):
    business_day(clock, date(2026, 11, 30))
    with app.app_context():
        seed_parties()
        identity.create_user("fin1", "BANK1", ["finance"])
        _active_pledge(NUMBER, "600000.00")  # 300 t: LTV = 2000 / price
        tokens = {name: identity.issue_token(name) for name in [u[0] for u in USERS] + ["fin1"]}
        db.session.commit()
        db.session.remove()
    return tokens


def _post(client, token: str, body: Any = None, expect: int = 201, language: str = "en", **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": language}
    r = client.post(f"{API}/prices", headers=headers, json=body, **kwargs) if body is not None else \
        client.post(f"{API}/prices", headers=headers, **kwargs)
    assert r.status_code == expect, r.get_data(as_text=True)
    return r.get_json()


def _price(client, token: str, price: str, as_of: str = "2026-11-30", goods: str = "Steel coil") -> dict:
    return _post(client, token, {"prices": [{"goods": goods, "unit": "t", "price": price, "as_of": as_of}]})


def _csv(client, token: str, text: str, expect: int = 201, language: str = "en") -> Any:
    return _post(client, token, expect=expect, language=language,
                 data={"file": (BytesIO(text.encode("utf-8")), "prices.csv")}, content_type="multipart/form-data")


def _ltv_notices(app) -> list[tuple[str, str]]:
    """(template, user name) of every in-app notice about an LTV crossing, in order."""
    with app.app_context():
        rows = db.session.execute(select(Notification.template, Notification.recipient)
                                  .where(Notification.template.like("ltv_%"), Notification.channel == "in_app")
                                  .order_by(Notification.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def _pledge(app) -> Pledge:
    with app.app_context():
        row = db.session.scalar(select(Pledge))
        db.session.expunge_all()
        db.session.remove()
    return row


def _count(app, model) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return int(n or 0)


def test_prices_by_json_value_the_pledge_and_each_crossing_is_told_once(app, client, platform):
    op = platform["op1"]
    answer = _price(client, op, "4200.00")
    assert (answer["accepted"], answer["revalued"], answer["crossings"]) == (1, 1, [])
    pledge = _pledge(app)
    # 600,000.00 / (300 × 4,200.00) = 0.476190…, rounded up
    assert (pledge.ltv, pledge.zone, pledge.value, pledge.principal) == \
           (Decimal("0.4762"), "normal", Decimal("1260000.00"), Decimal("600000.00"))
    assert _ltv_notices(app) == []

    answer = _price(client, op, "2800.00")  # 0.714285… → warning
    assert answer["crossings"] == [{"application": NUMBER, "zone": "warning", "ltv": "0.7143"}]
    assert sorted(_ltv_notices(app)) == [("ltv_warning", "app1"), ("ltv_warning", "fin1")]
    with app.app_context():
        body = db.session.scalar(select(Notification.body).where(Notification.template == "ltv_warning",
                                                                 Notification.recipient == "app1"))
        db.session.remove()
    assert body == ("按 Steel coil 每t ¥2,800.00（2026年11月30日）计，申请 APP-2026-0001 的质押物价值 ¥840,000.00，"
                    "贷款未还本金 ¥600,000.00，质押率 71.43%，已达预警线 70.00%。")

    _price(client, op, "2790.00")  # still warning: told nothing new
    assert len(_ltv_notices(app)) == 2
    assert _pledge(app).ltv == Decimal("0.7169")

    answer = _price(client, op, "2650.00")  # 0.754716… → margin call
    assert answer["crossings"] == [{"application": NUMBER, "zone": "margin_call", "ltv": "0.7548"}]
    assert sorted(_ltv_notices(app)[2:]) == [("ltv_margin_call", "app1"), ("ltv_margin_call", "fin1")]
    _price(client, op, "2600.00")  # deeper in margin call
    assert len(_ltv_notices(app)) == 4

    answer = _price(client, op, "2300.00")  # 0.869565… → liquidation
    assert answer["crossings"][0]["zone"] == "liquidation"
    assert sorted(_ltv_notices(app)[4:]) == [("ltv_liquidation", "app1"), ("ltv_liquidation", "fin1")]

    with app.app_context():  # in the outbox under the loan's key, each starting its pledge_monitoring
        messages = db.session.execute(select(OutboxMessage.name, OutboxMessage.correlation_key, OutboxMessage.payload)
                                      .where(OutboxMessage.start_process == "pledge_monitoring")
                                      .order_by(OutboxMessage.id)).all()
        events = db.session.execute(select(PledgeEvent.kind, PledgeEvent.signalled_at.is_not(None))
                                    .order_by(PledgeEvent.id)).all()
        history = list(db.session.scalars(select(PledgeValuation.ltv).order_by(PledgeValuation.id)))
        db.session.remove()
    assert [(m.name, m.correlation_key, m.payload["zone"]) for m in messages] == \
           [("ltv_margin_call", f"LOAN-{NUMBER}", "margin_call"), ("ltv_liquidation", f"LOAN-{NUMBER}", "liquidation")]
    assert messages[0].payload["parties"] == {"borrower": "BORR1", "funder": "BANK1", "warehouse": "WH1"}
    assert [tuple(e) for e in events] == [("warning", False), ("margin_call", True), ("liquidation", True)]
    assert history == [Decimal(x) for x in ("0.4762", "0.7143", "0.7169", "0.7548", "0.7693", "0.8696")]


def test_leaving_a_zone_and_crossing_back_is_told_again_and_an_older_price_changes_nothing(app, client, platform):
    op = platform["op1"]
    _price(client, op, "2800.00")
    _price(client, op, "4000.00")  # back below the warning line: no notice for getting better
    assert _pledge(app).zone == "normal" and len(_ltv_notices(app)) == 2
    _price(client, op, "1000.00", as_of="2026-11-01")  # older than the latest: kept, the LTV stays
    assert (_pledge(app).ltv, _count(app, CommodityPrice)) == (Decimal("0.5000"), 3)
    _price(client, op, "2850.00")  # 0.701754… → warning again
    assert [t for t, _ in _ltv_notices(app)] == ["ltv_warning"] * 4


def test_a_csv_upload_values_pledges_of_its_goods_only(app, client, platform):
    with app.app_context():
        _active_pledge("APP-2026-0002", "100000.00", goods="Copper  cathode", quantity="20", unit="T")
        db.session.remove()
    answer = _csv(client, platform["op1"], "goods,unit,price,as_of\r\nsteel coil,t,2800.00,2026-11-29\r\n"
                                           "\r\nCopper cathode,t,\"8,000.50\",2026-11-30\r\n")
    assert (answer["accepted"], answer["revalued"]) == (2, 2)
    assert answer["prices"][1] == {"goods": "Copper cathode", "unit": "t", "price": "8000.50",
                                   "as_of": "2026-11-30", "source": "csv:prices.csv"}
    with app.app_context():
        ltv = dict(db.session.execute(select(Application.number, Pledge.ltv)
                                      .join(Application, Application.id == Pledge.application_id)).all())
        db.session.remove()
    # 100,000.00 / (20 × 8,000.50) = 0.624960…, rounded up
    assert ltv == {NUMBER: Decimal("0.7143"), "APP-2026-0002": Decimal("0.6250")}
    listed = client.get(f"{API}/pledges", headers={"Authorization": f"Bearer {platform['fin1']}"}).get_json()
    assert [(p["application"], p["zone"], p["ltv"]) for p in listed["items"]] == \
           [(NUMBER, "warning", "0.7143"), ("APP-2026-0002", "normal", "0.6250")]
    assert listed["items"][0]["lines"]["margin_call"] == "0.7500"


@pytest.mark.parametrize("body, field", [
    ({"prices": [{"goods": "Steel coil", "unit": "t", "price": "2800.00", "as_of": "2026-11-30"},
                 {"goods": "Steel coil", "unit": "t", "price": "-1", "as_of": "2026-11-30"}]}, "prices.1.price"),
    ({"prices": [{"goods": "Steel coil", "unit": "t", "price": "2800.001", "as_of": "2026-11-30"}]}, "prices.0.price"),
    ({"prices": [{"goods": "Steel coil", "unit": "t", "price": "2800", "as_of": "2026-12-01"}]}, "prices.0.as_of"),
    ({"prices": [{"goods": "", "unit": "t", "price": "2800", "as_of": "2026-11-30"}]}, "prices.0.goods"),
    ({"prices": [{"goods": "Steel coil", "price": "2800", "as_of": "2026-11-30"}]}, "prices.0.unit"),
    ({"prices": [{"goods": "Steel coil", "unit": "t", "price": "2800", "as_of": "2026-11-30", "x": 1}]},
     "prices.0.x"),
    ({"prices": []}, "prices"),
    ({"price": []}, "prices"),
])
def test_a_bad_json_row_is_422_naming_it_and_nothing_is_stored(app, client, platform, body, field):
    answer = _post(client, platform["op1"], body, expect=422)
    assert field in answer["error"]["fields"], answer
    assert (_count(app, CommodityPrice), _count(app, PledgeValuation), _ltv_notices(app)) == (0, 0, [])


def test_a_bad_csv_line_is_422_in_the_readers_language_and_nothing_is_stored(app, client, platform):
    text = "goods,unit,price,as_of\nSteel coil,t,2800.00,2026-11-30\nSteel coil,t,cheap,2026-11-30\n"
    answer = _csv(client, platform["op1"], text, expect=422)
    assert answer["error"]["fields"]["line 3.price"] == [  # what was given, then what it must be
        "Line 3: The price 'cheap' is not valid. A price above zero and below 10,000,000,000 with at most two "
        "decimals, such as 4200.00."]
    chinese = _csv(client, platform["op1"], text, expect=422, language="zh")
    assert chinese["error"]["fields"]["line 3.price"][0].startswith("第 3 行：价格 'cheap' 无效。")
    missing = _csv(client, platform["op1"], "goods,unit,price,as_of\n,t,2800.00,2026-11-30\n", expect=422)
    assert missing["error"]["fields"]["line 2.goods"] == ["Line 2: The goods' name is missing. The goods' name: 1 to 200 "
                                                          "characters."]
    assert "价格" in chinese["error"]["message"] or "未保存" in chinese["error"]["message"]
    wrong_header = _csv(client, platform["op1"], "name,unit,price,as_of\nSteel coil,t,1,2026-11-30\n", expect=422)
    assert "line 1" in wrong_header["error"]["fields"]
    assert (_count(app, CommodityPrice), _count(app, Pledge), _ltv_notices(app)) == (0, 0, [])


@pytest.mark.parametrize("user", ["app1", "fin1", "rev1", "wh1"])
def test_only_platform_operators_record_prices(app, client, platform, user):
    body = {"prices": [{"goods": "Steel coil", "unit": "t", "price": "2800.00", "as_of": "2026-11-30"}]}
    _post(client, platform[user], body, expect=403)
    assert _count(app, CommodityPrice) == 0


def test_a_party_lists_only_its_own_pledges(app, client, platform):
    _price(client, platform["op1"], "4200.00")
    for user, seen in (("app1", [NUMBER]), ("fin1", [NUMBER]), ("app2", []), ("op1", [NUMBER]), ("wh1", [NUMBER])):
        items = client.get(f"{API}/pledges", headers={"Authorization": f"Bearer {platform[user]}"}).get_json()["items"]
        assert [p["application"] for p in items] == seen, user  # the warehouse holding the goods reads its pledges
    for user in ("rev1", "signer1"):
        refused = client.get(f"{API}/pledges", headers={"Authorization": f"Bearer {platform[user]}",
                                                        "Accept-Language": "zh"})
        assert refused.status_code == 403 and "质押" in refused.get_json()["error"]["message"], user


def test_the_operators_page_uploads_a_csv_and_shows_zones_in_words(app, client, platform):
    set_password(app, "op1")
    browser = signed_in(app, "op1")
    page = browser.get("/collateral", headers={"Accept-Language": "zh"})
    assert page.status_code == 200 and "质押货物" in page.text
    # the example line is a Chinese one on a Chinese page (the column names stay: the file must have them)
    assert "goods,unit,price,as_of" in page.text and "热轧卷板 Q235,吨,4200.00,2026-11-27" in page.text
    assert "Steel coil,t" not in page.text
    upload = browser.post("/collateral/prices", headers={"Accept-Language": "en"}, content_type="multipart/form-data",
                          data={"csrf_token": csrf_of(page.text),
                                "file": (BytesIO(b"goods,unit,price,as_of\nSteel coil,t,2650,2026-11-30\n"), "p.csv")})
    assert upload.status_code == 200 and 'id="upload-result"' in upload.text
    assert "Margin call" in upload.text and "margin_call" not in upload.text.replace('data-zone="margin_call"', "")
    bad = browser.post("/collateral/prices", content_type="multipart/form-data", headers={"Accept-Language": "zh"},
                       data={"csrf_token": csrf_of(page.text),
                             "file": (BytesIO(b"goods,unit,price,as_of\nSteel coil,t,0,2026-11-30\n"), "p.csv")})
    assert bad.status_code == 422 and "第 2 行" in bad.text
    header = browser.post("/collateral/prices", content_type="multipart/form-data", headers={"Accept-Language": "zh"},
                          data={"csrf_token": csrf_of(page.text),
                                "file": (BytesIO(b"name,unit,price,as_of\nSteel coil,t,1,2026-11-30\n"), "p.csv")})
    assert header.status_code == 422 and header.text.count("第一行须为列名") == 1  # said once, not twice
    chinese = browser.get("/collateral", headers={"Accept-Language": "zh"}).text
    assert "追加担保" in chinese and "75.00%" in chinese
    assert not [w for w in ("Margin call", "Loan-to-value", "Pledges", "Upload prices") if w in chinese]
    set_password(app, "app1")  # the borrower reads its pledges there, without the upload or the prices
    borrower = signed_in(app, "app1").get("/collateral", headers={"Accept-Language": "en"})
    assert borrower.status_code == 200 and NUMBER in borrower.text and "Upload prices" not in borrower.text
    set_password(app, "rev1")
    refused = signed_in(app, "rev1").get("/collateral", headers={"Accept-Language": "zh"})
    assert refused.status_code == 403  # and says who reads pledged goods, the warehouse among them
    assert "质押货物仅供平台人员、交易的借款方、资金方财务及监管仓库查看。" in refused.text


# -- the arithmetic, as a property ---------------------------------------------------------------

amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000000"), places=2)
quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000000"), places=4)
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)


@given(amounts, quantities, prices)
def test_the_ltv_is_the_ratio_rounded_up_to_four_places(principal, quantity, price):
    ltv = loan_to_value(principal, quantity, price)
    exact = principal / (quantity * price)
    assert ltv == ltv.quantize(Decimal("0.0001"))
    assert exact <= ltv < exact + Decimal("0.0001")


@given(st.decimals(min_value=Decimal("0"), max_value=Decimal("2"), places=4),
       st.sampled_from(ZONES))
def test_the_zone_is_the_highest_line_reached_and_only_a_worse_zone_is_entered(ltv, before):
    zone = zone_of(ltv, LINES)
    reached = [name for name, line in LINES.items() if ltv >= line]
    assert zone == (reached[-1] if reached else "normal")
    crossed = entered(before, zone)
    assert crossed == (zone if ZONES.index(zone) > ZONES.index(before) else None)
    assert entered(zone, zone) is None


def test_extreme_prices_are_stored_and_valued_exactly(app, client, platform):
    """The largest price accepted and the smallest give a value and an LTV both databases keep."""
    _price(client, platform["op1"], "9999999999.99")
    pledge = _pledge(app)
    assert (pledge.value, pledge.ltv, pledge.zone) == (Decimal("2999999999997.00"), Decimal("0.0001"), "normal")
    _price(client, platform["op1"], "0.01")
    pledge = _pledge(app)
    assert (pledge.value, pledge.ltv, pledge.zone) == (Decimal("3.00"), Decimal("200000.0000"), "liquidation")
    _post(client, platform["op1"], {"prices": [{"goods": "Steel coil", "unit": "t", "price": "10000000000",
                                                 "as_of": "2026-11-30"}]}, expect=422)


def test_uploads_at_once_tell_a_crossing_once(app, client, served, platform):
    """Four uploads of a warning price reach the server together: one crossing is recorded and told
    (the pledges are locked while valued, so each upload sees the zone the one before left)."""
    from tests.integration.test_money_races import race_posts

    _price(client, platform["op1"], "4200.00")  # the pledge exists, below the warning line
    body = json.dumps({"prices": [{"goods": "Steel coil", "unit": "t", "price": "2800.00",
                                   "as_of": "2026-11-30"}]}).encode()
    headers = {"Authorization": f"Bearer {platform['op1']}", "Content-Type": "application/json"}
    answers = race_posts(served, [(f"{API}/prices", headers, body)] * 4)
    assert [status for status, _ in answers].count(201) >= 1 and {s for s, _ in answers} <= {201, 409}, answers
    assert (_count(app, Pledge), _count(app, PledgeEvent)) == (1, 1)
    assert sorted(_ltv_notices(app)) == [("ltv_warning", "app1"), ("ltv_warning", "fin1")]
