"""A task's due time and priority: from the diagram (`dueIn`, `priority`) or from the instance's
data (`dueAtExpression`, `priorityExpression`, evaluated in the sandbox when the task is ready)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.extensions import db
from app.models import HumanTask, InstanceEvent
from app.services.identity.directory import principal_for
from app.services.workflow.deployment import deploy_and_commit
from app.services.workflow.instances import start_instance
from app.services.workflow.tasks import complete_task
from tests.conftest import FIXTURES

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def started(app, deploy, admin_token, clock):
    clock.current = NOW
    deploy("due_from_data.bpmn")

    def start(**data):
        with app.app_context():
            instance_id = start_instance("due_from_data", principal_for("admin"), data=data)
            task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                              HumanTask.element_id == "confirm")).one()
            events = db.session.scalars(select(InstanceEvent).where(
                InstanceEvent.instance_id == instance_id, InstanceEvent.kind == "task_property_failed")).all()
            result = (task.due_at, task.priority, [(e.element_id, e.details) for e in events])
            db.session.remove()
        return result

    return start


def test_a_date_in_the_data_is_due_by_the_end_of_that_day_in_china_time(started):
    due_at, priority, failures = started(amount=2_000_000, confirm_by="2026-12-03")
    assert due_at == datetime(2026, 12, 3, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Asia/Shanghai
    assert priority == 1
    assert failures == []


def test_a_datetime_in_the_data_is_taken_as_given(started):
    due_at, priority, _ = started(amount=5_000, confirm_by="2026-12-01T10:30:00+00:00")
    assert due_at == datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert priority == 3
    due_at, _, _ = started(amount=5_000, confirm_by="2026-12-01T10:30:00")  # no offset: local time
    assert due_at == datetime(2026, 12, 1, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize("confirm_by", ["next week", "", "2026-13-45", 20261203])
def test_an_unusable_value_falls_back_to_the_diagram(started, confirm_by):
    due_at, priority, failures = started(amount=5_000, confirm_by=confirm_by)
    assert due_at == NOW + timedelta(days=5)  # dueIn P5D
    assert priority == 3
    assert failures == []


def test_a_failing_expression_falls_back_and_is_recorded(started):
    due_at, priority, failures = started(amount=5_000)  # no confirm_by in the data
    assert due_at == NOW + timedelta(days=5)
    assert priority == 3
    assert failures == [("confirm", {"property": "dueAtExpression", "expression": "confirm_by",
                                     "error": "WorkflowTaskException: Error evaluating expression 'confirm_by'.  "
                                              "Did you mean one of '['amount', 'urgent']'?"})]


def test_a_priority_out_of_range_falls_back_to_the_diagram(app, deploy, admin_token, clock):
    clock.current = NOW
    source = (FIXTURES / "bpmn" / "due_from_data.bpmn").read_text().replace(
        "1 if urgent else 3", "9 if urgent else True").replace("due_from_data", "due_from_data_b")
    with app.app_context():
        deploy_and_commit([DiagramFile("due_from_data_b.bpmn", source.encode())])
        for amount in (2_000_000, 5):  # 9 is out of range; True is not a number
            instance_id = start_instance("due_from_data_b", principal_for("admin"),
                                         data={"amount": amount, "confirm_by": "2026-12-03"})
            task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                              HumanTask.element_id == "confirm")).one()
            assert task.priority == 4  # the diagram's priority
        db.session.remove()


def test_the_values_are_fixed_when_the_task_becomes_ready(app, deploy, admin_token, clock):
    """Evaluated once: a later step does not move an open task's due date or repeat a failure."""
    clock.current = NOW
    deploy("due_from_data.bpmn")
    with app.app_context():
        admin = principal_for("admin")
        instance_id = start_instance("due_from_data", admin, data={"amount": 1})
        tasks = {t.element_id: t for t in db.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id))}
        clock.advance(days=1)
        complete_task(tasks["note"].id, {"confirm_by": "2026-12-24", "amount": 5_000_000}, admin)
        confirm = db.session.get(HumanTask, tasks["confirm"].id)
        assert (confirm.state, confirm.due_at, confirm.priority) == ("ready", NOW + timedelta(days=5), 3)
        failures = db.session.scalars(select(InstanceEvent).where(
            InstanceEvent.instance_id == instance_id, InstanceEvent.kind == "task_property_failed")).all()
        assert len(failures) == 1
        db.session.remove()


@pytest.mark.parametrize(("prop", "value", "reason"), [
    ("dueAtExpression", "confirm_by +", "dueAtExpression does not compile"),
    ("priorityExpression", "__import__('os')", "priorityExpression does not compile"),
    ("dueIn", "five days", "dueIn: not an ISO 8601 duration"),
])
def test_a_bad_property_is_an_error_of_processes_validate(prop, value, reason):
    source = (FIXTURES / "bpmn" / "due_from_data.bpmn").read_text()
    old = {"dueAtExpression": 'value="confirm_by"', "priorityExpression": 'value="1 if urgent else 3"',
           "dueIn": 'value="P5D"'}[prop]
    bundle = parse_diagrams([DiagramFile("due_from_data.bpmn", source.replace(old, f'value="{value}"').encode())])
    problems = lint_bundle(bundle, operators=[], forms=[])
    assert [(p.element_id, p.severity) for p in problems if reason in p.reason] == [("confirm", "error")]
    assert lint_bundle(parse_diagrams([DiagramFile("due_from_data.bpmn", source.encode())]), [], []) == []
