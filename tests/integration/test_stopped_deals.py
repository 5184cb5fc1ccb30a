"""A deal stopped on an error (an incident), as each reader meets it: the platform's staff read on the deal's
page that it is stopped, where and why, with a link to repair it; the repair page says that missing data is
not an outage (record it, then retry), not "wait until the service works again"; the borrower and the funder
read only that the deal is being processed, never the error. Both languages.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Incident, Organisation
from app.services.workflow import waking
from tests.integration.test_application_pages import _latin_words
from tests.integration.test_disbursement_stage import reader
from tests.integration.test_identity import set_password
from tests.integration.test_origination_flows import confirm_order, deals, draft, fresh, submit  # noqa: F401


def _stopped(app, clock) -> tuple[int, int, int]:
    """An order-financing deal of a borrower with no credit code on file, stopped at the risk check."""
    db.session.scalar(select(Organisation).where(Organisation.code == "BORR1")).credit_code = None
    db.session.commit()
    row = submit(draft("order"))
    confirm_order(row)
    for seconds in (10, 20):  # the service task's retries
        clock.advance(seconds=seconds)
        waking.wake_due()
    row = fresh(row)
    incident = db.session.scalar(select(Incident).where(Incident.instance_id == row.instance_id))
    assert incident is not None and incident.element_id == "assess"
    ids = row.id, row.instance_id, incident.id
    db.session.remove()
    for user in ("op1", "app1", "rev1"):
        set_password(app, user)
    return ids


def test_staff_read_that_the_deal_is_stopped_with_a_link_to_repair_it_the_parties_only_that_it_is_processed(
        deals, clock):  # noqa: F811
    application_id, instance_id, _incident = _stopped(deals, clock)
    staff = reader(deals, "op1")
    for language, stopped_words in (("zh-CN", "此业务因错误停在"), ("en", "This deal is stopped on an error at")):
        page = staff(f"/applications/{application_id}", language)
        box = re.search(r'<section[^>]*id="stopped"[^>]*>.*?</section>', page, re.S)
        assert box, page
        assert stopped_words in box.group(0) and f'href="/instances/{instance_id}/repair"' in box.group(0)
        assert ("没有登记统一社会信用代码" if language == "zh-CN" else "no unified social credit code") in box.group(0)
        if language == "zh-CN":  # the handler's words, without the engine's frame (its operator's code)
            assert not _latin_words(box.group(0)), _latin_words(box.group(0))
    for party in ("app1", "rev1"):
        theirs = reader(deals, party)
        for language, processing in (("zh-CN", "正在处理中"), ("en", "being processed")):
            page = theirs(f"/applications/{application_id}", language)
            assert 'id="stopped"' not in page and "/repair" not in page
            assert processing in page
            assert "信用代码" not in page and "credit code" not in page and "错误" not in page


def test_the_repair_page_says_missing_data_is_no_outage(deals, clock):  # noqa: F811
    _application_id, instance_id, _incident = _stopped(deals, clock)
    staff = reader(deals, "op1")
    zh = staff(f"/instances/{instance_id}/repair", "zh-CN")
    assert "这不是系统故障" in zh and "没有登记统一社会信用代码" in zh
    assert "技术原因" not in zh and "待该服务恢复" not in zh
    en = staff(f"/instances/{instance_id}/repair", "en")
    assert "This is not an outage" in en and "when the service works again" not in en
