"""The services' refusals are said in the reader's language: the API's `message` and `fields` in English for
`Accept-Language: en` — exactly the English API clients and the other tests compare — and in Simplified
Chinese for `Accept-Language: zh-CN`, with the data (amounts, codes, dates) as they are and none of the English
sentence's words left. What the API does not reach (waivers, the chart of accounts, the end-of-day batch) is
raised in a request that chose its language the API's way, and said by the command line in its language."""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from app.services.errors import ServiceError
from app.services.ledger import adjustments, eod, loans, posting
from tests.integration.ledger_support import business_day, two_loans

API = "/api/v1"
START = date(2026, 1, 10)  # 12,000 at 12 % over 12 months: bills of 1,066.19 on the 10th
ORGS = {"BORR1": "borrower", "BORR2": "borrower", "BANK1": "funder", "BANK2": "funder"}
USERS = {"applicant1": ("BORR1", "applicant"), "finance1": ("BANK1", "finance")}
REASON = {"reason": "no such transfer arrived"}
LANGUAGES = {"en": "en", "zh": "zh-CN"}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def no_english(chinese: str, english: str, *data: str) -> None:
    """None of the English sentence's words is left in its Chinese, but the data it carries (`data`)."""
    words = {w for w in re.findall(r"[A-Za-z_]+", english) if w not in data}
    left = sorted(w for w in words if re.search(rf"(?<![A-Za-z_]){re.escape(w)}(?![A-Za-z_])", chinese))
    assert not left, f"{left} in {chinese!r}"
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese


def said(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.json)
    return response.json["error"]


class World:
    """Two loans of 12,000.00 from 10 January 2026 (LOAN-1 of BORR1 funded by BANK1, LOAN-2), their
    borrower's applicant and their funder's finance, and the platform admin."""

    def __init__(self, client, headers: dict[str, dict[str, str]], loan1: int, loan2: int) -> None:
        self.client, self.headers, self.loan1, self.loan2 = client, headers, loan1, loan2

    def call(self, method: str, who: str, path: str, language: str, **kwargs: Any):
        headers = {**self.headers[who], "Accept-Language": LANGUAGES[language]}
        return getattr(self.client, method)(f"{API}{path}", headers=headers, **kwargs)

    def both(self, method: str, who: str, path: str, status: int, **kwargs: Any) -> tuple[dict, dict]:
        """The same refused request in English, then in Chinese: its two errors."""
        return (said(self.call(method, who, path, "en", **kwargs), status),
                said(self.call(method, who, path, "zh", **kwargs), status))

    def pay(self, amount: str = "1066.19", key: str = "voucher-1", **more: Any) -> dict:
        response = self.call("post", "applicant1", f"/loans/{self.loan1}/payments", "en",
                             json={"amount": amount, "idempotency_key": key, **more})
        assert response.status_code in (200, 201), response.json
        return response.json


@pytest.fixture
def world(app, client, clock, admin_token) -> World:
    business_day(clock, START)
    with app.app_context():
        headers, ids = two_loans(ORGS, USERS, START)
        headers["admin"] = {"Authorization": f"Bearer {admin_token}"}
        db.session.remove()
    return World(client, headers, *ids)


# -- the ledger's repayments and loans, through the API ------------------------------------------

def test_a_decided_payment_is_said_booked_or_rejected_in_the_readers_language(world):
    booked = world.pay(key="booked")
    confirm = f"/loans/{world.loan1}/payments/{booked['id']}/confirm"
    assert world.call("post", "finance1", confirm, "en").status_code == 200
    en, zh = world.both("post", "finance1", confirm, 409)
    assert (en["message"], zh["message"]) == ("the payment is booked", "该笔还款已入账")
    assert en["code"] == zh["code"] == "conflict"
    no_english(zh["message"], en["message"])

    rejected = world.pay("100.00", key="rejected")
    reject = f"/loans/{world.loan1}/payments/{rejected['id']}/reject"
    assert world.call("post", "finance1", reject, "en", json=REASON).status_code == 200
    en, zh = world.both("post", "finance1", reject, 409, json=REASON)
    assert (en["message"], zh["message"]) == ("the payment is rejected", "该笔还款已被拒绝")
    no_english(zh["message"], en["message"])


def test_a_payment_of_a_loan_written_off_is_said_so(app, world):
    late = world.pay("100.00", key="late")
    with app.app_context():
        adjustments.write_off(world.loan1)
        db.session.commit()
        db.session.remove()
    en, zh = world.both("post", "finance1", f"/loans/{world.loan1}/payments/{late['id']}/confirm", 409)
    assert (en["message"], zh["message"]) == ("the loan is written_off", "该贷款已核销")
    no_english(zh["message"], en["message"])


