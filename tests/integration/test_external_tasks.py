"""Camunda 7's external task workers do Loanflow's service tasks (`/engine-rest/external-task`, issue 17): each
request here is one Camunda's external task clients send (fetchAndLock with topics and lock durations, complete
with typed variables, failure with retries and a retry timeout, bpmnError, extendLock, unlock).

Before, a topic could only be mapped to an operator written in Python for Loanflow: the worker a Camunda user
already runs (Java, JavaScript, Python) had nothing to fetch from."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ExternalTask, Incident, ProcessInstance
from app.services.identity import directory as identity
from app.services.workflow import instances, operator_mappings
from app.services.workflow.deployment import DiagramFile, check_diagrams, deploy_and_commit
from tests.integration.test_money_races import race_posts

REST = "/engine-rest/external-task"
PAYMENT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
  <bpmn:error id="no_funds" errorCode="NO_FUNDS"/>
  <bpmn:process id="invoicePayment" name="Pay the invoice" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="pay" name="Pay" camunda:type="external" camunda:topic="invoice-payment"/>
    <bpmn:boundaryEvent id="refused" attachedToRef="pay">
      <bpmn:errorEventDefinition errorRef="no_funds"/>
    </bpmn:boundaryEvent>
    <bpmn:exclusiveGateway id="paid_q" default="to_unpaid"/>
    <bpmn:endEvent id="paid_end"/>
    <bpmn:endEvent id="unpaid_end"/>
    <bpmn:endEvent id="refused_end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay"/>
    <bpmn:sequenceFlow id="f2" sourceRef="pay" targetRef="paid_q"/>
    <bpmn:sequenceFlow id="to_paid" sourceRef="paid_q" targetRef="paid_end">
      <bpmn:conditionExpression>${transferred == true}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_unpaid" sourceRef="paid_q" targetRef="unpaid_end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="refused" targetRef="refused_end"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def tokens(ctx):
    admin_token = identity.ensure_platform_admin()
    identity.create_user("op", "PLATFORM", ["operator"])
    identity.create_user("aud", "PLATFORM", ["auditor"])
    admin = identity.principal_for("admin")
    operator_mappings.map_operator(admin, "topic", "invoice-payment", "camunda.external_task")
    db.session.commit()
    deploy_and_commit([DiagramFile("payment.bpmn", PAYMENT.encode())])
    found = {"admin": admin_token, "op": identity.issue_token("op"), "aud": identity.issue_token("aud")}
    db.session.commit()
    return found


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _start(amount: int = 120) -> int:
    started = instances.start("invoicePayment", identity.principal_for("admin"), f"INV-{amount}",
                              {"amount": amount, "creditor": "Great Pizza"})
    db.session.commit()
    return int(started["id"])


def _fetch(client, token: str, worker: str = "payer-1", max_tasks: int = 5, lock: int = 60_000, **topic):
    return client.post(f"{REST}/fetchAndLock", headers=_bearer(token), json={
        "workerId": worker, "maxTasks": max_tasks, "usePriority": True,
        "topics": [{"topicName": "invoice-payment", "lockDuration": lock, **topic}]})


def _instance(instance_id: int) -> ProcessInstance:
    db.session.rollback()
    return db.session.get(ProcessInstance, instance_id, populate_existing=True)


def test_a_mapped_topic_deploys_and_its_instance_waits_for_a_worker(client, tokens):
    said = [str(p.reason) for p in check_diagrams([DiagramFile("payment.bpmn", PAYMENT.encode())]) if p.element_id == "pay"]
    assert any("camunda.external_task" in r for r in said), said
    instance_id = _start()
    instance = _instance(instance_id)
    assert instance.status == "waiting"
    (row,) = db.session.scalars(select(ExternalTask)).all()
    assert (row.instance_id, row.element_id, row.topic, row.worker_id) == (instance_id, "pay", "invoice-payment", None)


def test_a_worker_fetches_completes_and_the_instance_goes_on_with_its_variables(client, tokens):
    instance_id = _start()
    assert _fetch(client, tokens["op"], max_tasks=0).json == []
    fetched = _fetch(client, tokens["op"], variables=["amount"])
    assert fetched.status_code == 200, fetched.json
    (task,) = fetched.json
    assert (task["topicName"], task["workerId"], task["activityId"], task["businessKey"]) == (
        "invoice-payment", "payer-1", "pay", "INV-120")
    assert task["processInstanceId"] == str(instance_id) and task["processDefinitionKey"] == "invoicePayment"
    assert task["variables"] == {"amount": {"value": 120, "type": "Integer", "valueInfo": {}}}
    assert task["lockExpirationTime"].endswith("+0000")
    assert _fetch(client, tokens["op"], worker="payer-2").json == []  # locked: no one else gets it

    wrong = client.post(f"{REST}/{task['id']}/complete", headers=_bearer(tokens["op"]), json={"workerId": "payer-2"})
    assert wrong.status_code == 400 and "payer-2" in wrong.json["message"], wrong.json
    done = client.post(f"{REST}/{task['id']}/complete", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-1", "variables": {"transferred": {"value": True, "type": "Boolean"},
                                             "reference": {"value": "TX-88", "type": "String"}}})
    assert done.status_code == 204, done.json
    instance = _instance(instance_id)
    assert instance.status == "completed" and instance.data["reference"] == "TX-88"
    assert not [k for k in instance.data if k.startswith("spiff__")]  # the variables are the process's, no result
    again = client.post(f"{REST}/{task['id']}/complete", headers=_bearer(tokens["op"]), json={"workerId": "payer-1"})
    assert again.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(ExternalTask)) == 0
    kinds = [e["kind"] for e in instances_history(instance_id)]
    assert "external_task_offered" in kinds and "external_task_completed" in kinds


def instances_history(instance_id: int) -> list[dict]:
    from app.services.workflow import queries
    return queries.list_events(identity.principal_for("admin"), instance_id, 1, 100)["items"]


def test_a_bpmn_error_is_caught_by_the_tasks_boundary_event(client, tokens):
    instance_id = _start()
    (task,) = _fetch(client, tokens["op"]).json
    thrown = client.post(f"{REST}/{task['id']}/bpmnError", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-1", "errorCode": "NO_FUNDS", "errorMessage": "the account is empty"})
    assert thrown.status_code == 204, thrown.json
    instance = _instance(instance_id)
    assert instance.status == "completed"
    assert [e["element_id"] for e in instances_history(instance_id) if e["kind"] == "completed"] == ["refused_end"]


def test_a_failure_with_retries_is_offered_again_after_its_timeout_and_without_an_incident(client, tokens, clock):
    instance_id = _start()
    (task,) = _fetch(client, tokens["op"]).json
    failed = client.post(f"{REST}/{task['id']}/failure", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-1", "errorMessage": "bank timeout", "errorDetails": "java.net.SocketTimeoutException",
        "retries": 2, "retryTimeout": 30_000})
    assert failed.status_code == 204, failed.json
    assert _fetch(client, tokens["op"]).json == []  # not before its retry timeout
    clock.advance(seconds=31)
    (again,) = _fetch(client, tokens["op"], worker="payer-2").json
    assert (again["id"], again["retries"], again["errorMessage"]) == (task["id"], 2, "bank timeout")
    details = client.get(f"{REST}/{again['id']}/errorDetails", headers=_bearer(tokens["op"]))  # a Java worker asks so
    assert (details.status_code, details.mimetype, details.text) == (200, "text/plain", "java.net.SocketTimeoutException")
    assert client.get(f"{REST}/999999/errorDetails", headers=_bearer(tokens["op"])).status_code == 404
    assert client.get(f"{REST}/{again['id']}/errorDetails", headers=_bearer(tokens["aud"])).status_code == 403
    assert _instance(instance_id).status == "waiting"


def test_a_failure_with_no_retries_is_an_incident_whose_retry_offers_the_task_again(app, client, tokens):
    instance_id = _start()
    (task,) = _fetch(client, tokens["op"]).json
    failed = client.post(f"{REST}/{task['id']}/failure", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-1", "errorMessage": "the creditor's account is closed", "retries": 0})
    assert failed.status_code == 204, failed.json
    assert _instance(instance_id).status == "error"
    (incident,) = db.session.scalars(select(Incident)).all()
    assert incident.element_id == "pay" and "the creditor's account is closed" in incident.message
    assert _fetch(client, tokens["op"]).json == []  # an incident: no worker is offered it
    from tests.integration.test_start_page import _browser

    get, _post = _browser(app, "op")
    shown = re.search(r'<section class="card" id="incidents">.*?</section>', get(f"/instances/{instance_id}", "zh").text,
                      re.S).group(0)
    assert "account is closed" in shown and "failed" not in shown  # said once, in Chinese (and again
    admin_get, admin_post = _browser(app, "admin")
    repair = admin_get(f"/instances/{instance_id}/repair", "zh").text
    assert "未解决的异常事件" in repair  # an incident is 异常事件 on every page (it was 事件 here, as history events are)
    token = re.search(r'name="csrf_token" value="([^"]+)"', repair).group(1)
    status, _text, location = admin_post(f"/instances/{instance_id}/repair/incidents/{incident.id}/retry",
                                         {"csrf_token": token, "note": "account reopened"}, "zh")  # in English)
    assert status == 302
    back = admin_get(location, "zh").text  # offered to the workers again: not 'the failed step was run again'
    assert "已重新交给外部工作者" in back and "失败的步骤已重新运行" not in back
    assert _instance(instance_id).status == "waiting"
    (again,) = _fetch(client, tokens["op"], worker="payer-2").json
    assert again["id"] == task["id"] and again["retries"] is None
    done = client.post(f"{REST}/{again['id']}/complete", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-2", "variables": {"transferred": {"value": True}}})
    assert done.status_code == 204 and _instance(instance_id).status == "completed"


def test_a_lock_expires_is_extended_and_unlocked(client, tokens, clock):
    _start()
    (task,) = _fetch(client, tokens["op"], lock=10_000).json
    extended = client.post(f"{REST}/{task['id']}/extendLock", headers=_bearer(tokens["op"]),
                           json={"workerId": "payer-1", "newDuration": 60_000})
    assert extended.status_code == 204
    clock.advance(seconds=30)
    assert _fetch(client, tokens["op"], worker="payer-2").json == []  # still held: extended
    clock.advance(seconds=31)
    assert [t["workerId"] for t in _fetch(client, tokens["op"], worker="payer-2").json] == ["payer-2"]  # expired
    assert client.post(f"{REST}/{task['id']}/unlock", headers=_bearer(tokens["op"])).status_code == 204
    assert [t["workerId"] for t in _fetch(client, tokens["op"], worker="payer-3").json] == ["payer-3"]


def test_a_cancelled_instance_offers_nothing_and_who_may_not_work_is_refused(client, tokens):
    instance_id = _start()
    instances.cancel_instance(instance_id, identity.principal_for("admin"), "paid by hand")
    db.session.commit()
    assert _fetch(client, tokens["op"]).json == []
    assert db.session.scalar(select(func.count()).select_from(ExternalTask)) == 0
    _start(130)
    refused = _fetch(client, tokens["aud"])
    assert refused.status_code == 403 and refused.json["type"] == "AuthorizationException"
    for body, said in (({"workerId": "w", "topics": [{"topicName": "invoice-payment"}]}, "lockDuration"),
                       ({"workerId": "", "topics": []}, "workerId"), ({"workerId": "w", "maxTasks": 1000}, "maxTasks"),
                       ({"workerId": "w", "topics": "invoice-payment"}, "topics")):
        bad = client.post(f"{REST}/fetchAndLock", headers=_bearer(tokens["op"]), json=body)
        assert bad.status_code == 400 and said in bad.json["message"], (body, bad.json)
    for path in ("999999/complete", "x/complete", "-1/unlock"):
        assert client.post(f"{REST}/{path}", headers=_bearer(tokens["op"]), json={"workerId": "w"}).status_code == 404


def test_workers_fetching_at_the_same_moment_each_get_other_tasks(app, served, tokens):
    started = [_start(100 + n) for n in range(6)]
    body = lambda worker: json.dumps({"workerId": worker, "maxTasks": 2, "topics": [  # noqa: E731
        {"topicName": "invoice-payment", "lockDuration": 60_000}]}).encode()
    headers = {**_bearer(tokens["op"]), "Content-Type": "application/json"}
    answers = race_posts(served, [(f"{REST}/fetchAndLock", headers, body(f"w{n}")) for n in range(5)])
    assert {status for status, _ in answers} == {200}, answers
    ids = [task["id"] for _status, tasks in answers for task in tasks]
    assert len(ids) == len(set(ids)) == len(started)  # each task to one worker, every task to some worker
    owners = {task["id"]: task["workerId"] for _status, tasks in answers for task in tasks}
    db.session.rollback()
    assert {str(r.id): r.worker_id for r in db.session.scalars(select(ExternalTask))} == owners


def test_completes_of_one_task_at_the_same_moment_run_it_once(app, served, tokens):
    instance_id = _start()
    with app.test_client() as client:
        (task,) = _fetch(client, tokens["op"]).json
    body = json.dumps({"workerId": "payer-1", "variables": {"transferred": {"value": True}}}).encode()
    headers = {**_bearer(tokens["op"]), "Content-Type": "application/json"}
    answers = race_posts(served, [(f"{REST}/{task['id']}/complete", headers, body)] * 4,
                         read=lambda r: r.read())
    assert sorted(status for status, _ in answers).count(204) == 1, answers
    assert all(status in (204, 400, 404) for status, _ in answers), answers
    assert _instance(instance_id).status == "completed"
    assert [e["kind"] for e in instances_history(instance_id)].count("external_task_completed") == 1


def test_a_task_its_instance_left_by_a_timer_is_not_offered_and_its_answer_is_404(client, tokens, clock):
    from app.services.workflow import waking

    timed = PAYMENT.replace('<bpmn:exclusiveGateway id="paid_q"', '''<bpmn:boundaryEvent id="too_late" attachedToRef="pay">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="call_creditor" name="Call the creditor"/>
    <bpmn:endEvent id="late_end"/>
    <bpmn:sequenceFlow id="f4" sourceRef="too_late" targetRef="call_creditor"/>
    <bpmn:sequenceFlow id="f5" sourceRef="call_creditor" targetRef="late_end"/>
    <bpmn:exclusiveGateway id="paid_q"''')
    deploy_and_commit([DiagramFile("payment.bpmn", timed.encode())])
    instance_id = _start()
    (task,) = _fetch(client, tokens["op"], lock=7_200_000).json
    clock.advance(hours=1, seconds=1)
    assert waking.wake_instance(instance_id)
    db.session.commit()
    assert _instance(instance_id).status == "waiting"  # at the user task the timer's path leads to
    assert _fetch(client, tokens["op"], worker="payer-2", lock=60_000).json == []  # the instance left it
    clock.advance(hours=1)  # the first worker's lock is over too: still nothing to fetch
    assert _fetch(client, tokens["op"], worker="payer-2").json == []
    late = client.post(f"{REST}/{task['id']}/complete", headers=_bearer(tokens["op"]), json={"workerId": "payer-1"})
    assert late.status_code == 404 and "已不再等待它" in late.json["message"], late.json  # no language asked: Chinese
    assert db.session.scalar(select(func.count()).select_from(ExternalTask)) == 0
    assert _instance(instance_id).status == "waiting"


def test_the_instance_page_says_it_waits_for_a_worker_and_what_a_failed_worker_said(app, client, tokens):
    from tests.integration.test_start_page import _browser

    instance_id = _start()
    get, _post = _browser(app, "op")
    page = get(f"/instances/{instance_id}", "zh").text
    assert "已交给外部工作者" in page and "external_task_offered" not in page
    (task,) = _fetch(client, tokens["op"]).json
    client.post(f"{REST}/{task['id']}/failure", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-1", "errorMessage": "the creditor's account is closed", "retries": 0})
    page = get(f"/instances/{instance_id}", "zh").text
    assert "外部工作者执行失败" in page and "外部工作者 &#39;payer-1&#39; 未能完成主题 &#39;invoice-payment&#39; 的任务" in page
    repair = get(f"/instances/{instance_id}/repair", "zh")
    assert repair.status_code == 200 and "外部工作者未能完成任务，且没有剩余重试次数" in repair.text
    assert "failed the task of topic" not in repair.text  # said once, in Chinese, as on the instance page
    history = re.search(r'<ol id="timeline".*?</ol>', page, re.S).group(0)
    assert "external_task_failed" not in history and "failed the task of topic" not in history  # no code, no English
    incident = re.search(r'<section class="card" id="incidents">.*?</section>', page, re.S).group(0)
    assert re.search(r"<td>1</td>", incident)  # its one try, as the repair page counts it (it was blank here)
    assert 'id="waiting"' not in page  # stopped on the incident: no worker holds or is offered the task


def test_the_instance_page_says_under_waiting_for_which_step_a_worker_does_and_who_holds_it(app, client, tokens):
    """The page said nothing of the worker it waited for, but one line of its history."""
    from tests.integration.test_start_page import _browser

    instance_id = _start()
    get, _post = _browser(app, "aud")
    waiting = re.search(r'<section class="card" id="waiting">(.*?)</section>', get(f"/instances/{instance_id}", "en").text,
                        re.S)
    assert waiting is not None
    said = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", waiting.group(1)))
    assert "An external worker: Pay · topic invoice-payment · no worker holds it now" in said
    _fetch(client, tokens["op"], worker="payer-1")
    zh = re.search(r'<section class="card" id="waiting">(.*?)</section>', get(f"/instances/{instance_id}", "zh").text,
                   re.S).group(1)
    assert "外部工作者：" in zh and "由工作者 payer-1 锁定至" in zh


def test_the_console_lists_what_waits_for_workers_in_chinese(app, client, tokens, clock):
    from tests.integration.test_start_page import _browser

    for amount in (120, 130, 140):
        _start(amount)
    (held,) = _fetch(client, tokens["op"], max_tasks=1, worker="payer-9").json
    (retried,) = _fetch(client, tokens["op"], max_tasks=1, worker="payer-9").json
    client.post(f"{REST}/{retried['id']}/failure", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-9", "errorMessage": "bank timeout", "retries": 3, "retryTimeout": 60_000})
    get, _post = _browser(app, "op")
    assert 'href="/external-tasks"' in get("/instances", "zh").text
    page = get("/external-tasks", "zh").text
    states = dict(re.findall(r'data-external-task="(\d+)" data-state="(\w+)"', page))
    assert states == {held["id"]: "locked", retried["id"]: "retrying", str(int(retried["id"]) + 1): "offered"}, states
    assert "共 3 个" in page and "工作者处理中" in page and "payer-9" in page and "bank timeout" in page
    assert page.count('<td title="pay"><span translate="no">Pay</span></td>') == 3  # the step by its name
    assert "external_task" not in page.replace("camunda.external_task", "")  # no raw code but the operator's name
    get_auditor, _ = _browser(app, "aud")
    assert get_auditor("/external-tasks").status_code == 200  # the platform's staff read it (instances.inspect)
    identity.create_org("TRADER1", ["borrower"], "Trader One")
    identity.create_user("buyer", "TRADER1", ["applicant"])
    db.session.commit()
    get_buyer, _ = _browser(app, "buyer")
    assert get_buyer("/external-tasks").status_code == 403


def test_a_task_of_an_instance_stopped_on_an_incident_elsewhere_waits_for_its_retry(client, tokens, clock):
    """As a message or a timer: nothing moves an instance that stopped on an incident until it is retried (a worker's
    answer then would resolve the incident of another branch and leave its task failed)."""
    from app.services.workflow import waking

    both = PAYMENT.replace('<bpmn:startEvent id="start"/>', '''<bpmn:startEvent id="start"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:intermediateCatchEvent id="later">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="check" scriptFormat="python"><bpmn:script>ratio = amount / 0</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="checked"/>
    <bpmn:sequenceFlow id="g1" sourceRef="fork" targetRef="later"/>
    <bpmn:sequenceFlow id="g2" sourceRef="later" targetRef="check"/>
    <bpmn:sequenceFlow id="g3" sourceRef="check" targetRef="checked"/>''').replace(
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pay"/>',
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="pay"/>')
    deploy_and_commit([DiagramFile("payment.bpmn", both.encode())])
    instance_id = _start()
    (task,) = _fetch(client, tokens["op"]).json
    clock.advance(minutes=2)
    waking.wake_instance(instance_id)
    db.session.commit()
    assert _instance(instance_id).status == "error"
    refused = client.post(f"{REST}/{task['id']}/complete", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-1", "variables": {"transferred": {"value": True}}})
    assert refused.status_code == 400 and "异常事件" in refused.json["message"], refused.json
    assert _instance(instance_id).status == "error"
    assert db.session.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None))) == 1
    clock.advance(minutes=5)  # the lock is over: still not offered while the instance is stopped
    assert _fetch(client, tokens["op"], worker="payer-2").json == []


def test_camundas_own_python_client_fetches_completes_fails_and_throws_over_http(app, served, tokens, clock):
    """A real external task client (camunda-external-task-client-python3, as a Camunda user's Python worker runs it)
    against the served app: its requests, its typed variables, its bearer token — not ours."""
    from camunda.client.external_task_client import ExternalTaskClient

    paid, refused, failed = _start(120), _start(130), _start(140)
    worker = ExternalTaskClient("py-worker", engine_base_url=f"{served}/engine-rest",
                                config={"auth_bearer": {"access_token": tokens["op"]}, "maxTasks": 3,
                                        "lockDuration": 60_000, "asyncResponseTimeout": 1000})  # a second's wait
    fetched = worker.fetch_and_lock("invoice-payment", variables=["amount"])
    by_instance = {int(t["processInstanceId"]): t for t in fetched}
    assert set(by_instance) == {paid, refused, failed}, fetched
    assert by_instance[paid]["variables"] == {"amount": {"value": 120, "type": "Integer", "valueInfo": {}}}
    assert worker.complete(by_instance[paid]["id"], {"transferred": True, "reference": "TX-7"})
    assert worker.bpmn_failure(by_instance[refused]["id"], "NO_FUNDS", "the account is empty")
    assert worker.failure(by_instance[failed]["id"], "bank timeout", "SocketTimeout", 0, 1000)
    assert worker.fetch_and_lock("invoice-payment") == []
    assert (_instance(paid).status, _instance(paid).data["reference"]) == ("completed", "TX-7")
    assert _instance(refused).status == "completed"
    assert _instance(failed).status == "error"


def test_what_waits_for_workers_is_listed_and_filtered_as_camundas_query_lists_it(client, tokens):
    held, failed, offered = _start(110), _start(111), _start(112)
    fetched = {int(t["processInstanceId"]): t for t in _fetch(client, tokens["op"], max_tasks=2).json}
    assert set(fetched) == {held, failed}  # the oldest first
    client.post(f"{REST}/{fetched[failed]['id']}/failure", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-1", "errorMessage": "bank down", "retries": 0})

    def ids(query: str = "") -> list[int]:
        found = client.get(f"{REST}?{query}", headers=_bearer(tokens["op"]))
        assert found.status_code == 200, found.json
        return [int(t["processInstanceId"]) for t in found.json]

    assert ids() == [held, failed, offered] and ids("topicName=nothing") == []
    assert ids("locked=true") == [held] and ids("notLocked=true") == [failed, offered]
    assert ids("locked=false") == ids("locked=true&notLocked=true") == [held, failed, offered]  # false: no filter
    assert ids("workerId=payer-1&locked=true") == [held]
    assert ids("noRetriesLeft=true") == [failed] and ids("withRetriesLeft=true") == [held, offered]
    assert ids(f"processInstanceId={offered}") == [offered] and ids("firstResult=1&maxResults=1") == [failed]
    assert ids("sortBy=processInstanceId&sortOrder=desc") == [offered, failed, held]
    assert ids("sortBy=lockExpirationTime&sortOrder=asc") == [held, failed, offered]  # never held: last, then by id
    assert ids("sortBy=id&sortOrder=desc&maxResults=1") == [offered]
    assert client.get(f"{REST}?sortBy=priority&sortOrder=asc", headers=_bearer(tokens["op"])).status_code == 400
    assert client.get(f"{REST}/count?noRetriesLeft=true", headers=_bearer(tokens["op"])).json == {"count": 1}
    one = client.get(f"{REST}/{fetched[held]['id']}", headers=_bearer(tokens["op"])).json
    assert (one["workerId"], one["topicName"], one["activityId"], one["businessKey"]) == (
        "payer-1", "invoice-payment", "pay", "INV-110")
    broken = client.get(f"{REST}/{fetched[failed]['id']}", headers=_bearer(tokens["op"])).json
    assert (broken["retries"], broken["errorMessage"], broken["workerId"]) == (0, "bank down", None)
    for query in ("locked=yes", "firstResult=-1", "processInstanceId=x"):
        assert client.get(f"{REST}?{query}", headers=_bearer(tokens["op"])).status_code in (400, 404), query
    assert client.get(REST, headers=_bearer(tokens["aud"])).status_code == 403
    assert client.get(f"{REST}/999999", headers=_bearer(tokens["op"])).status_code == 404


def test_retries_set_on_a_task_failed_for_good_offer_it_again_and_retry_its_incident(client, tokens):
    instance_id = _start()
    (task,) = _fetch(client, tokens["op"]).json
    path = f"{REST}/{task['id']}/retries"
    assert client.put(path, headers=_bearer(tokens["op"]), json={"retries": 0}).status_code == 400  # not failed
    assert client.put(path, headers=_bearer(tokens["op"]), json={"retries": 3}).status_code == 204  # kept for later
    client.post(f"{REST}/{task['id']}/failure", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-1", "errorMessage": "bank down", "retries": 0})
    assert _instance(instance_id).status == "error" and _fetch(client, tokens["op"]).json == []
    for body in ({"retries": -1}, {"retries": "2"}, {"retries": True}, {}):
        assert client.put(path, headers=_bearer(tokens["op"]), json=body).status_code == 400, body
    assert client.put(path, headers=_bearer(tokens["aud"]), json={"retries": 2}).status_code == 403
    assert _instance(instance_id).status == "error"
    assert client.put(path, headers=_bearer(tokens["op"]), json={"retries": 2}).status_code == 204
    assert _instance(instance_id).status == "waiting"
    assert db.session.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None))) == 0
    (again,) = _fetch(client, tokens["op"], worker="payer-2").json
    assert (again["id"], again["retries"]) == (task["id"], 2)
    assert client.put(f"{REST}/999999/retries", headers=_bearer(tokens["op"]), json={"retries": 1}).status_code == 404


def test_a_fetch_that_finds_nothing_waits_for_a_task_offered_meanwhile(app, served, tokens, monkeypatch):
    """Camunda's long polling (`asyncResponseTimeout`, what Camunda's Python client sends by default): the fetch
    waits in the served app; the test starts the instance only once the fetch has begun to wait (its first pause
    tells it), so the task can only reach the worker through the wait."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    from app.services.workflow import external_tasks

    address, answer, waiting_now = urlsplit(served), {}, threading.Event()
    pause = external_tasks._sleep
    monkeypatch.setattr(external_tasks, "_sleep", lambda seconds: (waiting_now.set(), pause(seconds)))

    def fetch() -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        connection.request("POST", f"{REST}/fetchAndLock", headers={**_bearer(tokens["op"]),
                           "Content-Type": "application/json"}, body=json.dumps({
                               "workerId": "long-poller", "maxTasks": 1, "asyncResponseTimeout": 30_000,
                               "topics": [{"topicName": "invoice-payment", "lockDuration": 60_000}]}))
        response = connection.getresponse()
        answer["status"], answer["tasks"] = response.status, json.loads(response.read())

    fetching = threading.Thread(target=fetch)
    fetching.start()
    assert waiting_now.wait(60)  # it found nothing (no instance yet) and waits
    assert external_tasks.long_polls_waiting() == 1
    instance_id = _start()
    fetching.join(120)
    assert answer["status"] == 200, answer
    (task,) = answer["tasks"]
    assert (int(task["processInstanceId"]), task["workerId"]) == (instance_id, "long-poller")
    assert external_tasks.long_polls_waiting() == 0


