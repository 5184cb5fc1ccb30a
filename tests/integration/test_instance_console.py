"""Instance search (`/instances`) and the instance page (`/instances/<id>`, issue 16).

The search finds instances by each filter — process, version, status, business key (start or any part),
party, start date, and the element where it waits (`instance_waits`, written by every step). The page
marks the diagram's elements completed, active and failed, counts the runs of an element a loop passed
more than once, lists the history in the reader's language with the data that changed, the open tasks,
timers and messages awaited, incidents and the chain's verdict. A party to the deal reads its own deal
without data keys, values or error texts; another organisation's instance is 404."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Application, HumanTask, InstanceEvent, InstanceWait, Organisation
from app.services.identity import directory as identity
from app.services.origination import applications
from app.services.workflow import tasks
from app.services.workflow.deployment import DiagramFile, deploy_and_commit
from tests.conftest import FIXTURES
from tests.integration.instance_api import complete, open_tasks, start
from tests.integration.test_application_pages import PDF, _deploy_shipped, _draft, world  # noqa: F401 - a fixture
from tests.integration.test_identity import set_password, sign_in

API = "/api/v1"
EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}


def _diagram(review_name: str = "Review the loop") -> bytes:
    """A loop run `limit` times by scripts, the funder's first review, a check that fails when the review
    says so, then a message and a one-hour timer awaited side by side."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_console_loop" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:message id="msg_news" name="console_news"/>
  <bpmn:process id="console_loop" name="Console loop" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="name@zh" value="控制台循环"/></spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_review" name="first_reviewer"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="init" name="Init"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:script>i = 0</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="merge"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f_back</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:scriptTask id="step" name="Count a pass"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="name@zh" value="计数一次"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:script>i += 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" name="Again?" default="f_review"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f_back</bpmn:outgoing><bpmn:outgoing>f_review</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="review" name="{review_name}">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="name@zh" value="审查循环"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f_review</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="check" name="Check the ratio"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:script>ratio = 1 / (0 if fail else 1)</bpmn:script></bpmn:scriptTask>
    <bpmn:parallelGateway id="fork"><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing><bpmn:outgoing>f7</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:intermediateCatchEvent id="wait_news" name="News arrived">
      <bpmn:incoming>f6</bpmn:incoming><bpmn:outgoing>f8</bpmn:outgoing>
      <bpmn:messageEventDefinition id="med_news" messageRef="msg_news"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="cool" name="An hour passed">
      <bpmn:incoming>f7</bpmn:incoming><bpmn:outgoing>f9</bpmn:outgoing>
      <bpmn:timerEventDefinition id="ted_cool"><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:parallelGateway id="join"><bpmn:incoming>f8</bpmn:incoming><bpmn:incoming>f9</bpmn:incoming><bpmn:outgoing>f10</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f10</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="init"/>
    <bpmn:sequenceFlow id="f1" sourceRef="init" targetRef="merge"/>
    <bpmn:sequenceFlow id="f2" sourceRef="merge" targetRef="step"/>
    <bpmn:sequenceFlow id="f3" sourceRef="step" targetRef="again"/>
    <bpmn:sequenceFlow id="f_back" sourceRef="again" targetRef="merge">
      <bpmn:conditionExpression>i &lt; limit</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_review" sourceRef="again" targetRef="review"/>
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="check"/>
    <bpmn:sequenceFlow id="f5" sourceRef="check" targetRef="fork"/>
    <bpmn:sequenceFlow id="f6" sourceRef="fork" targetRef="wait_news"/>
    <bpmn:sequenceFlow id="f7" sourceRef="fork" targetRef="cool"/>
    <bpmn:sequenceFlow id="f8" sourceRef="wait_news" targetRef="join"/>
    <bpmn:sequenceFlow id="f9" sourceRef="cool" targetRef="join"/>
    <bpmn:sequenceFlow id="f10" sourceRef="join" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