def test_a_key_used_for_another_payment_is_a_conflict_in_both_languages(world):
    world.pay(key="twice")
    path, body = f"/loans/{world.loan1}/payments", {"amount": "500.00", "idempotency_key": "twice"}
    en, zh = world.both("post", "applicant1", path, 409, json=body)
    assert en["message"] == "this idempotency key was used for another payment"
    assert zh["message"] == "该幂等键已用于另一笔还款"
    no_english(zh["message"], en["message"])


def test_what_is_not_there_is_said_in_both_languages(world):
    en, zh = world.both("get", "admin", "/loans/999999", 404)
    assert (en["message"], zh["message"]) == ("loan not found", "没有此贷款，或您无权查看")
    no_english(zh["message"], en["message"])

    en, zh = world.both("post", "finance1", f"/loans/{world.loan1}/payments/999999/confirm", 404)
    assert (en["message"], zh["message"]) == ("payment not found", "没有此笔还款")
    no_english(zh["message"], en["message"])

    payment = world.pay(key="no-voucher")
    en, zh = world.both("get", "applicant1", f"/loans/{world.loan1}/payments/{payment['id']}/voucher", 404)
    assert (en["message"], zh["message"]) == ("the payment has no voucher", "该笔还款没有凭证")
    no_english(zh["message"], en["message"])


def test_a_payment_and_a_rejection_that_are_not_valid_name_their_field_in_both_languages(world):
    body = {"amount": "100.00", "idempotency_key": "early", "received_on": "2025-12-31"}
    en, zh = world.both("post", "applicant1", f"/loans/{world.loan1}/payments", 422, json=body)
    assert en["message"] == "the payment is not valid"
    assert en["fields"] == {"received_on": ["must be between the disbursement and today"]}
    assert (zh["message"], zh["fields"]) == ("该笔还款无效", {"received_on": ["须在放款日与今天之间"]})
    no_english(zh["message"], en["message"])
    no_english(zh["fields"]["received_on"][0], en["fields"]["received_on"][0])

    payment = world.pay(key="to-reject")
    reject = f"/loans/{world.loan1}/payments/{payment['id']}/reject"
    en, zh = world.both("post", "finance1", reject, 422, json={"reason": "   "})
    assert (en["message"], en["fields"]) == ("the rejection is not valid",
                                             {"reason": ["give the reason the borrower will see"]})
    assert (zh["message"], zh["fields"]) == ("该拒绝无效", {"reason": ["请填写拒绝原因，借款人将看到该原因"]})
    no_english(zh["message"], en["message"])
    no_english(zh["fields"]["reason"][0], en["fields"]["reason"][0])


def test_an_api_caller_who_names_no_language_reads_english(world):
    """The API speaks English unless the caller (or its account) asks otherwise: what clients compare stays."""
    response = world.client.get(f"{API}/loans/999999", headers=world.headers["admin"])
    assert said(response, 404)["message"] == "loan not found"


# -- the lending domain's refusals (app.lending: the schedule, the allocation, the money codec) ------------

def test_the_money_codes_refusals_reach_the_api_in_the_readers_language(world):
    en, zh = world.both("get", "applicant1", f"/loans/{world.loan1}/payoff-quote", 422,
                        query_string={"date": "2026-01-01"})
    assert (en["message"], zh["message"]) == ("a pay-off quote cannot precede the disbursement",
                                              "提前结清报价日不能早于放款日")
    no_english(zh["message"], en["message"])

    body = {"amount": "100.005", "idempotency_key": "three-decimals"}
    en, zh = world.both("post", "applicant1", f"/loans/{world.loan1}/payments", 422, json=body)
    assert en["fields"] == {"amount": ["has more than two decimals"]}
    assert zh["fields"] == {"amount": ["小数超过两位"]}


def test_terms_a_product_refuses_are_said_in_both_languages(app, world):
    def book(principal: str, repayments: int) -> Callable[[], object]:
        return lambda: loans.book_loan(loans.LoanRequest(
            business_key=f"LOAN-{principal}-{repayments}", product_code="CREDIT12", principal=Decimal(principal),
            repayments=repayments, disbursed_on=START, borrower_org_id=0))

    en, zh = both(app, book("12000.00", 240))
    assert (en.message, en.fields) == ("the term of 240 months is outside 1–36",
                                       {"repayments": ["the term of 240 months is outside 1–36"]})
    assert (zh.message, zh.fields) == ("240 个月的期限超出 1–36", {"repayments": ["240 个月的期限超出 1–36"]})
    assert en.translated and zh.translated
    no_english(zh.message, en.message, "240", "1", "36")


