"""Insight (issue 16): a process version's heatmap (instances that reached each element, the time its
user tasks took), the user tasks' waiting times and throughput per lane and organisation, and the
portfolio dashboard (outstanding principal, buckets, PAR30, disbursed and repaid per month, approval
rate and time to decision per product) for the platform and for a funder's own staff — every figure
here computed by hand from the seeded rows."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Application, HumanTask, Loan, Organisation
from app.services.identity import directory as identity
from app.services.ledger import repayments
from app.services.workflow import instances, tasks
from app.services.workflow.deployment import DiagramFile, deploy_and_commit
from tests.integration import ledger_support as ledger
from tests.integration.test_identity import set_password, sign_in

EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
HOUR = 3600.0

DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_heat" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="heat_review" name="Heat review" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_review" name="first_reviewer"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_ops" name="operator"><bpmn:flowNodeRef>check</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Review the deal">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="name@zh" value="\xe5\xae\xa1\xe6\x9f\xa5\xe4\xba\xa4\xe6\x98\x93"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" default="f_no"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="check" name="Check the file"><bpmn:incoming>f_yes</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end_done" name="Done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_rejected" name="Rejected"><bpmn:incoming>f_no</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f1" sourceRef="review" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="check"><bpmn:conditionExpression>decision == "approve"</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end_rejected"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end_done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _at(clock, hours: float) -> None:
    clock.current = T0 + timedelta(hours=hours)


@pytest.fixture
def reviews(app, clock):
    """Three deals of heat_review funded by BANK1, all started at T0. Their reviews: claimed after
    0.5 h, 1 h and 3 h, completed after 1 h (approve), 2 h (reject) and 6 h (approve). The two
    approved deals wait at the operators' check (made ready at 1 h and 6 h), still open at 6 h."""
    _at(clock, 0)
    with app.app_context():
        identity.ensure_platform_admin()
        identity.create_org("BANK1", ["funder"], "East Bank")
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        identity.create_user("ana", "PLATFORM", ["analyst"])
        identity.create_user("rev1", "BANK1", ["first_reviewer"])
        identity.create_user("appl", "TRADER", ["applicant"])
        deploy_and_commit([DiagramFile("heat_review.bpmn", DIAGRAM)])
        admin = identity.principal_for("admin")
        ids = [instances.start_instance("heat_review", admin, parties={"funder": "BANK1", "borrower": "TRADER"})
               for _ in range(3)]
        rev = identity.principal_for("rev1")
        review = {i: db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == i,
                                                                  HumanTask.element_id == "review"))
                  for i in ids}
        for instance_id, claimed, done, decision in ((ids[0], 0.5, 1, "approve"), (ids[1], 1, 2, "reject"),
                                                     (ids[2], 3, 6, "approve")):
            _at(clock, claimed)
            tasks.claim_task(review[instance_id], rev)
            _at(clock, done)
            tasks.complete_task(review[instance_id], {"decision": decision}, rev)
        db.session.remove()
    for user in ("ana", "rev1", "appl"):
        set_password(app, user)
    return ids


def _row(page: str, attribute: str, value: str) -> str:
    found = re.search(rf'<tr data-{attribute}="{re.escape(value)}".*?</tr>', page, re.S)
    assert found, f"no row {attribute}={value}"
    return found.group(0)


def _cell(row: str, css: str, attribute: str = "") -> str:
    if attribute:
        return re.search(rf'<td class="{css}" {attribute}="([^"]*)"', row).group(1)
    return re.search(rf'<td class="{css}"[^>]*>(?:<a [^>]*>)?([^<]*)(?:</a>)?</td>', row).group(1)


@pytest.mark.parametrize(("headers", "title", "review_name"), [(EN, "Heatmap", "Review the deal"),
                                                               (ZH, "热力图", "审查交易")])
