"""Service tasks on every backend: retries with backoff, incidents and their retry, business errors.

The handlers are `tests/fixtures/fake_handlers.py`, loaded the way a deployment's own handler
module is (`register(registry)` of a module named in HANDLER_MODULES).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import create_app
from app.wiring import product_registry
from tests.fixtures import fake_handlers
from tests.integration.instance_api import API, due_at, ended_at, history, instance, kinds, start, wake

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
HANDLER_MODULE = "tests.fixtures.fake_handlers"


@pytest.fixture
def handlers(app, monkeypatch):
    """The app's handler registry with the test handlers added; their state reset around the test."""
    fake_handlers.reset()
    monkeypatch.setattr(app.extensions["loanflow_runtime"], "handlers", product_registry([HANDLER_MODULE]))
    yield fake_handlers
    fake_handlers.reset()


def incidents(client, auth, **query) -> list[dict]:
    r = client.get(f"{API}/incidents", query_string=query, headers=auth)
    assert r.status_code == 200, r.json
    return r.json["items"]


def retry(client, auth, incident_id: int):
    return client.post(f"{API}/incidents/{incident_id}/retry", headers=auth)


def at(moment: datetime) -> str:
    """A time as the API writes it."""
    return moment.isoformat()


def test_handler_modules_setting_registers_the_modules_handlers(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'h.db'}",
                      "HANDLER_MODULES": [HANDLER_MODULE]})
    operators = app.extensions["loanflow_runtime"].handlers.operators()
    assert {"test.credit_bureau", "risk.blacklist", "platform.financing_limit"} <= set(operators)


def test_failing_call_is_retried_with_backoff_until_it_succeeds(app, client, auth, deploy, clock, handlers):
    deploy("service_retry.bpmn")
    handlers.FAILURES["A-1"] = 2
    inst = start(client, auth, "service_retry", business_key="LOAN-S1", applicant="A-1")
    assert inst["status"] == "waiting"  # the first attempt failed: the task waits for its retry
    assert due_at(app, inst["id"]) == T0 + timedelta(seconds=10)
    [failed] = kinds(history(client, auth, inst["id"]), "service_failed")
    assert failed["element_id"] == "credit_report"
    assert failed["details"]["attempt"] == 1 and failed["details"]["of"] == 3
    assert "credit bureau unreachable for A-1" in failed["details"]["error"]

    clock.advance(seconds=9)
    assert wake(app) == [] and len(handlers.CALLS) == 1
    clock.advance(seconds=1)
    assert wake(app) == [inst["id"]] and len(handlers.CALLS) == 2
    assert instance(client, auth, inst["id"])["status"] == "waiting"
    assert due_at(app, inst["id"]) == T0 + timedelta(seconds=10 + 20)  # backoff base 2

    clock.advance(seconds=19)
    assert wake(app) == []
    clock.advance(seconds=1)
    assert wake(app) == [inst["id"]]
    done = instance(client, auth, inst["id"])
    assert done["status"] == "completed" and done["data"]["bureau_score"] == 640
    assert due_at(app, inst["id"]) is None
    events = history(client, auth, inst["id"])
    assert [e["details"]["attempt"] for e in kinds(events, "service_retried")] == [2, 3]
    assert incidents(client, auth) == []

    calls = handlers.calls_of("test.credit_bureau")
    assert len(calls) == 3
    assert {c.idempotency_key for c in calls} == {calls[0].idempotency_key}  # one task, one key, every try
    assert {(c.instance_id, c.business_key, c.element_id) for c in calls} == {(inst["id"], "LOAN-S1", "credit_report")}
    assert calls[0].params == {"applicant": "A-1"}


def test_each_task_gets_its_own_idempotency_key(client, auth, deploy, handlers):
    deploy("service_retry.bpmn")
    first = start(client, auth, "service_retry", applicant="A-1")
    second = start(client, auth, "service_retry", applicant="A-1")
    assert first["status"] == second["status"] == "completed"
    keys = [c.idempotency_key for c in handlers.CALLS]
    assert len(keys) == 2 and keys[0] != keys[1]
    assert instance(client, auth, first["id"])["data"]["bureau_score"] != instance(
        client, auth, second["id"])["data"]["bureau_score"]