# -- the API's own checks of a request's shape (marshmallow's words, the schemas' own) ------------------------

def test_a_request_of_the_wrong_shape_is_said_field_by_field_in_the_readers_language(world):
    body = {"amount": 1066.19, "prepayment": "skip_a_month", "colour": "red"}  # a number, no key, no such choice
    en, zh = world.both("post", "applicant1", f"/loans/{world.loan1}/payments", 422, json=body)
    assert en["fields"]["amount"] == ['must be a string such as "1066.19", not a number']
    assert zh["fields"]["amount"] == ['须为字符串（如 "1066.19"），而不是数字']
    assert en["fields"]["idempotency_key"] == ["Missing data for required field."]
    assert zh["fields"]["idempotency_key"] == ["缺少必填字段。"]
    assert en["fields"]["prepayment"] == ["Must be one of: shorten_term, reduce_instalment."]
    assert zh["fields"]["prepayment"] == ["须为以下之一：shorten_term, reduce_instalment。"]
    assert (en["fields"]["colour"], zh["fields"]["colour"]) == (["Unknown field."], ["未知字段。"])
    assert (en["message"], zh["message"]) == ("The request has invalid fields.", "请求中有字段不正确。")
    choices = ("shorten_term", "reduce_instalment")
    for name in ("amount", "idempotency_key", "prepayment", "colour"):
        no_english(zh["fields"][name][0], en["fields"][name][0], *choices, "1066.19")

    en, zh = world.both("get", "admin", "/loans", 422, query_string={"per_page": "0"})
    assert (en["fields"], zh["fields"]) == ({"per_page": ["Must be greater than or equal to 1 and less than or "
                                                          "equal to 500."]},
                                            {"per_page": ["须大于或等于 1 且小于或等于 500。"]})


def test_the_apis_own_refusals_of_a_request_are_said_in_both_languages(client, auth):
    def both(method: str, path: str, status: int, headers: dict[str, str], **kwargs: Any) -> tuple[dict, dict]:
        """The request in English, then in Chinese (a value given as a function is made anew for each)."""
        return tuple(said(getattr(client, method)(
            f"{API}{path}", headers={**headers, "Accept-Language": language},
            **{k: v() if callable(v) else v for k, v in kwargs.items()}), status) for language in ("en", "zh-CN"))

    en, zh = both("get", "/process-instances", 401, {})
    assert (en["message"], zh["message"]) == ("sign in or send 'Authorization: Bearer <token>'",
                                              "请先登录，或发送 'Authorization: Bearer <token>'")
    en, zh = both("get", "/process-instances", 401, {"Authorization": "Basic x"})
    assert zh["message"] == "请发送 'Authorization: Bearer <token>'，或先登录"

    en, zh = both("get", "/no-such-thing", 404, auth)
    assert en["message"].startswith("The requested URL was not found on the server.")
    assert zh["message"] == "服务器上没有所请求的网址。如为手动输入，请检查拼写后重试。"
    en, zh = both("delete", "/process-instances", 405, auth)
    assert (en["message"], zh["message"]) == ("The method is not allowed for the requested URL.", "所请求的网址不允许此请求方法。")

    en, zh = both("post", "/process-definitions", 422, auth, data={})
    assert (en["message"], en["fields"]) == ("upload a diagram in the multipart field 'file'", {"file": ["missing"]})
    assert (zh["message"], zh["fields"]) == ("请在 multipart 字段 'file' 中上传流程图", {"file": ["缺失"]})
    en, zh = both("post", "/process-definitions", 422, auth, data=lambda: {"file": (io.BytesIO(b"x"), "notes.txt")})
    assert (zh["message"], zh["fields"]) == ("只能部署 .bpmn 与 .dmn 文件（或 .bpmn20.xml、.dmn11.xml）",
                                             {"file": ["文件类型不正确"]})

    en, zh = both("post", "/process-instances", 400, auth, data="{", content_type="application/json")
    assert en["fields"] == {"_request": ["Invalid JSON body: Expecting property name enclosed in double quotes."]}
    assert zh["fields"]["_request"][0].startswith("请求体不是有效的 JSON：")
    no_english(zh["fields"]["_request"][0], en["fields"]["_request"][0], "JSON")


# -- a workflow refusal, through the API ---------------------------------------------------------