@pytest.fixture
def console(app, client, auth, clock):
    """console_loop v1 and v2; deals: LOOP-1 (BORR1 / BANK1, three passes, waiting at the review),
    LOOP-2 (BORR2 / BANK1 on v2, review done: waiting for news and the timer), LOOP-3 (BORR1, the check
    failed), and OTHER-9 a day later on v2 (cancelled). Users with passwords: the analyst `ana`,
    BORR1's applicant `appl1`, BORR2's `appl2`."""
    with app.app_context():
        for code, kinds in (("BORR1", ["borrower"]), ("BORR2", ["borrower"]), ("BANK1", ["funder"])):
            identity.create_org(code, kinds, f"Organisation {code}")
        identity.create_user("ana", "PLATFORM", ["analyst"], display_name="郑分析")
        identity.create_user("appl1", "BORR1", ["applicant"])
        identity.create_user("appl2", "BORR2", ["applicant"])
        identity.create_user("rev1", "BANK1", ["first_reviewer"], display_name="Reviewer One")
        deploy_and_commit([DiagramFile("console_loop.bpmn", _diagram())])
        db.session.remove()
    ids = {}

    def begin(key: str, borrower: str, **data):
        body = {"process_id": "console_loop", "business_key": key, "data": {"limit": 3, "fail": False, **data},
                "parties": {"borrower": borrower, "funder": "BANK1"}}
        r = client.post(f"{API}/process-instances", json=body, headers=auth)
        assert r.status_code == 201, r.json
        ids[key] = r.json["id"]
        return ids[key]

    begin("LOOP-1", "BORR1")
    with app.app_context():
        deploy_and_commit([DiagramFile("console_loop.bpmn", _diagram("Review the loop again"))])
        db.session.remove()
    complete(client, auth, open_tasks(client, auth, begin("LOOP-2", "BORR2", limit=1))["review"]["id"],
             note="looks fine")
    r = client.post(f"{API}/tasks/{open_tasks(client, auth, begin('LOOP-3', 'BORR1'))['review']['id']}/complete",
                    json={"data": {"fail": True}}, headers=auth)
    assert r.status_code == 200 and r.json["state"] == "completed", r.json  # the check then fails
    clock.advance(days=1)
    begin("OTHER-9", "BORR2")
    assert client.post(f"{API}/process-instances/{ids['OTHER-9']}/cancel", headers=auth).status_code == 200
    for user in ("ana", "appl1", "appl2"):
        set_password(app, user)
    return ids