def test_a_waiting_fetch_looks_again_until_its_timeout_at_most_a_minute_and_only_while_a_slot_is_free(
        app, client, tokens, monkeypatch):
    """The wait counted on a clock of the test's own (no real time passes): a fetch looks again every half second
    until its timeout, never past 30 s; with no slot free it answers at once."""
    from app.services.workflow import external_tasks

    passed, looks = [0.0], []
    monkeypatch.setattr(external_tasks, "_monotonic", lambda: passed[0])
    monkeypatch.setattr(external_tasks, "_sleep", lambda seconds: (passed.__setitem__(0, passed[0] + seconds),
                                                                   looks.append(seconds)))
    body = {"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "invoice-payment", "lockDuration": 1000}]}
    assert client.post(f"{REST}/fetchAndLock", headers=_bearer(tokens["op"]),
                       json={**body, "asyncResponseTimeout": 3000}).json == []
    assert passed[0] == 3.0 and len(looks) == 6
    passed[0], looks[:] = 0.0, []
    assert client.post(f"{REST}/fetchAndLock", headers=_bearer(tokens["op"]),
                       json={**body, "asyncResponseTimeout": 1_800_000}).json == []
    assert passed[0] == 30.0 and len(looks) == 60  # 30 s at most, whatever the worker asks
    monkeypatch.setitem(app.config, "EXTERNAL_TASK_LONG_POLLS", 0)
    looks[:] = []
    assert client.post(f"{REST}/fetchAndLock", headers=_bearer(tokens["op"]),
                       json={**body, "asyncResponseTimeout": 30_000}).json == [] and looks == []
    for wrong in (-1, "30000", 1_800_001, True):
        refused = client.post(f"{REST}/fetchAndLock", headers=_bearer(tokens["op"]),
                              json={**body, "asyncResponseTimeout": wrong})
        assert refused.status_code == 400 and "asyncResponseTimeout" in refused.json["message"], wrong
    assert external_tasks.long_polls_waiting() == 0


def test_a_monitoring_tool_for_camunda_counts_and_reads_the_open_incidents(client, tokens):
    instance_id = _start()
    (task,) = _fetch(client, tokens["op"]).json
    assert client.get("/engine-rest/incident/count", headers=_bearer(tokens["aud"])).json == {"count": 0}
    client.post(f"{REST}/{task['id']}/failure", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-1", "errorMessage": "bank down", "retries": 0})
    listed = client.get("/engine-rest/incident", headers=_bearer(tokens["aud"]))  # an auditor reads incidents
    assert listed.status_code == 200, listed.json
    (incident,) = listed.json
    assert (incident["processInstanceId"], incident["processDefinitionId"], incident["activityId"],
            incident["incidentType"]) == (str(instance_id), "invoicePayment:1", "pay", "failedExternalTask")
    assert "bank down" in incident["incidentMessage"] and incident["incidentTimestamp"].endswith("+0000")
    assert client.get(f"/engine-rest/incident/{incident['id']}", headers=_bearer(tokens["op"])).json == incident
    for query, count in (("incidentType=failedJob", 0), ("incidentType=failedExternalTask", 1),
                         (f"processInstanceId={instance_id}", 1), ("activityId=other", 0)):
        assert client.get(f"/engine-rest/incident/count?{query}", headers=_bearer(tokens["op"])).json == {
            "count": count}, query
    assert client.get("/engine-rest/incident?sortBy=incidentTimestamp", headers=_bearer(tokens["op"])).status_code == 400
    second = _start(121)
    (other,) = _fetch(client, tokens["op"]).json
    client.post(f"{REST}/{other['id']}/failure", headers=_bearer(tokens["op"]), json={
        "workerId": "payer-1", "errorMessage": "card refused", "retries": 0})
    for query, expected in (("", [second, instance_id]),  # newest first when not asked
                            ("sortBy=processInstanceId&sortOrder=asc", [instance_id, second]),
                            ("sortBy=incidentId&sortOrder=desc&maxResults=1", [second]),
                            ("sortBy=incidentTimestamp&sortOrder=asc", [instance_id, second])):
        found = client.get(f"/engine-rest/incident?{query}", headers=_bearer(tokens["op"]))
        assert [int(each["processInstanceId"]) for each in found.json] == expected, query
    client.put(f"{REST}/{other['id']}/retries", headers=_bearer(tokens["op"]), json={"retries": 1})
    client.put(f"{REST}/{task['id']}/retries", headers=_bearer(tokens["op"]), json={"retries": 1})
    assert client.get("/engine-rest/incident", headers=_bearer(tokens["op"])).json == []  # retried: resolved
    assert client.get(f"/engine-rest/incident/{incident['id']}", headers=_bearer(tokens["op"])).status_code == 404
