"""The texts of notices (`notices.templates.render`): every template reads whole in both languages, a reason that
ends its own sentence is not given a second full stop, and an approval says what comes next as it does."""
from __future__ import annotations

import re

import pytest

from app.services.notices.templates import TEMPLATES, fields_of, render


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_template_reads_whole_with_its_fields_filled(name, language):
    params = {field: "1" for field in fields_of(name)}
    subject, body = render(name, params, language)
    assert subject and body and "{" not in subject + body
    assert not re.search(r"。。|\.\.(?!\.)|\b1 days\b", body), body  # "1 days past due" was said


def test_a_reason_that_ends_its_own_sentence_gets_one_full_stop():
    _subject, zh = render("application_returned", {"number": "APP-1", "reason": "请补充近三个月的销售发票。"}, "zh")
    assert "销售发票。请修改后重新提交" in zh and "。。" not in zh  # it said 销售发票。。请修改
    _subject, en = render("application_returned", {"number": "APP-1", "reason": "Attach the invoices."}, "en")
    assert "Attach the invoices. Edit it" in en


def test_an_approval_says_the_identity_check_comes_before_the_contract():
    _subject, zh = render("application_approved", {"number": "APP-1", "amount": "1.00"}, "zh")
    assert zh.index("身份验证") < zh.index("签署合同")  # it said the contract came next


def test_a_notice_writes_its_dates_as_the_pages_do():
    params = {"loan": "LOAN-1", "number": "APP-1", "borrower": "Lotus", "amount": "13,883.04", "date": "2026-11-23"}
    _subject, zh = render("loan_overdue", params, "zh")
    _subject, en = render("loan_overdue", params, "en")
    assert "于 2026年11月23日 到期的 ¥13,883.04" in zh and "due on Nov 23, 2026" in en  # it said 2026-11-23
    assert "2026-11-23" not in zh + en


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_amount_in_a_notice_has_its_thousands_separated(name):
    params = {field: "13883.04" for field in fields_of(name)}
    subject, body = render(name, params, "zh")
    assert "¥13883.04" not in subject + body  # 'due on … ¥13883.04' was said
