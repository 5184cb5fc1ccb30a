"""The products API on every backend: anyone signed in reads the products on offer with their
origination terms; the platform's admins and operators add and change them; bad terms are 422
naming the field, and nothing is written."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Product
from app.services.identity import directory as identity
from app.services.origination import products

API = "/api/v1"
USERS = {"applicant1": ("BORR1", "applicant"), "reviewer1": ("BANK1", "first_reviewer"),
         "signer1": ("CORE1", "core_signer"), "operator": ("PLATFORM", "operator"),
         "auditor": ("PLATFORM", "auditor")}
ORGS = {"BORR1": "borrower", "BANK1": "funder", "CORE1": "core_enterprise"}
PLEDGE = {
    "code": "PLEDGE1", "name": "Pledge financing", "kind": "pledge_financing", "annual_rate": "10.5",
    "min_amount": "50000", "max_amount": "3000000", "min_term": 1, "max_term": 12,
    "ltv": {"lend": "0.60", "warning": "0.70", "margin_call": "0.75", "liquidation": "0.85"},
    "documents": ["warehouse_receipt", "business_licence"],
}
ORDER = {
    "code": "ORDER1", "name": "Order financing", "kind": "order_financing", "annual_rate": "12",
    "min_amount": "10000", "max_amount": "5000000", "min_term": 1, "max_term": 12, "advance_ratio": "0.80",
    "documents": ["order", "invoice"],
}


@pytest.fixture
def headers(app, admin_token) -> dict[str, dict[str, str]]:
    with app.app_context():
        for code, kind in ORGS.items():
            identity.create_org(code, [kind], f"Organisation {code}")
        found = {"admin": {"Authorization": f"Bearer {admin_token}"}}
        for name, (org, role) in USERS.items():
            identity.create_user(name, org, [role])
            found[name] = {"Authorization": f"Bearer {identity.issue_token(name)}"}
        products.create_product(None, ORDER)
        db.session.commit()
        db.session.remove()
    return found


def call(client, headers, who: str, method: str, path: str, body: Any = None):
    return client.open(f"{API}{path}", method=method, headers=headers[who], json=body)


def product_count(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Product))
        db.session.remove()
    return int(n or 0)


@pytest.mark.parametrize("who", ["applicant1", "reviewer1", "signer1", "operator", "auditor", "admin"])
def test_anyone_signed_in_reads_the_products_on_offer(client, headers, who):
    listed = call(client, headers, who, "GET", "/products")
    assert listed.status_code == 200
    assert [p["code"] for p in listed.json] == ["ORDER1"]
    one = call(client, headers, who, "GET", "/products/ORDER1")
    assert one.status_code == 200 and one.json == listed.json[0]
    assert {k: one.json[k] for k in ("name", "kind", "currency", "active", "annual_rate", "min_amount", "max_amount",
                                     "min_term", "max_term", "advance_ratio", "ltv", "documents",
                                     "application_process")} == {
        "name": "Order financing", "kind": "order_financing", "currency": "CNY", "active": True,
        "annual_rate": "12", "min_amount": "10000.00", "max_amount": "5000000.00", "min_term": 1, "max_term": 12,
        "advance_ratio": "0.80", "ltv": None, "documents": ["order", "invoice"],
        "application_process": "order_financing"}
    assert {"amortization", "interest_method", "frequency"} <= set(one.json)


def test_a_signed_out_caller_is_401(client, headers):
    assert client.get(f"{API}/products").status_code == 401
    assert client.get(f"{API}/products/ORDER1").status_code == 401


def test_an_unknown_product_is_404(client, headers):
    r = call(client, headers, "applicant1", "GET", "/products/NOPE")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("who", ["admin", "operator"])
def test_the_platform_adds_a_product_and_borrowers_see_it(client, headers, who):
    r = call(client, headers, who, "POST", "/products", PLEDGE)
    assert r.status_code == 201, r.json
    assert (r.json["code"], r.json["kind"], r.json["ltv"], r.json["documents"]) == (
        "PLEDGE1", "pledge_financing", PLEDGE["ltv"], ["warehouse_receipt", "business_licence"])
    assert r.json["annual_rate"] == "10.5" and r.json["advance_ratio"] is None
    assert [p["code"] for p in call(client, headers, "applicant1", "GET", "/products").json] == ["ORDER1", "PLEDGE1"]
    again = call(client, headers, who, "POST", "/products", PLEDGE)
    assert again.status_code == 409


@pytest.mark.parametrize("who", ["applicant1", "reviewer1", "signer1", "auditor"])
def test_no_one_else_adds_or_changes_a_product(app, client, headers, who):
    assert call(client, headers, who, "POST", "/products", PLEDGE).status_code == 403
    assert call(client, headers, who, "PATCH", "/products/ORDER1", {"name": "Mine"}).status_code == 403
    assert product_count(app) == 1
    assert call(client, headers, "admin", "GET", "/products/ORDER1").json["name"] == "Order financing"


@pytest.mark.parametrize(("base", "change", "field"), [
    (PLEDGE, {"kind": "mortgage"}, "kind"),
    (ORDER, {"advance_ratio": "1.5"}, "advance_ratio"),
    (ORDER, {"advance_ratio": "0"}, "advance_ratio"),
    (PLEDGE, {"ltv": {"lend": "0.60"}}, "ltv.warning"),
    (PLEDGE, {"ltv": {"lend": "0.80", "warning": "0.70", "margin_call": "0.75", "liquidation": "0.85"}}, "ltv"),
    (PLEDGE, {"ltv": None}, "ltv"),
    (PLEDGE, {"documents": ["passport"]}, "documents.0"),
    (PLEDGE, {"annual_rate": "twelve"}, "annual_rate"),
    (PLEDGE, {"annual_rate": "99"}, "annual_rate"),  # above the legal cap
    (PLEDGE, {"min_amount": "-5"}, "min_amount"),
    (PLEDGE, {"min_amount": "5000000"}, "max_amount"),  # the minimum above the maximum
    (PLEDGE, {"max_term": "12"}, "max_term"),
    (PLEDGE, {"code": ""}, "code"),
    (PLEDGE, {"colour": "red"}, "colour"),
    (PLEDGE, {"early_repayment_fee_percent": "500"}, "early_repayment_fee_percent"),  # was made: every loan failed
    (PLEDGE, {"amortization": "whenever"}, "amortization"),
    (PLEDGE, {"penalty_rate_multiplier": "-1"}, "penalty_rate_multiplier"),
    (ORDER, {"order_grace_days": 400}, "order_grace_days"),
])
def test_wrong_terms_are_422_naming_the_field(app, client, headers, base, change, field):
    body = {**base, "code": "NEW1", **change}
    r = call(client, headers, "admin", "POST", "/products", {k: v for k, v in body.items() if v is not None})
    assert r.status_code == 422, r.json
    assert field in r.json["error"]["fields"], r.json
    assert product_count(app) == 1


def test_an_order_product_without_an_advance_ratio_is_422(app, client, headers):
    body = {k: v for k, v in ORDER.items() if k != "advance_ratio"} | {"code": "ORDER2"}
    r = call(client, headers, "operator", "POST", "/products", body)
    assert r.status_code == 422 and "advance_ratio" in r.json["error"]["fields"], r.json
    assert product_count(app) == 1


def test_a_refused_product_says_why_in_the_readers_language_with_the_lines_named_in_words(client, headers):
    falling = {**PLEDGE, "code": "NEW1", "ltv": {"lend": "0.80", "warning": "0.70", "margin_call": "0.75",
                                                 "liquidation": "0.85"}}
    english = client.post(f"{API}/products", headers={**headers["admin"], "Accept-Language": "en"}, json=falling)
    assert english.status_code == 422, english.json
    said = "The loan-to-value lines must increase: lending < warning < margin call < liquidation."
    assert english.json["error"]["message"] == said and english.json["error"]["fields"]["ltv"] == [said]
    chinese = client.post(f"{API}/products", headers={**headers["admin"], "Accept-Language": "zh"}, json=falling)
    said_zh = "质押率各条线须逐条递增：放款线 < 预警线 < 追加保证金线 < 平仓线。"
    assert chinese.status_code == 422 and chinese.json["error"]["message"] == said_zh, chinese.json
    assert chinese.json["error"]["fields"]["ltv"] == [said_zh]
    ratio = client.patch(f"{API}/products/ORDER1", headers={**headers["admin"], "Accept-Language": "zh"},
                         json={"advance_ratio": "0"})
    assert ratio.status_code == 422, ratio.json
    assert ratio.json["error"]["message"] == "融资比例必须大于 0 且不超过 1，最多 4 位小数。"
    assert ratio.json["error"]["fields"]["advance_ratio"] == ["比例须大于 0 且不超过 1，最多 4 位小数，如 0.80。"]
    missing = client.get(f"{API}/products/NOPE", headers={**headers["admin"], "Accept-Language": "en"})
    assert missing.status_code == 404 and missing.json["error"]["message"] == "There is no product NOPE."


def test_the_platform_changes_terms_and_withdraws_a_product_from_offer(client, headers):
    r = call(client, headers, "operator", "PATCH", "/products/ORDER1",
             {"name": "Order financing 2027", "advance_ratio": "0.70", "documents": ["order"]})
    assert r.status_code == 200, r.json
    assert (r.json["name"], r.json["advance_ratio"], r.json["documents"]) == ("Order financing 2027", "0.70", ["order"])
    assert call(client, headers, "applicant1", "GET", "/products/ORDER1").json["advance_ratio"] == "0.70"

    off = call(client, headers, "admin", "PATCH", "/products/ORDER1", {"active": False})
    assert off.status_code == 200 and off.json["active"] is False
    assert call(client, headers, "applicant1", "GET", "/products").json == []
    assert call(client, headers, "applicant1", "GET", "/products/ORDER1").status_code == 404
    assert call(client, headers, "admin", "GET", "/products/ORDER1").status_code == 200  # the platform still sees it


@pytest.mark.parametrize(("change", "field"), [
    ({"advance_ratio": "0"}, "advance_ratio"),
    ({"active": "no"}, "active"),
    ({"name": ""}, "name"),
    ({"annual_rate": "8"}, "annual_rate"),  # pricing is the ledger's: fixed
])
def test_a_wrong_change_is_422_and_changes_nothing(client, headers, change, field):
    r = call(client, headers, "admin", "PATCH", "/products/ORDER1", change)
    assert r.status_code == 422 and field in r.json["error"]["fields"], r.json
    assert call(client, headers, "admin", "GET", "/products/ORDER1").json["advance_ratio"] == "0.80"


def test_a_change_without_a_body_is_422(client, headers):
    r = client.patch(f"{API}/products/ORDER1", headers=headers["admin"])
    assert r.status_code == 422, r.json
    assert call(client, headers, "admin", "PATCH", "/products/ORDER1", {}).status_code == 422


def test_changing_an_unknown_product_is_404(client, headers):
    assert call(client, headers, "admin", "PATCH", "/products/NOPE", {"name": "x"}).status_code == 404