def _found(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-instance="(\d+)"', page)]


def _search(client, **query) -> list[int]:
    r = client.get("/instances", query_string=query, headers=EN)
    assert r.status_code == 200, r.text
    return _found(r.text)


def test_search_finds_instances_by_each_filter(client, console, app):
    sign_in(client, "ana")
    every = [console[k] for k in ("OTHER-9", "LOOP-3", "LOOP-2", "LOOP-1")]  # newest first
    assert _search(client) == every
    assert _search(client, process="console_loop", version=1) == [console["LOOP-1"]]
    assert _search(client, process="console_loop", version=2) == every[:3]
    assert _search(client, status="error") == [console["LOOP-3"]]
    assert _search(client, status="cancelled") == [console["OTHER-9"]]
    assert _search(client, key="LOOP") == every[1:]
    assert _search(client, key="OOP-", match="contains") == every[1:]
    assert _search(client, key="OOP-") == []  # a prefix: nothing starts with it
    assert _search(client, key="100%") == []  # LIKE's wildcards are literal
    with app.app_context():
        borr2 = str(db.session.scalar(select(Organisation.id).where(Organisation.code == "BORR2")))
    assert f'<option value="{borr2}">Organisation BORR2</option>' in client.get("/instances", headers=EN).text
    assert _search(client, party=borr2) == [console["OTHER-9"], console["LOOP-2"]]
    assert _search(client, **{"from": "2026-11-29"}) == [console["OTHER-9"]]
    assert _search(client, to="2026-11-28") == every[1:]
    assert _search(client, waits="review") == [console["LOOP-1"]]
    assert _search(client, waits="wait_news") == [console["LOOP-2"]]
    assert _search(client, waits="cool") == [console["LOOP-2"]]
    assert _search(client, waits="check") == [console["LOOP-3"]]  # where it failed
    # the cancelled instance waits nowhere any more
    with app.app_context():
        assert db.session.scalars(select(InstanceWait.element_id).where(
            InstanceWait.instance_id == console["OTHER-9"])).all() == []


def test_a_date_the_search_cannot_use_is_said_next_to_it(client, console):
    """A date that is none (2026-13-45) gave every instance, and a start after the end none, without a word."""
    sign_in(client, "ana")
    bad = client.get("/instances", query_string={"from": "2026-13-45"}, headers=EN)
    assert bad.status_code == 422 and len(_found(bad.text)) == 4
    assert re.search(r'id="from-error">Write the date as YYYY-MM-DD, such as 2026-12-01; the search left it out.<',
                     bad.text) and 'value="2026-13-45"' in bad.text
    backwards = client.get("/instances", query_string={"from": "2026-12-08", "to": "2026-12-01"}, headers=ZH)
    assert backwards.status_code == 422 and _found(backwards.text) == []
    assert 'id="to-error">结束日期早于开始日期：不会有符合条件的实例。<' in backwards.text
    assert client.get("/instances", query_string={"from": "2026-11-29"}, headers=EN).status_code == 200


def test_the_waits_filter_offers_the_chosen_process_elements_by_name(client, console):
    sign_in(client, "ana")
    page = client.get("/instances", query_string={"process": "console_loop"}, headers=ZH).text
    waits = re.search(r'<select name="waits".*?</select>', page, re.S).group(0)
    assert '<option value="review">审查循环</option>' in waits
    assert 'value="step"' not in waits  # a script task does not wait
    row = re.search(rf'<tr data-instance="{console["LOOP-1"]}">.*?</tr>', page, re.S).group(0)
    assert "审查循环" in row and "控制台循环" in row


def test_search_is_for_the_platforms_staff(client, console):
    sign_in(client, "appl1")
    assert client.get("/instances").status_code == 403


def _marker_map(page: str) -> dict[str, str]:
    markers = re.search(r'data-markers="([^"]*)"', page).group(1)
    return dict(pair.rsplit(":", 1) for pair in markers.split())


def _counts(page: str) -> dict[str, int]:
    counts = re.search(r'data-counts="([^"]*)"', page).group(1)
    return {k: int(v) for k, v in (pair.rsplit(":", 1) for pair in counts.split())}


def test_the_page_marks_completed_active_and_failed_elements_and_counts_the_loops_runs(client, console):
    sign_in(client, "ana")
    page = client.get(f"/instances/{console['LOOP-1']}", headers=EN).text
    markers = _marker_map(page)
    assert markers["review"] == "active"
    assert {markers[e] for e in ("start", "init", "merge", "step", "again")} == {"completed"}
    assert "check" not in markers and "end" not in markers
    assert _counts(page) == {"merge": 3, "step": 3, "again": 3}
    failed = client.get(f"/instances/{console['LOOP-3']}", headers=EN).text
    assert _marker_map(failed)["check"] == "failed"
    assert _marker_map(failed)["review"] == "completed"
    incidents = re.search(r'<section class="card" id="incidents">.*?</section>', failed, re.S).group(0)
    assert "Check the ratio" in incidents and "division by zero" in incidents  # the staff read the error
    assert f'href="/instances/{console["LOOP-3"]}/repair"' not in failed  # an analyst may not repair
    timeline = re.search(r'<ol id="timeline">.*?</ol>', failed, re.S).group(0)
    assert "division by zero" in timeline  # the failure's reason, in words
    for internal in ('"code"', "engine_task_id", "%(", "null"):  # it showed the stored structures
        assert internal not in timeline, internal
    waiting = client.get(f"/instances/{console['LOOP-2']}", headers=EN).text
    assert {k: v for k, v in _marker_map(waiting).items() if v == "active"} == {"wait_news": "active", "cool": "active"}
    assert _counts(waiting) == {}  # one pass only


def test_the_admin_is_offered_the_repair_page_of_a_failed_instance(client, console, app):
    with app.app_context():
        identity.create_user("adm", "PLATFORM", ["platform_admin"])
        db.session.remove()
    set_password(app, "adm")
    sign_in(client, "adm")
    page = client.get(f"/instances/{console['LOOP-3']}", headers=EN).text
    assert f'href="/instances/{console["LOOP-3"]}/repair"' in page


def test_the_timeline_says_who_did_what_when_with_the_data_that_changed(client, console):
    sign_in(client, "ana")
    page = client.get(f"/instances/{console['LOOP-2']}", headers=EN).text
    rows = re.findall(r'<li class="event[^"]*" data-event="\d+"(?: data-element="([^"]*)" tabindex="0")?>(.*?)</li>',
                      page, re.S)
    texts = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip() for _element, body in rows]
    assert [t.split(" ", 2)[2] for t in texts] == [
        "Process started Platform administrator fail false limit 1",  # who started it, and the data it began with
        "Task opened: Review the loop again the platform",
        "Task done: Review the loop again Platform administrator note looks fine",  # what the form submitted
    ]
    assert [element for element, _body in rows] == ["", "review", "review"]  # a task's rows point at it
    assert texts[0].startswith("2026-11-28 17:00:00")  # in the platform's time zone
    assert 'id="waiting"' in page and "News arrived" in page and "An hour passed" in page
    assert '<code translate="no" class="message-name">console_news</code>' in page
    assert re.search(r"An hour passed · due ", page)