def test_the_heatmap_counts_the_instances_that_reached_each_element_and_the_time_spent(
        client, reviews, headers, title, review_name):
    sign_in(client, "ana")
    process = client.get("/processes/heat_review", headers=headers)
    assert 'href="/processes/heat_review/heatmap?version=1"' in process.text  # the process page links it
    page = client.get("/processes/heat_review/heatmap?version=1", headers=headers)
    assert page.status_code == 200 and title in page.text
    counts = dict(re.findall(r'<tr data-element="([^"]+)" data-count="(\d+)"', page.text))
    # the gateway leaves no trace in the history: it is counted from the instances' saved states
    assert counts == {"start": "3", "review": "3", "gw": "3", "check": "2", "end_rejected": "1"}
    levels = dict(re.findall(r'<tr data-element="([^"]+)" data-count="\d+" data-level="(\d)"', page.text))
    assert levels == {"start": "4", "review": "4", "gw": "4", "check": "3", "end_rejected": "2"}
    assert "counted from the newest" not in page.text and "只按最新的" not in page.text  # every state was read
    review = _row(page.text, "element", "review")
    assert review_name in review
    assert _cell(review, "completed") == "3"
    # 1 h, 2 h, 6 h: median 2 h, mean 3 h
    assert float(_cell(review, "median", "data-seconds")) == 2 * HOUR
    assert float(_cell(review, "mean", "data-seconds")) == 3 * HOUR
    assert _cell(_row(page.text, "element", "check"), "median", "data-seconds") == ""  # none completed
    assert 'data-source="/processes/heat_review/versions/1/diagram"' in page.text
    assert client.get("/processes/heat_review/heatmap?version=2", headers=headers).status_code == 404


def test_with_more_instances_than_it_reads_the_heatmap_says_so(client, reviews, monkeypatch):
    from app.services.workflow import insight

    monkeypatch.setattr(insight, "STATE_SAMPLE", 2)
    sign_in(client, "ana")
    page = client.get("/processes/heat_review/heatmap?version=1", headers=EN)
    assert "counted from the newest 2 instances only" in page.text
    counts = dict(re.findall(r'<tr data-element="([^"]+)" data-count="(\d+)"', page.text))
    assert counts["gw"] == "2" and counts["review"] == "3"  # the history's counts stay whole


def test_a_call_activity_counts_the_instances_that_reached_the_process_it_calls(client, app, auth, deploy):
    """call_parent calls call_child (a countersign task) inside its own instance: two instances wait at the
    countersign, a step of call_child and not an element of call_parent's diagram."""
    from tests.integration.instance_api import open_tasks, start

    deploy("call_child.bpmn", "call_parent.bpmn")
    with app.app_context():
        identity.create_user("ana", "PLATFORM", ["analyst"])
        db.session.remove()
    set_password(app, "ana")
    ids = [start(client, auth, "call_parent")["id"] for _ in range(2)]
    assert "countersign" in open_tasks(client, auth, ids[0])
    sign_in(client, "ana")
    page = client.get("/processes/call_parent/heatmap", headers=EN).text
    counts = dict(re.findall(r'<tr data-element="([^"]+)" data-count="(\d+)"', page))
    assert counts == {"start": "2", "call_econtract": "2"}  # countersign is call_child's, not drawn here


