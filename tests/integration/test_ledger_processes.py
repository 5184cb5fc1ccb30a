"""Processes and the ledger: service tasks book and repay through the `ledger.*` operators (`app.services.ledger.operators`); the batch's events reach them."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.engine.parser import DiagramFile
from app.extensions import db
from app.models import Payment
from app.services.ledger.eod import run_eod
from app.services.workflow.deployment import deploy_and_commit
from app.services.workflow.operators import BusinessError, HandlerContext
from app.services.workflow.outbox_delivery import deliver_outbox
from app.services.workflow.runtime import runtime
from tests.integration.instance_api import instance, start
from tests.integration.ledger_support import assert_books_balance, borrower, business_day, product

WATCH = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_loan_watch" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:message id="msg_overdue" name="overdue"/>
  <bpmn:process id="loan_watch" name="Book a loan, then wait until it is overdue" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="book" name="Book the loan">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="ledger.book_loan" resultVariable="booked">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="product_code" type="str" value="'CREDIT12'" />
            <spiffworkflow:parameter id="principal" type="str" value="principal" />
            <spiffworkflow:parameter id="repayments" type="int" value="12" />
            <spiffworkflow:parameter id="borrower_org_id" type="int" value="borrower_org_id" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:intermediateCatchEvent id="wait_overdue" name="Overdue">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition id="med_overdue" messageRef="msg_overdue">
        <bpmn:extensionElements><spiffworkflow:messageVariable>overdue</spiffworkflow:messageVariable></bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="position" name="Read the position">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="ledger.loan_position" resultVariable="position" />
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="book"/>
    <bpmn:sequenceFlow id="f1" sourceRef="book" targetRef="wait_overdue"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait_overdue" targetRef="position"/>
    <bpmn:sequenceFlow id="f3" sourceRef="position" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def org_id(ctx, clock) -> int:
    business_day(clock, date(2026, 1, 10))
    product()
    return borrower()


def test_a_process_books_its_loan_and_hears_of_it_falling_overdue(app, client, auth, org_id):
    deploy_and_commit([DiagramFile("loan_watch.bpmn", WATCH.encode())])
    started = start(client, auth, "loan_watch", business_key="DEAL-42", principal="12000.00",
                    borrower_org_id=org_id)
    body = instance(client, auth, started["id"])
    assert body["status"] == "waiting"
    loan_id = body["data"]["booked"]["loan_id"]
    assert body["data"]["booked"]["first_due_date"] == "2026-02-10"

    run_eod(date(2026, 1, 10))
    run_eod(date(2026, 2, 14))
    assert deliver_outbox() >= 2  # bill_due_soon (kept in the inbox: nothing waits for it), overdue
    body = instance(client, auth, started["id"])
    assert body["status"] == "completed"
    assert body["data"]["overdue"]["first_due_date"] == "2026-02-10"
    assert body["data"]["position"]["bucket"] == "1-30" and body["data"]["position"]["dpd"] == 4
    db.session.remove()
    assert_books_balance(loan_id)


def test_payments_through_the_handler_are_booked_once_per_task(org_id):
    handlers = runtime().handlers
    ctx = HandlerContext(instance_id=None, business_key="DEAL-43", element_id="book", idempotency_key="1:book")
    booked = handlers.call("ledger.book_loan", {"product_code": "CREDIT12", "principal": "6000.00",
                                                "repayments": 6, "borrower_org_id": org_id}, ctx)
    assert booked == handlers.call("ledger.book_loan", {"product_code": "CREDIT12", "principal": "6000.00",
                                                        "repayments": 6, "borrower_org_id": org_id}, ctx)
    pay_ctx = HandlerContext(instance_id=None, business_key="DEAL-43", element_id="repay", idempotency_key="1:repay")
    first = handlers.call("ledger.take_payment", {"amount": "500.00", "channel": "auto_debit"}, pay_ctx)
    again = handlers.call("ledger.take_payment", {"amount": "500.00", "channel": "auto_debit"}, pay_ctx)
    db.session.commit()
    assert first["status"] == "booked" and not first["duplicate"]
    assert again["duplicate"] and again["payment_id"] == first["payment_id"]
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    quote = handlers.call("ledger.payoff_quote", {}, pay_ctx)
    assert quote["to_pay"] == quote["total"]

    with pytest.raises(BusinessError) as missing:
        handlers.call("ledger.loan_position", {"business_key": "NO-SUCH-DEAL"}, pay_ctx)
    assert missing.value.code == "loan_not_found"
    with pytest.raises(BusinessError) as bad:
        handlers.call("ledger.take_payment", {"amount": "-5"}, HandlerContext(None, "DEAL-43", "repay", "1:x"))
    assert bad.value.code == "ledger_invalid"
    assert_books_balance(booked["loan_id"])