def test_both_languages(client, console):
    sign_in(client, "ana")
    zh = client.get(f"/instances/{console['LOOP-1']}", headers=ZH).text
    assert "控制台循环" in zh and "审查循环" in zh
    assert "Process started" not in zh and "Open tasks" not in zh and "Offered to" not in zh
    en = client.get(f"/instances/{console['LOOP-1']}", headers=EN).text
    assert "Console loop" in en and "Open tasks" in en


def test_a_party_reads_its_own_deal_without_the_scripts_internals_and_another_is_404(client, console):
    sign_in(client, "appl1")
    page = client.get(f"/instances/{console['LOOP-3']}", headers=EN)
    assert page.status_code == 200
    text = page.text
    timeline = re.search(r'<ol id="timeline">.*?</ol>', text, re.S).group(0)
    assert "limit" not in text and 'class="changes"' not in text and 'id="instance-data"' not in text  # no data
    assert "ZeroDivisionError" not in text and "division" not in text  # no error's text
    assert "Process started" in timeline and "Task opened" not in timeline and "Task done" not in timeline
    assert "Review the loop" not in text  # the funder's review is not the borrower's to read
    assert "review" not in _marker_map(text)
    assert _marker_map(text)["check"] == "failed"
    assert 'id="chain"' not in text and "/repair" not in text
    # the deal's process by its name and business key: no instance id, no version (the staff's words)
    heading = re.search(r"<h1>(.*?)</h1>", text, re.S).group(1)
    assert "LOOP-3" in heading and "Instance" not in heading and "Version" not in text, heading
    diagram = client.get(f"/instances/{console['LOOP-3']}/diagram")
    assert diagram.status_code == 200 and b"<bpmn:script>" not in diagram.data and b"1 / (0" not in diagram.data
    assert b"conditionExpression" not in diagram.data and b'id="check"' in diagram.data
    assert client.get(f"/instances/{console['LOOP-2']}").status_code == 404  # BORR2's deal
    assert client.get(f"/instances/{console['LOOP-2']}/diagram").status_code == 404
    sign_in(client, "appl2")
    assert client.get(f"/instances/{console['LOOP-2']}").status_code == 200


def test_the_staff_diagram_keeps_the_scripts_and_names_elements_in_the_readers_language(client, console):
    sign_in(client, "ana")
    zh = client.get(f"/instances/{console['LOOP-1']}/diagram", headers=ZH).data.decode()
    assert 'name="计数一次"' in zh and "i += 1" in zh