def test_the_task_statistics_give_waits_and_throughput_per_lane_and_organisation(client, reviews, clock, app):
    _at(clock, 6)
    sign_in(client, "ana")
    page = client.get("/insight/tasks", headers=EN)
    assert page.status_code == 200 and 'id="insight-link"' in page.text
    with app.app_context():
        bank = db.session.scalar(select(Organisation.id).where(Organisation.code == "BANK1"))
        db.session.remove()
    review = re.search(rf'<tr data-lane="first_reviewer" data-org="{bank}".*?</tr>', page.text, re.S).group(0)
    assert "First reviewer" in review and "East Bank" in review
    assert (_cell(review, "opened", "data-value"), _cell(review, "completed", "data-value")) == ("3", "3")
    # claimed after 0.5 h, 1 h, 3 h; completed after 1 h, 2 h, 6 h (nearest-rank 90th percentile: the third)
    assert float(_cell(review, "claim-median", "data-seconds")) == 1 * HOUR
    assert float(_cell(review, "claim-p90", "data-seconds")) == 3 * HOUR
    assert float(_cell(review, "done-median", "data-seconds")) == 2 * HOUR
    assert float(_cell(review, "done-p90", "data-seconds")) == 6 * HOUR
    assert _cell(review, "open-now") == "0"
    check = re.search(r'<tr data-lane="operator" data-org="".*?</tr>', page.text, re.S).group(0)
    with app.app_context():
        platform = db.session.scalar(select(Organisation.name).where(Organisation.code == "PLATFORM"))
        db.session.remove()
    # the platform's lanes by the platform's name, as its organisation's own rows say it (it was 'The platform')
    assert "Platform operator" in check and f"<td>{platform}</td>" in check
    assert _cell(check, "claim-median") == "—"  # none claimed: said, not left blank
    assert (_cell(check, "opened", "data-value"), _cell(check, "completed", "data-value"), _cell(check, "open-now")) \
        == ("2", "0", "2")
    assert float(_cell(check, "oldest", "data-seconds")) == 5 * HOUR  # made ready at 1 h, now 6 h
    assert 'id="tasks-chart"' in page.text and 'data-table="task-table"' in page.text

    zh = client.get("/insight/tasks", headers=ZH).text
    assert "初审员" in zh and "平台运营" in zh and "任务等待时间" in zh
    # ten days on, the last 7 days saw nothing opened or completed; the two checks are still open
    _at(clock, 24 * 10)
    sign_in(client, "ana")  # the session of ten days ago has ended
    later = client.get("/insight/tasks?days=7", headers=EN).text
    check = re.search(r'<tr data-lane="operator" data-org="".*?</tr>', later, re.S).group(0)
    assert (_cell(check, "opened", "data-value"), _cell(check, "open-now")) == ("0", "2")
    assert client.get("/insight/tasks?days=3", headers=EN).status_code == 400


def test_the_task_statistics_put_the_longest_wait_first_and_link_it_to_its_task(client, reviews, clock, app):
    """An operator following up (催办) opens the task that has waited longest from its row."""
    _at(clock, 8)
    with app.app_context():
        oldest = db.session.scalar(select(HumanTask.id).where(HumanTask.element_id == "check",
                                                              HumanTask.state == "ready")
                                   .order_by(HumanTask.created_at, HumanTask.id).limit(1))
        db.session.remove()
    sign_in(client, "ana")
    page = client.get("/insight/tasks", headers=ZH).text
    rows = re.findall(r'<tr data-lane="([^"]*)" data-org="[^"]*"', page)
    assert rows[0] == "operator"  # two checks open, the oldest for 7 h; the reviews have none open
    check = re.search(r'<tr data-lane="operator" data-org="".*?</tr>', page, re.S).group(0)
    assert f'<a href="/tasks/{oldest}" title="打开等待最久的任务">' in check


def test_only_the_platforms_staff_read_the_heatmap_and_the_task_statistics(client, reviews, app):
    for user in ("rev1", "appl"):
        c = app.test_client()
        sign_in(c, user)
        assert 'id="insight-link"' not in c.get("/", headers=EN).text
        for path in ("/insight/tasks", "/processes/heat_review/heatmap?version=1"):
            assert c.get(path, headers=EN).status_code == 403, (user, path)


# -- the portfolio dashboard --------------------------------------------------------------------

TODAY = date(2026, 11, 28)


