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