def test_an_instance_cancelled_twice_and_a_diagram_refused_are_said_in_both_languages(client, auth, deploy):
    deploy("twelve_steps.bpmn")
    started = client.post(f"{API}/process-instances", json={"process_id": "twelve_steps", "data": {}}, headers=auth)
    assert started.status_code == 201, started.json
    cancel = f"{API}/process-instances/{started.json['id']}/cancel"
    assert client.post(cancel, headers=auth).status_code == 200
    en = said(client.post(cancel, headers={**auth, "Accept-Language": "en"}), 409)
    zh = said(client.post(cancel, headers={**auth, "Accept-Language": "zh-CN"}), 409)
    assert (en["message"], zh["message"]) == ("instance is already cancelled", "该流程实例已取消")
    no_english(zh["message"], en["message"])

    source = (FIXTURES / "bpmn" / "review_with_form.bpmn").read_text().replace(
        'decision == "approve"', "decision ==")

    def refused(language: str) -> dict[str, Any]:
        upload = {"file": (io.BytesIO(source.encode()), "review_with_form.bpmn")}
        return said(client.post(f"{API}/process-definitions", data=upload,
                                headers={**auth, "Accept-Language": language}), 422)

    en, zh = refused("en"), refused("zh-CN")
    assert en["code"] == zh["code"] == "diagram_invalid"
    assert (en["message"], zh["message"]) == ("diagram refused", "流程图未通过检查，部署被拒绝")
    no_english(zh["message"], en["message"])


def test_an_incident_says_the_services_own_words_in_the_readers_language(client, auth, deploy):
    """A service task whose handler refuses in its own words (`said`: an organisation that is not there) fails;
    the incident's reason says those words in the reader's language, not only the engine's frame around them."""
    deploy("notify_unknown_org.bpmn")
    started = client.post(f"{API}/process-instances", headers=auth,
                          json={"process_id": "notify_unknown_org", "data": {"org": "NOPE"}})
    assert started.status_code == 201, started.json

    def reason(language: str) -> str:
        listed = client.get(f"{API}/incidents", headers={**auth, "Accept-Language": language})
        [incident] = listed.json["items"]
        assert incident["element_id"] == "tell" and "ValueError: no organisation 'NOPE'" in incident["message"]
        return incident["reason"]

    en, zh = reason("en"), reason("zh-CN")
    # a refusal for data the platform lacks is no outage: the reason never says to wait for the service
    assert en == ("The service notify.send at tell could not go on (no organisation 'NOPE'). This is not an outage: "
                  "record or correct what it names, then retry.")
    assert "没有机构 'NOPE'" in zh and "notify.send" in zh and "这不是系统故障" in zh and "技术原因" not in zh
    no_english(zh, en, "notify", "send", "tell", "NOPE")


def test_what_a_service_task_raises_is_kept_in_one_language_whoever_started_it(client, auth, deploy):
    """A ledger refusal inside a step run by a Chinese request (a loan that is not there: a business error no
    boundary event catches) is kept in English, as when the worker runs it — not in the language of whoever
    happened to move the instance."""
    deploy("payoff_quote_unknown_loan.bpmn")
    for language in ("zh-CN", "en"):
        started = client.post(f"{API}/process-instances", headers={**auth, "Accept-Language": language},
                              json={"process_id": "payoff_quote_unknown_loan", "business_key": "LOAN-NOPE"})
        assert started.status_code == 201, started.json
    listed = client.get(f"{API}/incidents", headers={**auth, "Accept-Language": "en"}).json["items"]
    assert len(listed) == 2
    assert {i["kind"] for i in listed} == {"business_error"}
    assert {i["message"] for i in listed} == {listed[1]["message"]} and listed[0]["message"].endswith(": no loan for this instance")


# -- what the API does not reach: raised in a request that chose its language the API's way ---------

@contextmanager
def api_request(app, language: str) -> Iterator[None]:
    with app.test_request_context(f"{API}/loans", headers={"Accept-Language": LANGUAGES[language]}):
        yield
        db.session.rollback()


def refusal(app, language: str, call: Callable[[], object]) -> ServiceError:
    with api_request(app, language):
        with pytest.raises(ServiceError) as refused:
            call()
    return refused.value


def both(app, call: Callable[[], object]) -> tuple[ServiceError, ServiceError]:
    return refusal(app, "en", call), refusal(app, "zh", call)