@pytest.fixture
def book(app, clock):
    """Loans of BANK1 (12,000 disbursed 2026-06-15, 45 days past due; 6,000 on 2026-09-03, current;
    3,000 on 2026-11-02, 10 days past due; 2,400 on 2026-08-01, paid off on 2026-11-20) and of BANK2
    (5,000 on 2026-10-20, 95 days past due); applications decided for two products."""
    ledger.business_day(clock, date(2026, 11, 20))
    with app.app_context():
        identity.ensure_platform_admin()
        bank1 = identity.create_org("BANK1", ["funder"], "East Bank").id
        bank2 = identity.create_org("BANK2", ["funder"], "River Credit").id
        trader = identity.create_org("TRADER", ["borrower"], "Trader Co").id
        identity.create_user("ana", "PLATFORM", ["auditor"])
        identity.create_user("fin1", "BANK1", ["finance"])
        identity.create_user("rev2", "BANK2", ["first_reviewer"])
        identity.create_user("appl", "TRADER", ["applicant"])
        db.session.commit()
        ledger.product()
        ids = {}
        for key, principal, on, funder, dpd in (("L1", "12000.00", date(2026, 6, 15), bank1, 45),
                                                ("L2", "6000.00", date(2026, 9, 3), bank1, 0),
                                                ("L3", "3000.00", date(2026, 11, 2), bank1, 10),
                                                ("L5", "2400.00", date(2026, 8, 1), bank1, 0),
                                                ("L4", "5000.00", date(2026, 10, 20), bank2, 95)):
            from app.services.ledger import loans
            ids[key] = loans.book_loan(loans.LoanRequest("CREDIT12", key, trader, Decimal(principal), 12, on,
                                                         funder)).id
            db.session.commit()
            db.session.execute(update(Loan).where(Loan.id == ids[key]).values(dpd=dpd))
            db.session.commit()
        payoff = Decimal(repayments.quote_payoff(ids["L5"], date(2026, 11, 20))["total"])
        repayments.take_payment_and_commit(repayments.PaymentNotice(ids["L5"], "PAYOFF-L5", payoff,
                                                                    received_on=date(2026, 11, 20)))
        assert db.session.get(Loan, ids["L5"]).status == "closed"
        products = {code: _product(code) for code in ("ORDERS", "PLEDGES")}
        t = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
        for n, (code, funder, status, days) in enumerate((
                ("ORDERS", bank1, "approved", 1), ("ORDERS", bank1, "active", 2), ("ORDERS", bank1, "rejected", 4),
                ("ORDERS", bank1, "submitted", None), ("PLEDGES", bank1, "rejected", 0.5),
                ("ORDERS", bank2, "approved", 10))):
            db.session.add(Application(
                number=f"APP-2026-{n:04d}", product_id=products[code], borrower_org_id=trader, funder_org_id=funder,
                amount=Decimal("1000.00"), term_months=6, status=status, submitted_at=t,
                decided_at=None if days is None else t + timedelta(days=days)))
        db.session.commit()
        db.session.remove()
    ledger.business_day(clock, TODAY)
    for user in ("ana", "fin1", "rev2", "appl"):
        set_password(app, user)
    return {"bank1": bank1, "bank2": bank2, "payoff": payoff}


def _product(code: str) -> int:
    from app.models import Product
    from app.services.ledger import loans

    loans.create_product({**ledger.PRODUCT, "code": code, "name": f"Product {code}"})
    db.session.commit()
    return db.session.scalar(select(Product.id).where(Product.code == code))


