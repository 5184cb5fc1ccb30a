"""The deals list an operator monitors (`/deals/`, `GET /api/v1/applications`): filtered by status, stage,
product, funder, borrower, submission dates and a search by application number or borrower name, with a
funder column and paging that keeps the filters; its counts agree with the portfolio dashboard's. A funder's
staff filter their own deals only and are offered no other organisation's name. Both languages.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Organisation
from app.services.identity import directory as identity
from app.services.origination import applications
from tests.integration.test_application_pages import DETAILS, EN, ZH, _latin_words, world  # noqa: F401
from tests.integration.test_disbursement_stage import reader

# number -> (borrower's applicant, funder, status, stage, submitted, decided)
DEALS = [
    ("app1", "BANK1", "in_review", "first_review", datetime(2026, 11, 2, 2, 0, tzinfo=UTC), None),
    ("app1", "BANK2", "in_review", "first_review", datetime(2026, 11, 10, 2, 0, tzinfo=UTC), None),
    ("app2", "BANK1", "approved", "decided", datetime(2026, 11, 12, 2, 0, tzinfo=UTC),
     datetime(2026, 11, 14, 2, 0, tzinfo=UTC)),
    ("app2", "BANK1", "rejected", "decided", datetime(2026, 11, 20, 17, 0, tzinfo=UTC),  # 21 Nov in Shanghai
     datetime(2026, 11, 22, 2, 0, tzinfo=UTC)),
    ("app1", "BANK1", "draft", None, None, None),
]


@pytest.fixture
def deals(app, world):  # noqa: F811
    numbers = []
    with app.app_context():
        for user, funder, status, stage, submitted, decided in DEALS:
            row = applications.create_application(identity.principal_for(user), {
                "product": "ORDER-A", "amount": "800000.00", "term_months": 6, "purpose": "备货",
                "funder": funder, "details": dict(DETAILS)})
            row.status, row.stage, row.submitted_at, row.decided_at = status, stage, submitted, decided
            numbers.append(row.number)
        db.session.commit()
        db.session.remove()
    return numbers


def _listed(page: str) -> list[str]:
    return re.findall(r'<tr data-application-id="\d+">\s*<td><a [^>]*>([A-Z0-9-]+)</a>', page)


def _found(page: str) -> int:
    return int(re.search(r'<[^>]*id="deals-found"[^>]*data-total="(\d+)"', page).group(1))


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_operator_filters_the_deals_by_status_funder_borrower_dates_and_a_search(app, deals, language):
    page = reader(app, "admin")
    everything = page("/deals/", language)
    assert sorted(_listed(everything)) == sorted(deals) and _found(everything) == 5
    assert 'id="deal-filters"' in everything
    funder_cells = re.findall(r'<td class="funder">([^<]*)</td>', everything)
    assert funder_cells.count("华东商业银行") == 4 and funder_cells.count("滨江小额贷款") == 1

    in_review_bank1 = page("/deals/?status=in_review&funder=BANK1", language)
    assert _listed(in_review_bank1) == [deals[0]] and _found(in_review_bank1) == 1
    assert _listed(page("/deals/?stage=decided&borrower=BORR2", language)) == [deals[3], deals[2]]
    assert _listed(page("/deals/?product=ORDER-A&funder=BANK2", language)) == [deals[1]]
    assert _listed(page("/deals/?q=浦江", language)) == [deals[3], deals[2]]  # the borrower's name
    assert _listed(page(f"/deals/?q={deals[1][-4:]}", language)) == [deals[1]]  # part of the number
    # submitted 10 to 21 November in the business time zone (the last one at 01:00 on the 21st in Shanghai)
    assert _listed(page("/deals/?from=2026-11-10&to=2026-11-21", language)) == [deals[3], deals[2], deals[1]]
    assert _listed(page("/deals/?to=2026-11-20", language)) == [deals[2], deals[1], deals[0]]
    wrong = page("/deals/?from=2026-11-30&to=2026-11-01", language)
    assert ("结束日期早于开始日期" if language == "zh-CN" else "The end date is before the start date") in wrong
    if language == "zh-CN":
        chosen = page("/deals/?status=in_review&funder=BANK1", language)
        assert "共 1 笔" in chosen and "资金方" in chosen
        assert not _latin_words(chosen), _latin_words(chosen)
    else:
        assert "1 deal found" in in_review_bank1


def test_paging_keeps_the_filters(app, deals):
    page = reader(app, "admin")
    first = page("/deals/?funder=BANK1&per_page=2", "en")
    assert _listed(first) == [deals[4], deals[3]] and _found(first) == 4
    following = re.search(r'<a href="([^"]*page=2[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "funder=BANK1" in following
    assert _listed(page(following, "en")) == [deals[2], deals[0]]


def test_the_dashboards_decisions_per_product_open_the_deals_they_count(app, deals):
    page = reader(app, "admin")
    dashboard = page("/dashboard", "zh-CN")
    row = re.search(r'<tr data-product="\d+">.*?</tr>', dashboard, re.S).group(0)
    decided = re.search(r'<td class="decided"><a href="([^"]+)">(\d+)</a>', row)
    approved = re.search(r'<td class="approved"><a href="([^"]+)">(\d+)</a>', row)
    assert (decided.group(2), approved.group(2)) == ("2", "1")
    assert _found(page(decided.group(1).replace("&amp;", "&"), "zh-CN")) == 2
    assert _listed(page(approved.group(1).replace("&amp;", "&"), "zh-CN")) == [deals[2]]
    one_funder = page("/dashboard?funder=" + str(_org_id(app, "BANK1")), "zh-CN")
    link = re.search(r'<td class="decided"><a href="([^"]+)">', one_funder).group(1).replace("&amp;", "&")
    assert "funder=BANK1" in link and _found(page(link, "zh-CN")) == 2


def _org_id(app, code: str) -> int:
    with app.app_context():
        org_id = db.session.scalar(select(Organisation.id).where(Organisation.code == code))
        db.session.remove()
        return org_id


def test_a_funders_reviewer_filters_only_their_own_deals_and_is_offered_no_other_name(app, deals):
    page = reader(app, "rev1")
    mine = page("/deals/", "zh-CN")
    assert sorted(_listed(mine)) == sorted([deals[0], deals[2], deals[3]])
    assert "滨江小额贷款" not in mine and 'name="funder"' not in mine and 'name="borrower"' not in mine
    assert _listed(page("/deals/?funder=BANK2", "zh-CN")) == []


def test_the_api_filters_the_same_way(client, app, deals, auth):
    found = client.get("/api/v1/applications?funder=BANK1&stage=decided&decision=approved", headers=auth).json
    assert [i["number"] for i in found["items"]] == [deals[2]] and found["total"] == 1
    assert found["items"][0]["funder"] == "BANK1"
    searched = client.get("/api/v1/applications?q=浦江&submitted_from=2026-11-21", headers=auth).json
    assert [i["number"] for i in searched["items"]] == [deals[3]]
    assert client.get("/api/v1/applications?submitted_from=yesterday", headers=auth).status_code == 422