def test_after_the_last_try_an_incident_appears_and_retrying_it_can_succeed(app, client, auth, deploy, clock,
                                                                               handlers):
    deploy("service_retry.bpmn")
    handlers.FAILURES["A-2"] = -1
    inst = start(client, auth, "service_retry", applicant="A-2")
    clock.advance(seconds=10)
    assert wake(app) == [inst["id"]]
    clock.advance(seconds=20)
    third_attempt = clock()
    assert wake(app) == [inst["id"]]

    body = instance(client, auth, inst["id"])
    assert body["status"] == "error" and body["error"]["element_id"] == "credit_report"
    assert due_at(app, inst["id"]) is None
    [incident] = incidents(client, auth, state="open")
    assert incident["instance_id"] == inst["id"] and incident["element_id"] == "credit_report"
    assert incident["attempts"] == 3 and incident["state"] == "open" and incident["resolved_at"] is None
    assert "ConnectionError" in incident["message"] and "unreachable for A-2" in incident["message"]
    assert datetime.fromisoformat(incident["last_attempt_at"]) == third_attempt
    assert client.get(f"{API}/incidents/{incident['id']}", headers=auth).json == incident
    assert incidents(client, auth, instance_id=inst["id"]) == [incident]
    assert incidents(client, auth, instance_id=inst["id"] + 1) == []
    assert incidents(client, auth, state="resolved") == []

    clock.advance(hours=5)  # the worker gave up: no more tries
    assert wake(app) == [] and len(handlers.CALLS) == 3

    handlers.FAILURES["A-2"] = 0  # the bureau is back
    r = retry(client, auth, incident["id"])
    assert r.status_code == 200 and r.json["state"] == "resolved" and r.json["resolved_at"] is not None
    done = instance(client, auth, inst["id"])
    assert done["status"] == "completed" and done["data"]["bureau_score"] == 640 and done["error"] is None
    assert incidents(client, auth, state="open") == []
    assert [i["id"] for i in incidents(client, auth, state="resolved")] == [incident["id"]]
    assert len(kinds(history(client, auth, inst["id"]), "incident_retried")) == 1
    assert len({c.idempotency_key for c in handlers.CALLS}) == 1 and len(handlers.CALLS) == 4

    r = retry(client, auth, incident["id"])
    assert r.status_code == 409 and r.json["error"]["code"] == "incident_resolved"


def test_a_retry_that_fails_again_ends_in_a_new_open_incident(app, client, auth, deploy, clock, handlers):
    deploy("service_retry.bpmn")
    handlers.FAILURES["A-3"] = -1
    inst = start(client, auth, "service_retry", applicant="A-3")
    for seconds in (10, 20):
        clock.advance(seconds=seconds)
        wake(app)
    [first] = incidents(client, auth, state="open")

    clock.advance(minutes=30)
    retried_at = clock()
    r = retry(client, auth, first["id"])
    assert r.status_code == 200 and r.json["state"] == "resolved"  # the failed task runs again...
    assert instance(client, auth, inst["id"])["status"] == "waiting"  # ...with a fresh round of tries
    assert due_at(app, inst["id"]) == retried_at + timedelta(seconds=10)
    for seconds in (10, 20):
        clock.advance(seconds=seconds)
        assert wake(app) == [inst["id"]]

    [second] = incidents(client, auth, state="open")
    assert second["id"] != first["id"] and second["attempts"] == 3
    assert datetime.fromisoformat(second["last_attempt_at"]) == retried_at + timedelta(seconds=30)
    assert instance(client, auth, inst["id"])["status"] == "error"
    assert len(handlers.CALLS) == 6