def _value(page: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}" data-value="([^"]*)"', page).group(1)


def _buckets(page: str) -> dict[str, tuple[str, str]]:
    table = re.search(r'<table id="bucket-table">.*?</table>', page, re.S).group(0)
    return {bucket: (_cell(row, "loans", "data-value"), _cell(row, "outstanding", "data-value"))
            for bucket, row in re.findall(r'<tr data-bucket="([^"]+)">(.*?)</tr>', table, re.S)}


def _months(page: str) -> dict[str, tuple[str, str]]:
    return {month: (_cell(row, "disbursed", "data-value"), _cell(row, "repaid", "data-value"))
            for month, row in re.findall(r'<tr data-month="([^"]+)">(.*?)</tr>', page, re.S)}


def test_the_platform_sees_every_funders_portfolio(client, book):
    sign_in(client, "ana")
    page = client.get("/dashboard", headers=EN)
    assert page.status_code == 200 and 'id="dashboard-link"' in page.text
    text = page.text
    assert _value(text, "outstanding") == "26000.00"  # 12,000 + 6,000 + 3,000 + 5,000; the paid-off loan none
    assert "¥26,000.00" in text
    assert _value(text, "par30") == "65.38"  # (12,000 + 5,000) / 26,000
    assert _buckets(text) == {"current": ("1", "6000.00"), "1-30": ("1", "3000.00"), "31-60": ("1", "12000.00"),
                              "61-90": ("0", "0.00"), "91+": ("1", "5000.00")}
    months = _months(text)
    assert list(months) == ["2025-12", *[f"2026-{m:02d}" for m in range(1, 12)]]
    assert months["2026-06"] == ("12000.00", "0.00") and months["2026-08"] == ("2400.00", "0.00")
    assert months["2026-09"] == ("6000.00", "0.00") and months["2026-10"] == ("5000.00", "0.00")
    assert months["2026-11"] == ("3000.00", f"{book['payoff']:.2f}")
    products = {name: (_cell(row, "decided"), _cell(row, "approved"), _cell(row, "rate", "data-value"),
                       _cell(row, "days", "data-value"))
                for name, row in re.findall(r'<tr data-product="\d+">\s*<th scope="row">([^<]+)</th>(.*?)</tr>',
                                            text, re.S)}
    # ORDERS: four decided (1, 2, 4, 10 days), three approved; PLEDGES: one rejected in half a day
    assert products == {"Product ORDERS": ("4", "3", "75.00", "3.0"), "Product PLEDGES": ("1", "0", "0.00", "0.5")}
    assert 'id="funder-filter"' in text

    bank2 = client.get(f"/dashboard?funder={book['bank2']}", headers=EN).text
    assert _value(bank2, "outstanding") == "5000.00" and _value(bank2, "par30") == "100.00"
    assert "River Credit" in bank2
    assert client.get("/dashboard?funder=999999", headers=EN).status_code == 404


def test_a_funders_staff_see_only_their_own_loans(client, book, app):
    sign_in(client, "fin1")
    for path in ("/dashboard", f"/dashboard?funder={book['bank2']}"):  # the filter does not widen it
        page = client.get(path, headers=EN)
        assert page.status_code == 200
        text = page.text
        assert _value(text, "outstanding") == "21000.00"
        assert _value(text, "par30") == "57.14"  # 12,000 / 21,000
        assert _buckets(text)["91+"] == ("0", "0.00")
        assert 'id="funder-filter"' not in text and "River Credit" not in text
        assert _months(text)["2026-10"] == ("0.00", "0.00")  # BANK2's loan is not theirs
        assert "Product PLEDGES" in text
        assert re.search(r'<tr data-product="\d+">\s*<th scope="row">Product ORDERS</th>\s*<td class="decided"><a [^>]*>3</a></td>',
                         text)
    other = app.test_client()
    sign_in(other, "rev2")
    assert _value(other.get("/dashboard", headers=EN).text, "outstanding") == "5000.00"


def test_a_borrower_may_not_read_the_dashboard(client, book, app):
    sign_in(client, "appl")
    assert 'id="dashboard-link"' not in client.get("/", headers=EN).text
    refused = client.get("/dashboard", headers=EN)
    assert refused.status_code == 403
    said = _refusal(refused.text)  # it said "portfolio.read needs the role analyst or auditor or operator or ..."
    assert "portfolio.read" not in said and "first_reviewer" not in said, said
    assert "Funder finance" in said and "First reviewer" in said and "Auditor" in said, said
    in_chinese = app.test_client()
    sign_in(in_chinese, "appl")
    page = in_chinese.get("/dashboard", headers=ZH)
    said = _refusal(page.text)
    assert page.status_code == 403 and "资金方财务" in said and "初审员" in said and "审计员" in said, said
    assert not re.search(r"[A-Za-z]{3,}", said), said  # no code, no English word on the Chinese page


def _refusal(page: str) -> str:
    """The words of a 403 page that say why: the text between its heading and the link home."""
    main = re.search(r"<main.*?</main>", page, re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


def test_the_dashboard_in_chinese(client, book):
    sign_in(client, "ana")
    page = client.get("/dashboard", headers=ZH).text
    for words in ("贷款组合", "未还本金", "逾期天数", "审批通过率", "¥26,000.00"):
        assert words in page, words