def test_the_chain_verdict_reports_an_altered_event(client, console, app):
    sign_in(client, "ana")
    page = client.get(f"/instances/{console['LOOP-1']}", headers=EN).text
    assert 'id="chain" class="intact"' in page
    with app.app_context():
        first = db.session.scalar(select(InstanceEvent.id).where(InstanceEvent.instance_id == console["LOOP-1"])
                                  .order_by(InstanceEvent.id).offset(1).limit(1))
        db.session.execute(update(InstanceEvent).where(InstanceEvent.id == first).values(details={"forged": True}))
        db.session.commit()
    page = client.get(f"/instances/{console['LOOP-1']}", headers=EN).text
    assert 'id="chain" class="broken"' in page
    assert f'data-event="{first}"' in page and re.search(rf'class="event broken" data-event="{first}"', page)
    zh = client.get(f"/instances/{console['LOOP-1']}", headers=ZH).text
    assert 'id="chain" class="broken"' in zh and "历史记录被篡改过。" in zh


def _submitted_order_deal(app, runner) -> tuple[int, int]:
    """The shipped diagrams deployed and app1's order-financing application submitted: (its id, its instance's)."""
    _deploy_shipped(app, runner)
    application_id = _draft(app)
    with app.app_context():
        principal = identity.principal_for("app1")
        for kind in ("order", "invoice"):
            applications.add_document(principal, application_id, kind, f"{kind}.pdf", PDF)
        applications.submit(principal, application_id)
        instance_id = db.session.get(Application, application_id).instance_id
        db.session.remove()
    assert instance_id is not None
    return application_id, instance_id


@pytest.mark.usefixtures("world")  # test_application_pages' organisations, users and order-financing product
def test_the_deal_page_links_its_parties_to_the_deals_instance(client, app, runner):
    """A borrower's application page links to its deal's instance page, which it may open; another
    borrower gets neither (the shipped diagrams, an order-financing deal submitted)."""
    application_id, instance_id = _submitted_order_deal(app, runner)
    sign_in(client, "app1")
    page = client.get(f"/applications/{application_id}", headers=ZH).text
    assert f'<a href="/instances/{instance_id}" id="deal-instance-link">在流程图上查看业务的每一步</a>' in page
    assert client.get(f"/instances/{instance_id}", headers=ZH).status_code == 200
    drawn = client.get(f"/instances/{instance_id}/diagram", headers=ZH).data.decode()
    names = set(re.findall(r' name="([^"]*)"', drawn))  # lanes, flows and the pool said in English and as codes
    assert {"核心企业签署人", "平台自动处理", "有异议", "确认"} <= names, names
    assert not names & {"core_signer", "system", "Dispute", "Confirm", "Order financing application"}, names
    sign_in(client, "app2")
    assert client.get(f"/instances/{instance_id}").status_code == 404


def _waits_of(app, instance_id: int) -> list[str]:
    with app.app_context():
        found = list(db.session.scalars(select(InstanceWait.element_id).where(InstanceWait.instance_id == instance_id)
                                        .order_by(InstanceWait.element_id)))
        db.session.remove()
    return found


def test_an_event_based_gateway_waits_at_itself_and_its_events_and_a_receive_task_at_itself(client, app, auth):
    with app.app_context():
        deploy_and_commit([DiagramFile(name, (FIXTURES / "bpmn" / name).read_bytes())
                           for name in ("news_or_timer.bpmn", "correlated_receive.bpmn")])
        db.session.remove()
    gateway = start(client, auth, "news_or_timer", "NEWS-1", wake_at="2026-11-30T09:00:00+00:00",
                    later="2026-12-01T09:00:00+00:00", woken=0)["id"]
    assert _waits_of(app, gateway) == ["gw", "news", "timer"]
    receive = start(client, auth, "correlated_receive", "ORDER-7", order_no="PO-7")["id"]
    assert _waits_of(app, receive) == ["await_payment"]
    with app.app_context():
        identity.create_user("ana", "PLATFORM", ["analyst"])
        db.session.remove()
    set_password(app, "ana")
    sign_in(client, "ana")
    page = client.get(f"/instances/{gateway}", headers=EN).text
    # the gateway's timer branch, due at its time (the platform's zone: 09:00 UTC is 17:00 in Shanghai)
    assert re.search(r'Timer: <span class="code" translate="no">timer</span> · due 2026-11-30 17:00:00', page)
    assert "Waiting for the message: <span class=\"code\" translate=\"no\">news</span>" in page