def test_retry_setting_in_the_diagram_overrides_tries_and_backoff(app, client, auth, deploy, clock, handlers):
    deploy("service_retry.bpmn")
    handlers.FAILURES["A-4"] = -1
    inst = start(client, auth, "service_retry_custom", applicant="A-4")  # retries="2" backoff_base="3"
    assert due_at(app, inst["id"]) == T0 + timedelta(seconds=10)
    clock.advance(seconds=10)
    assert wake(app) == [inst["id"]]
    assert due_at(app, inst["id"]) == T0 + timedelta(seconds=10 + 30)
    clock.advance(seconds=30)
    assert wake(app) == [inst["id"]]
    [incident] = incidents(client, auth, state="open")
    assert incident["element_id"] == "once_credit_report" and incident["attempts"] == 3


def test_retry_intervals_in_the_diagram_are_the_delays_before_each_retry(app, client, auth, deploy, clock, handlers):
    deploy("service_retry.bpmn")
    handlers.FAILURES["A-6"] = -1
    inst = start(client, auth, "service_retry_intervals", applicant="A-6")  # PT1M,PT5M: two retries
    assert due_at(app, inst["id"]) == T0 + timedelta(minutes=1)
    clock.advance(seconds=59)
    assert wake(app) == []
    clock.advance(seconds=1)
    assert wake(app) == [inst["id"]]
    assert due_at(app, inst["id"]) == T0 + timedelta(minutes=1 + 5)
    [_, second] = kinds(history(client, auth, inst["id"]), "service_failed")
    assert second["details"]["attempt"] == 2 and second["details"]["of"] == 3
    clock.advance(minutes=5)
    assert wake(app) == [inst["id"]]
    [incident] = incidents(client, auth, state="open")
    assert incident["element_id"] == "late_credit_report" and incident["attempts"] == 3
    assert len(handlers.CALLS) == 3


def test_unknown_and_missing_incidents(client, auth):
    assert client.get(f"{API}/incidents/4040", headers=auth).status_code == 404
    r = retry(client, auth, 4040)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert client.get(f"{API}/incidents", query_string={"state": "closed"}, headers=auth).status_code == 422


def test_unknown_operator_is_an_incident_at_once_without_retries(app, client, auth, deploy, clock, handlers):
    # deployed while its handler module was loaded; the module has been removed since
    deploy("service_unknown_operator.bpmn", removed_operators=("test.no_such_operator",))
    inst = start(client, auth, "service_unknown_operator", applicant="A-5")
    assert inst["status"] == "error"
    assert due_at(app, inst["id"]) is None
    [incident] = incidents(client, auth, state="open")
    assert incident["element_id"] == "credit_report" and incident["kind"] == "unknown_operator"
    assert "test.no_such_operator" in incident["message"]
    assert kinds(history(client, auth, inst["id"]), "service_failed") == []

    clock.advance(hours=1)
    assert wake(app) == []
    r = retry(client, auth, incident["id"])  # still nobody handles it: a new incident straight away
    assert r.status_code == 200 and r.json["state"] == "resolved"
    [again] = incidents(client, auth, state="open")
    assert again["id"] != incident["id"] and again["kind"] == "unknown_operator"
    assert instance(client, auth, inst["id"])["status"] == "error"


def test_business_error_is_caught_by_the_error_boundary_with_its_payload(client, auth, deploy, handlers):
    deploy("risk_check_with_error.bpmn")
    hit = start(client, auth, "risk_check_with_error", applicant="black-1")
    assert hit["status"] == "completed"
    assert ended_at(client, auth, hit["id"]) == ["end_rejected"]
    assert instance(client, auth, hit["id"])["data"]["blacklist_hit"] == {"list": "OFAC", "applicant": "black-1"}
    [raised] = kinds(history(client, auth, hit["id"]), "business_error")
    assert raised["element_id"] == "check" and raised["details"]["code"] == "BLACKLISTED"
    assert len(handlers.calls_of("risk.blacklist")) == 1  # a business answer is never retried

    clear = start(client, auth, "risk_check_with_error", applicant="alice")
    assert ended_at(client, auth, clear["id"]) == ["end_clear"]
    data = instance(client, auth, clear["id"])["data"]
    assert data["check_result"] == {"hit": False} and "blacklist_hit" not in data
    assert incidents(client, auth) == []