def test_waivers_refused_are_said_in_both_languages(app, world):
    en, zh = both(app, lambda: adjustments.waive(world.loan1, "penalty", "1.00"))
    assert (en.message, en.fields) == ("only 0.00 of penalty is owed", {"amount": ["must be at most 0.00"]})
    assert (zh.message, zh.fields) == ("所欠罚息仅为 0.00", {"amount": ["不得超过 0.00"]})
    assert en.translated and zh.translated
    no_english(zh.message, en.message, "0.00")
    no_english(zh.fields["amount"][0], en.fields["amount"][0], "0.00")

    en, zh = both(app, lambda: adjustments.waive(world.loan1, "interest", "0"))
    assert (en.message, en.fields) == ("the amount must be positive", {"amount": ["must be positive"]})
    assert (zh.message, zh.fields) == ("金额须大于零", {"amount": ["须大于零"]})
    no_english(zh.message, en.message)

    en, zh = both(app, lambda: adjustments.waive(world.loan1, "principal"))
    assert (en.message, zh.message) == ("cannot waive that", "无法减免该项")
    no_english(zh.message, en.message)

    with app.app_context():
        adjustments.write_off(world.loan2)
        db.session.commit()
        db.session.remove()
    en, zh = both(app, lambda: adjustments.write_off(world.loan2))
    assert (en.message, zh.message) == ("the loan is written_off", "该贷款已核销")


def test_the_chart_of_accounts_refusals_are_said_in_both_languages(app, world):
    en, zh = both(app, lambda: posting.map_account("NOPE", "interest_income", "interest_income"))
    assert (en.message, zh.message) == ("no product 'NOPE'", "没有产品 'NOPE'")
    no_english(zh.message, en.message, "NOPE")

    en, zh = both(app, lambda: posting.map_account("CREDIT12", "fee_income", "cash_clearing"))
    assert (en.message, en.fields) == ("the product's accounts are not valid",
                                       {"accounts": ["fee_income: cash_clearing is of kind asset, not income"]})
    assert (zh.message, zh.fields) == ("该产品的科目设置无效",
                                       {"accounts": ["fee_income：cash_clearing 的类型为 asset，而不是 income"]})
    no_english(zh.message, en.message)
    no_english(zh.fields["accounts"][0], en.fields["accounts"][0], "fee_income", "cash_clearing", "asset", "income")

    en, zh = both(app, lambda: posting.map_account("CREDIT12", "fund_source", "fee_income"))
    assert en.fields == {"accounts": ["fund_source: fee_income is of kind income, not asset or liability"]}
    assert zh.fields == {"accounts": ["fund_source：fee_income 的类型为 income，而不是 asset或liability"]}

    en, zh = both(app, lambda: posting.map_account("CREDIT12", "interest_receivable", "loan_principal"))
    assert en.message == "the product has loans: their interest_receivable balances stay in their account"
    assert zh.message == "该产品已有贷款：贷款的 interest_receivable 余额须留在原科目中"
    no_english(zh.message, en.message, "interest_receivable")


def test_the_batch_says_a_date_is_done_in_both_languages(app, world):
    with app.app_context():
        eod.run_date(START)
        db.session.remove()
    en, zh = both(app, lambda: eod.run_date(START))
    assert (en.message, zh.message) == ("the end-of-day run of 2026-01-10 is completed already",
                                        "2026-01-10 的日终批处理已完成")
    no_english(zh.message, en.message)


# -- the command line speaks its own language (LOANFLOW_LANG) --------------------------------------

def test_the_command_line_says_a_refused_account_in_its_language(runner, monkeypatch, world):
    args = ["ledger", "add-account", "bad code", "Bad", "--kind", "weird"]
    en = runner.invoke(args=args)
    assert en.exit_code == 1
    assert en.stderr == ("error: the account is not valid (code: letters, digits and _, at most 32; "
                         "kind: must be one of asset, liability, equity, income, expense)\n")
    monkeypatch.setenv("LOANFLOW_LANG", "zh")
    cn = runner.invoke(args=args)
    assert cn.exit_code == 1
    assert cn.stderr == ("错误：该科目无效（code: 字母、数字和 _，最多 32 个字符; "
                         "kind: 须为以下之一：asset, liability, equity, income, expense）\n")


def test_the_command_line_says_the_lending_domains_refusal_in_its_language(runner, monkeypatch):
    args = ["loans", "schedule", "--principal", "1000.005", "--annual-rate", "12", "--repayments", "12",
            "--disbursed-on", "2026-01-10"]
    en = runner.invoke(args=args)
    assert en.exit_code == 2
    assert "Error: --principal: has more than two decimals" in en.output
    monkeypatch.setenv("LOANFLOW_LANG", "zh")
    cn = runner.invoke(args=args)
    assert cn.exit_code == 2
    assert "Error: --principal: 小数超过两位" in cn.output