def test_a_long_life_shows_its_latest_steps(client, console, monkeypatch):
    from app.services.workflow import instance_view

    monkeypatch.setattr(instance_view, "TIMELINE_ROWS", 2)
    sign_in(client, "ana")
    page = client.get(f"/instances/{console['LOOP-2']}", headers=EN).text
    assert "The latest 2 of its 3 steps are shown." in page
    assert len(re.findall(r'<li class="event', page)) == 2 and "Process started" not in page  # the oldest left out


RESERVED_IDS = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" id="d" targetNamespace="t">
  <process id="reserved_ids" name="Reserved ids" isExecutable="true">
    <startEvent id="Start" name="Order received"/>
    <userTask id="pack" name="Pack the order"/>
    <endEvent id="End" name="Order shipped"/>
    <sequenceFlow id="f1" sourceRef="Start" targetRef="pack"/>
    <sequenceFlow id="f2" sourceRef="pack" targetRef="End"/>
  </process>
  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="reserved_ids">
    <bpmndi:BPMNShape id="Start_di" bpmnElement="Start"/><bpmndi:BPMNShape id="End_di" bpmnElement="End"/>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</definitions>"""


def test_elements_named_as_spiffworkflows_own_run_and_the_page_names_them(client, app, auth):
    """A start event `Start` and an end event `End` (as Camunda's own tests draw them) took the place of
    SpiffWorkflow's own: the instance could not start. They run under `Start_2` and `End_2`, and the page
    marks and names them: the served diagram uses the ids the instance ran under."""
    with app.app_context():
        deploy_and_commit([DiagramFile("reserved_ids.bpmn", RESERVED_IDS)])
        identity.create_user("ana", "PLATFORM", ["analyst"])
        db.session.remove()
    instance = start(client, auth, "reserved_ids", "ORDER-1")["id"]
    complete(client, auth, open_tasks(client, auth, instance)["pack"]["id"])
    set_password(app, "ana")
    sign_in(client, "ana")
    page = client.get(f"/instances/{instance}", headers=EN).text
    assert _marker_map(page) == {"Start_2": "completed", "pack": "completed", "End_2": "completed"}
    assert "Order shipped" in page
    served = client.get(f"/instances/{instance}/diagram", headers=EN).data.decode()
    assert 'id="Start_2"' in served and 'bpmnElement="Start_2"' in served and 'sourceRef="Start_2"' in served
    assert 'id="Start"' not in served and 'bpmnElement="End"' not in served


CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="renewal" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:callActivity id="call_cooling" calledElement="cooling"/>
    <bpmn:intermediateCatchEvent id="reminder"><bpmn:timerEventDefinition>
      <bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:parallelGateway id="join"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="call_cooling"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="reminder"/>
    <bpmn:sequenceFlow id="f4" sourceRef="call_cooling" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="reminder" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
CALLED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d2" targetNamespace="t">
  <bpmn:process id="cooling" isExecutable="true">
    <bpmn:startEvent id="c_start"/>
    <bpmn:intermediateCatchEvent id="cooling_off"><bpmn:timerEventDefinition>
      <bpmn:timeDuration>"P7D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="c_end"/>
    <bpmn:sequenceFlow id="c1" sourceRef="c_start" targetRef="cooling_off"/>
    <bpmn:sequenceFlow id="c2" sourceRef="cooling_off" targetRef="c_end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _renewal_seen_by_an_analyst(client, app, auth, key: str) -> int:
    """A `renewal` instance (calling `cooling`) started under `key`, and the analyst ana signed in; its id."""
    with app.app_context():
        deploy_and_commit([DiagramFile("cooling.bpmn", CALLED.encode()), DiagramFile("renewal.bpmn", CALLER.encode())])
        identity.create_user("ana", "PLATFORM", ["analyst"])
        db.session.remove()
    instance_id = start(client, auth, "renewal", key)["id"]
    set_password(app, "ana")
    sign_in(client, "ana")
    return instance_id


def test_a_timer_in_a_called_process_is_due_when_its_own_run_says(client, app, auth):
    """Both timers showed the instance's next wake-up (the earliest, tomorrow's): the called process's seven days
    were said to be due tomorrow."""
    instance_id = _renewal_seen_by_an_analyst(client, app, auth, "RENEW-1")
    page = client.get(f"/instances/{instance_id}", headers=EN).text
    dues = dict(re.findall(r'<li class="timer" data-element="(\w+)">.*? · due ([^<]+)</li>', page))
    assert dues == {"reminder": "2026-11-29 17:00:00", "cooling_off": "2026-12-05 17:00:00"}, dues


def test_the_waits_filter_offers_the_steps_of_the_processes_the_chosen_one_calls(client, app, auth):
    """A task or event of a called process waits in its caller's instance: the search by process offered only the
    caller's own steps, while its rows said they waited at the called process's (an order financing deal waits at
    the first review of risk approval)."""
    instance_id = _renewal_seen_by_an_analyst(client, app, auth, "RENEW-2")
    page = client.get("/instances", query_string={"process": "renewal"}, headers=EN).text
    waits = re.search(r'<select name="waits".*?</select>', page, re.S).group(0)
    offered = set(re.findall(r'<option value="(\w+)"', waits))
    assert {"reminder", "cooling_off"} <= offered, offered
    assert _search(client, process="renewal", waits="cooling_off") == [instance_id]


@pytest.mark.parametrize(("headers", "said"), [
    (ZH, ("确认意见", "确认", "确认金额（元）", "¥600,000.00", "订单金额")),
    (EN, ("Decision", "Confirm", "Confirmed amount (CNY)", "¥600,000.00", "Order amount"))])
def test_the_staff_read_a_tasks_answers_in_the_words_of_its_form(client, app, runner, world, headers, said):  # noqa: F811
    """An auditor read `decision confirm` and `confirmed_amount 600000.00` on a Chinese page: each key is now the
    form's label in the reader's language (the key beside it, for the analysts), a choice its label, an amount money;
    the data now likewise, by the form that last wrote each key; a key no form asked for stays as it is."""
    _application_id, instance_id = _submitted_order_deal(app, runner)
    with app.app_context():
        [task_id] = [t.id for t in db.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.element_id == "confirm_receivable"))]
        tasks.complete_task(task_id, {"decision": "confirm", "confirmed_amount": "600000.00", "due_date": "2027-05-30",
                                      "collection_account": "6222 0210 0100 8888"}, identity.principal_for("signer1"))
        identity.create_user("aud", "PLATFORM", ["auditor"])
        db.session.commit()
        db.session.remove()
    set_password(app, "aud")
    sign_in(client, "aud")
    page = client.get(f"/instances/{instance_id}", headers=headers).text
    label, choice, amount_label, amount, order_label = said
    done = re.search(r'<li class="event[^"]*"[^>]*>(?:(?!</li>).)*?(?:任务已完成|Task done)(.*?)</li>', page, re.S)
    assert done, page
    rows = dict(re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", done.group(1), re.S))
    assert rows[f'{label} <code class="key" translate="no">decision</code>'] == f'<span class="words">{choice}</span>'
    assert rows[f'{amount_label} <code class="key" translate="no">confirmed_amount</code>'] == \
        f'<span class="words">{amount}</span>'
    now = re.search(r'<dl class="changes" id="instance-data">(.*?)</dl>', page, re.S).group(1)
    assert f'{label} <code class="key" translate="no">decision</code></dt><dd><span class="words">{choice}' in now
    assert '<dt><code translate="no">product_kind</code></dt><dd translate="no">order_financing</dd>' in now
    # what the deal started with, in the words its diagram shows a task's key data in (auditor walk: raw keys)
    order = re.search(rf'<dt>{order_label} <code class="key" translate="no">order_amount</code></dt><dd>(.*?)</dd>',
                      now, re.S)
    assert order and re.search(r'<span class="words">¥[\d,]+\.\d\d</span>', order.group(1)), now
