"""催办 on the deal itself: the application page offers the platform's operator (and the funder's team lead, for its
own organisation's tasks on its deals) a reminder for the deal's open task, and the deal's timeline (进度) says it
was sent, to the parties who may see that task's lane (the funder and the platform read every lane; the borrower
does not read the core enterprise's task, nor the core enterprise the funder's). Both languages.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.services.identity import directory as identity
from tests.integration.test_disbursement_stage import outside, reader, signed_in_client
from tests.integration.test_identity import set_password
from tests.integration.test_origination_flows import confirm_order, deals, draft, submit  # noqa: F401

ZH = {"Accept-Language": "zh-CN"}


def _open_task(row) -> int:
    db.session.expire_all()
    return db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == row.instance_id,
                                                        HumanTask.state.in_(("ready", "claimed"))))


def _timeline(page: str) -> str:
    return re.search(r'<ol class="history" id="timeline">.*?</ol>', page, re.S).group(0)


def _remind_form(page: str, task_id: int) -> str | None:
    found = re.search(rf'<form[^>]*action="/tasks/{task_id}/remind".*?</form>', page, re.S)
    return found.group(0) if found else None


def _press(app, username: str, page_url: str, task_id: int) -> str:
    """The reminder pressed on the application page, in Chinese: the page it comes back to."""
    browser = outside(lambda: signed_in_client(app, username))
    page = outside(lambda: browser.get(page_url, headers=ZH).text)
    form = _remind_form(page, task_id)
    assert form is not None, (username, page)
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    done = outside(lambda: browser.post(f"/tasks/{task_id}/remind", data=data, headers=ZH))
    assert done.status_code == 302 and done.headers["Location"].endswith(page_url), done.headers.get("Location")
    return outside(lambda: browser.get(page_url, headers=ZH).text)


@pytest.fixture
def lead(deals):  # noqa: F811
    identity.create_user("lead1", "BANK1", ["team_lead"], display_name="Lead Zhao")
    db.session.commit()
    for name in ("op1", "lead1", "app1", "rev1", "signer1"):
        set_password(deals, name)
    return deals


def test_the_operator_reminds_the_deals_task_from_its_page_and_its_parties_read_it_on_the_timeline(lead, clock):
    app = lead
    row = submit(draft("order"))
    clock.advance(days=2)  # the core enterprise has not confirmed for two days
    page_url = f"/applications/{row.id}"
    confirm = _open_task(row)  # the core enterprise's confirmation
    db.session.commit()
    for name in ("lead1", "app1", "signer1"):  # not the funder lead's task to remind; nobody else's
        assert _remind_form(reader(app, name)(page_url, "zh-CN"), confirm) is None, name

    after = _press(app, "op1", page_url, confirm)
    assert "已催办，通知已发给 1 人" in after
    assert "已向核心企业催办：确认应收账款" in _timeline(after), _timeline(after)
    assert "A reminder was sent to the core enterprise: Confirm the receivable" in _timeline(
        reader(app, "op1")(page_url, "en"))
    for name in ("signer1", "rev1"):  # the lane's own party, and the funder, who reads every lane
        assert "已向核心企业催办" in _timeline(reader(app, name)(page_url, "zh-CN")), name
    assert "催办" not in _timeline(reader(app, "app1")(page_url, "zh-CN"))  # the core enterprise's task

    clock.advance(hours=3)
    confirm_order(row)
    kinds = re.findall(r'<li data-kind="(\w+)">', _timeline(reader(app, "rev1")(page_url, "en")))
    assert kinds.index("reminded") < kinds.index("answered"), kinds  # said where it happened
    review = _open_task(row)  # the funder's first review
    db.session.commit()
    assert _remind_form(reader(app, "op1")(page_url, "en"), review) is not None
    after = _press(app, "lead1", page_url, review)
    assert "已向资金方催办：初审" in _timeline(after), _timeline(after)
    assert "已向资金方催办" not in _timeline(reader(app, "signer1")(page_url, "zh-CN"))  # the funder's lane
    assert "已向资金方催办" not in _timeline(reader(app, "app1")(page_url, "zh-CN"))  # nor the borrower
