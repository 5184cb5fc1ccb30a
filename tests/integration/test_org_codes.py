"""Organisation codes are checked on every path (service, CLI, administration page): a pattern and a
length, with an error that names the field, in the reader's language on the page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Organisation
from app.services.errors import Invalid
from app.services.identity import directory as identity
from handlers.identifiers import make_credit_code
from tests.integration.test_grants import admin_post, browser, people  # noqa: F401  (people: a fixture)


@pytest.mark.parametrize("code", ["", "B", "bank1", "1BANK", "BANK ONE", "BANK/1", "银行", "-BANK",
                                  "B" + "A" * 32, "BANK1\n"])
def test_bad_codes_are_refused_naming_the_field(ctx, code):
    with pytest.raises(Invalid) as refused:
        identity.create_org(code, ["funder"], "Some bank")
    assert refused.value.code == "bad_org_code" and list(refused.value.fields) == ["code"]
    assert db.session.scalar(select(Organisation)) is None


@pytest.mark.parametrize("code", ["BK", "BANK1", "TRADER-SH", "CORE_1", "B" + "A" * 31])
def test_good_codes_are_kept(ctx, code):
    assert identity.create_org(code, ["funder"], "Some bank").code == code


@pytest.mark.parametrize("name", ["", "   ", "x" * (identity.ORG_NAME_LENGTH + 1)])
def test_a_name_is_one_to_two_hundred_characters(ctx, name):
    with pytest.raises(Invalid) as refused:
        identity.create_org("BANK1", ["funder"], name)
    assert refused.value.code == "bad_org_name" and list(refused.value.fields) == ["name"]


def test_the_command_line_refuses_a_bad_code(runner, app):
    result = runner.invoke(args=["orgs", "create", "bank one", "--kind", "funder", "--name", "Bank One"])
    assert result.exit_code == 1 and "organisation code 'bank one' is not valid" in result.output
    ok = runner.invoke(args=["orgs", "create", "BANK-ONE", "--kind", "funder", "--name", "Bank One"])
    assert ok.exit_code == 0, ok.output


def _errors(response) -> list[str]:
    return re.findall(r'<p class="error" role="alert">(.*?)</p>', response.text, re.S)


def test_the_administration_page_says_which_field_in_both_languages(app, people):  # noqa: F811
    refused = admin_post(app, "admin", "/orgs", code="bank-3", name="Bank Three", kind="funder")
    assert refused.status_code == 422
    assert _errors(refused) == ["Organisation code: 2 to 32 characters, capital letters A-Z, digits, &#39;-&#39; or "
                                "&#39;_&#39;, starting with a letter (for example BANK1)."]
    client, csrf = browser(app, "admin")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    client.post("/language", data={"csrf_token": csrf, "locale": "zh"})
    named = client.post("/admin/orgs", data={"csrf_token": csrf, "code": "BANK3", "name": " ", "kind": "funder"})
    assert named.status_code == 422 and _errors(named) == ["机构名称：1 至 200 个字符。"]
    assert admin_post(app, "admin", "/orgs", code="BANK3", name="Bank Three", kind="funder").status_code == 200


def test_the_platform_registers_a_company_with_its_credit_code_and_records_one_it_lacks(app, people):  # noqa: F811
    """A borrower's deals are risk-checked and its signer verified by the company's unified social credit code:
    the administration page records it when registering the company, checks it, refuses one already on file, and
    records it later on a company registered without one."""
    good, other = make_credit_code("91320500MA1N2H3K4"), make_credit_code("91110108MA01000AB")
    client, csrf = browser(app, "op")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    client.post("/language", data={"csrf_token": csrf, "locale": "zh"})
    wrong = client.post("/admin/orgs", data={"csrf_token": csrf, "code": "TRADER3", "name": "苏州华贸供应链有限公司",
                                             "kind": "borrower", "credit_code": good[:-1] + ("0" if good[-1] != "0" else "1")})
    assert wrong.status_code == 422 and _errors(wrong) == ["统一社会信用代码：18 位，末位校验码须正确。"]
    made = client.post("/admin/orgs", data={"csrf_token": csrf, "code": "TRADER3", "name": "苏州华贸供应链有限公司",
                                            "kind": "borrower", "credit_code": good.lower()})
    assert made.status_code == 200 and good in made.text
    again = client.post("/admin/orgs", data={"csrf_token": csrf, "code": "TRADER4", "name": "另一家公司",
                                             "kind": "borrower", "credit_code": good})
    assert again.status_code == 409 and _errors(again) == ["该统一社会信用代码已登记在另一机构名下。"]
    later = client.post("/admin/orgs/TRADER2/credit-code", data={"csrf_token": csrf, "credit_code": other})
    assert later.status_code == 200 and other in later.text
    with app.app_context():
        codes = dict(db.session.execute(select(Organisation.code, Organisation.credit_code)).all())
        db.session.remove()
    assert codes["TRADER3"] == good and codes["TRADER2"] == other and "TRADER4" not in codes


def test_the_command_line_registers_a_company_with_its_credit_code(runner, app):
    code = make_credit_code("91320500MA1N2H3K4")
    ok = runner.invoke(args=["orgs", "create", "TRADER9", "--kind", "borrower", "--name", "Trader Nine",
                             "--credit-code", code])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(args=["orgs", "create", "TRADER8", "--kind", "borrower", "--name", "Trader Eight",
                              "--credit-code", "91320500MA1N2H3K4X"[:-1] + "0"])
    assert bad.exit_code == 1 and "is not valid" in bad.output
    with app.app_context():
        assert db.session.scalar(select(Organisation.credit_code).where(Organisation.code == "TRADER9")) == code
        db.session.remove()