def test_a_catch_all_error_boundary_keeps_the_code_and_message_where_camunda_says(client, auth, deploy, handlers):
    # Before, camunda:errorCodeVariable was said and not read: the gateway on ${code} could not route
    deploy("camunda_error_codes.bpmn")
    hit = start(client, auth, "error_code_routed", applicant="black-1")
    assert ended_at(client, auth, hit["id"]) == ["end_blacklisted"]
    data = instance(client, auth, hit["id"])["data"]
    assert data["code"] == "BLACKLISTED" and data["why"] == "black-1 is on a sanctions list"
    frozen = start(client, auth, "error_code_routed", applicant="frozen-1")  # any other code: the default flow
    assert ended_at(client, auth, frozen["id"]) == ["end_other"]
    assert instance(client, auth, frozen["id"])["data"]["code"] == "ACCOUNT_FROZEN"
    clear = start(client, auth, "error_code_routed", applicant="alice")
    assert ended_at(client, auth, clear["id"]) == ["end_clear"]
    assert "code" not in instance(client, auth, clear["id"])["data"]
    assert incidents(client, auth) == []


def test_an_error_a_sub_process_throws_is_caught_with_its_code_after_a_wait(app, client, auth, deploy, clock,
                                                                           handlers):
    deploy("camunda_error_codes.bpmn")
    inst = start(client, auth, "error_code_of_a_subprocess")
    assert inst["status"] == "waiting"
    clock.advance(hours=1)
    assert wake(app) == [inst["id"]]  # the state and the spec stored, then read back
    assert ended_at(client, auth, inst["id"]) == ["s_end_failed"]
    data = instance(client, auth, inst["id"])["data"]
    assert data["code"] == "NO_STOCK" and data["why"] is None


def test_business_error_the_diagram_does_not_catch_is_an_incident(app, client, auth, deploy, clock, handlers):
    deploy("risk_check_with_error.bpmn")
    inst = start(client, auth, "risk_check_with_error", applicant="frozen-1")
    assert inst["status"] == "error"
    [incident] = incidents(client, auth, state="open")
    assert incident["element_id"] == "check" and incident["kind"] == "business_error"
    assert "ACCOUNT_FROZEN" in incident["message"]
    clock.advance(hours=1)
    assert wake(app) == [] and len(handlers.calls_of("risk.blacklist")) == 1


def test_a_refused_applicant_s_reserved_credit_line_is_released_by_compensation(app, client, auth, deploy, clock,
                                                                                 handlers):
    """Compensation through the platform: the reservation completes, the instance is stored and read back
    at a timer, the blacklist refuses, and the compensation event runs the release the analyst joined to
    the reservation — once, with the reservation's own data. A clear applicant's reservation is kept."""
    deploy("credit_line_saga.bpmn")
    refused = start(client, auth, "credit_line_saga", applicant="black-1")
    clear = start(client, auth, "credit_line_saga", applicant="alice")
    assert refused["status"] == clear["status"] == "waiting"
    clock.advance(hours=1)
    assert sorted(wake(app)) == sorted([refused["id"], clear["id"]])
    assert ended_at(client, auth, refused["id"]) == ["end_refused"]
    assert ended_at(client, auth, clear["id"]) == ["end_granted"]
    [release] = handlers.calls_of("test.release_limit")
    assert release.instance_id == refused["id"] and release.params == {"reservation": "R-black-1"}
    assert release.element_id == "release"
    assert instance(client, auth, refused["id"])["data"]["released"] == {"released": "R-black-1"}
    assert [c.operator for c in handlers.CALLS if c.instance_id == refused["id"]] == [
        "test.reserve_limit", "risk.blacklist", "test.release_limit"]
    [undone] = kinds(history(client, auth, refused["id"]), "compensated")  # the admin reads what was undone
    assert undone["element_id"] == "reserve" and undone["details"] == {"runs": 1}
    assert kinds(history(client, auth, clear["id"]), "compensated") == []
    assert incidents(client, auth) == []
