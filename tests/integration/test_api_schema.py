"""The API against its own OpenAPI document, fuzzed by schemathesis as a user of each role, on every backend.

Every operation of `/api/v1/openapi.json` gets generated requests, valid and invalid, and valid
ones aimed at rows that exist (a deployed diagram, a started instance with a task, an incident, a
document, a loan with a pending payment, a colleague, a spare token, a product and a drafted
application), sent by a user holding one
role. Each answer must not be a 500, its status, content type and body must be what the document
says, errors included (the one shape `{"error": {"code", "message", "fields"}}`), and invalid
input must be refused.

Deterministic: each role, operation and run has a fixed hypothesis seed (and no example
database), so a failure shows the same case again on the next run. Nothing is excluded: every
operation of the document is fuzzed, as every role.
"""
from __future__ import annotations

import os
import struct
import traceback
import zlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select, update

from app.extensions import db
from app.models import ApiToken, HumanTask, Incident, Organisation, User
from app.services.identity import directory as identity
from app.services.ledger import loans, repayments
from app.services.origination import applications, products
from app.services.workflow import documents, instances
from tests.integration.ledger_support import business_day, product

# Cases per run (valid, invalid, valid to rows that exist) of an operation, per role: small, so the suite stays fast on both databases;
# LOANFLOW_FUZZ_EXAMPLES=200 (say) runs the same test deeper.
EXAMPLES = int(os.environ.get("LOANFLOW_FUZZ_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
ORGS = {"PLATFORM": "platform", "BANK1": "funder", "BORR1": "borrower", "CORE1": "core_enterprise",
        "WH1": "warehouse", "COLL1": "collection_agency"}
ROLES = {  # role: the organisation its user belongs to
    "platform_admin": "PLATFORM", "operator": "PLATFORM", "analyst": "PLATFORM", "auditor": "PLATFORM",
    "first_reviewer": "BANK1", "second_reviewer": "BANK1", "finance": "BANK1", "team_lead": "BANK1",
    "applicant": "BORR1", "core_signer": "CORE1", "warehouse_supervisor": "WH1", "collections_agent": "COLL1",
}
PARTIES = {"funder": "BANK1", "borrower": "BORR1", "core_enterprise": "CORE1", "warehouse": "WH1"}


def _png() -> bytes:
    """The smallest PNG there is (1×1, grey): a voucher documents.sniff accepts."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(
        b"IEND", b"")


@dataclass
class World:
    role: str
    token: str
    ids: dict[str, int | str]  # path parameter name: the id (or code) of a row that exists
    user_id: int  # the fuzzer's


def build_world(app, deploy, clock, role: str) -> World:
    """Organisations of every kind, the role's user, and one row behind every kind of id in a path."""
    deploy("review_with_form.bpmn", "service_unknown_operator.bpmn", removed_operators=("test.no_such_operator",))
    business_day(clock, date(2026, 1, 10))
    with app.app_context():
        identity.ensure_platform_admin()
        for code, kind in ORGS.items():
            if code != "PLATFORM":
                identity.create_org(code, [kind], f"Organisation {code}")
        fuzzer = identity.create_user("fuzzer", ROLES[role], [role])
        colleague = identity.create_user("colleague", ROLES[role], [role])
        token = identity.issue_token("fuzzer")
        spare_token = identity.create_token(fuzzer.id).row  # what DELETE /me/tokens/{id} may revoke
        db.session.commit()
        admin = identity.principal_for("admin")
        instance_id = instances.start_instance("review_with_form", admin, "APP-1", {}, PARTIES)
        failed_id = instances.start_instance("service_unknown_operator", admin, "APP-2", {"applicant": "A"},
                                             PARTIES)
        incident_id = db.session.scalar(select(Incident.id).where(Incident.instance_id == failed_id))
        document_id = documents.store_document(instance_id, None, None, "voucher.png", _png(), admin.id)
        db.session.commit()
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id))
        org = {code: org_id for code, org_id in db.session.execute(select(Organisation.code, Organisation.id))}
        code = product()
        loan = loans.book_loan(loans.LoanRequest(code, "LOAN-1", org["BORR1"], Decimal("12000.00"), 12,
                                                 date(2026, 1, 10), funder_org_id=org["BANK1"]))
        db.session.commit()
        payment = repayments.record_offline_payment(admin, loan.id, Decimal("1066.19"), "voucher-1").payment
        products.create_product(None, {
            "code": "ORDER1", "name": "Order financing", "kind": "order_financing", "annual_rate": "12",
            "min_amount": "10000", "max_amount": "5000000", "min_term": 1, "max_term": 12, "advance_ratio": "0.80"})
        identity.create_user("drafter", "BORR1", ["applicant"])
        application = applications.create_application(identity.principal_for("drafter"), {
            "product": "ORDER1", "amount": "500000.00", "term_months": 6, "funder": "BANK1",
            "details": {"core_enterprise": "CORE1", "order_number": "PO-1", "order_amount": "600000.00",
                        "order_due_date": "2027-05-30"}})
        ids = {"application_id": application.id, "code": "ORDER1",
               "instance_id": instance_id, "task_id": task_id, "incident_id": incident_id,
               "document_id": document_id, "loan_id": loan.id, "payment_id": payment.id,
               "user_id": colleague.id, "token_id": spare_token.id,
               "pledge_id": 1,  # no pledge in this world: its routes answer 404 (test_margin_calls.py has them)
               "case_id": 1}  # no collections case either: 404 (test_collections.py has them)
        db.session.remove()
    return World(role, token, ids, fuzzer.id)


def restore_fuzzer(app, world: World) -> None:
    """Undo what the fuzzer may have done to itself (revoked its token, deactivated itself), so the
    next operation is tried signed in."""
    with app.app_context():
        db.session.execute(update(User).where(User.id == world.user_id).values(active=True, deactivated_at=None))
        db.session.execute(update(ApiToken).where(ApiToken.user_id == world.user_id).values(revoked_at=None))
        db.session.commit()
        db.session.remove()


def runs(operation, world: World) -> dict[str, Any]:
    """The runs of one operation, by name, each a strategy of cases sent by the world's user: valid
    requests to rows that exist (when its path has ids), valid requests with generated ids, and
    invalid requests (their ids generated too: an id may be what is invalid)."""
    headers = {"Authorization": f"Bearer {world.token}"}
    known = {p.name: world.ids[p.name] for p in operation.path_parameters if p.name in world.ids}
    found = {"valid": operation.as_strategy(generation_mode=GenerationMode.POSITIVE, headers=headers),
             "invalid": operation.as_strategy(generation_mode=GenerationMode.NEGATIVE, headers=headers)}
    if known:
        found["valid, rows that exist"] = operation.as_strategy(generation_mode=GenerationMode.POSITIVE,
                                                                path_parameters=known, headers=headers)
    return found


def fuzz(operation, run: str, cases: Any, world: World) -> str | None:
    """One run of an operation's cases; what failed, if anything.

    The seed is fixed by the role, the operation and the run: each role gets cases of its own, and
    the same ones on every run of the suite.
    """
    @seed(zlib.crc32(f"{world.role} {operation.label} {run}".encode()))
    @settings(max_examples=EXAMPLES, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def answers_as_documented(case: Any) -> None:
        case.validate_response(case.call(), checks=CHECKS)

    try:
        answers_as_documented()
    except Unsatisfiable:
        if run != "invalid":
            raise
        return None  # nothing the operation takes can be made invalid
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation is tried; all failures are reported
        detail = str(exc) if isinstance(exc, BaseExceptionGroup) else "".join(traceback.format_exception(exc))
        return f"{operation.label} ({run}): {detail}"
    return None


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_its_document_says(app, deploy, clock, role):
    world = build_world(app, deploy, clock, role)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 31
    failures = []
    for operation in operations:
        for run, cases in runs(operation, world).items():
            failure = fuzz(operation, run, cases, world)
            if failure is not None:
                failures.append(failure)
            restore_fuzzer(app, world)
    assert not failures, "\n\n".join(failures)


# -- what the fuzzing found, pinned ------------------------------------------------------------------

@pytest.mark.parametrize("part", [b'Content-Disposition: form-data\r\n\r\nx',
                                  b'Content-Disposition: form-data; name="a\rb"\r\n\r\nx',
                                  b'Content-Disposition: form-data; filename="x.bpmn"\r\n\r\n<x/>'])
def test_a_form_part_without_a_readable_name_is_no_500(client, auth, part):
    """werkzeug gives such a part the name None, which the NUL check read as text (a 500)."""
    body = b"--B\r\n" + part + b"\r\n--B--\r\n"
    r = client.post("/api/v1/process-definitions", data=body, content_type="multipart/form-data; boundary=B",
                    headers=auth)
    assert r.status_code == 422 and r.json["error"]["fields"] == {"file": ["missing"]}


@pytest.mark.parametrize(("method", "path"), [("POST", "/loans/{}/payments"), ("GET", "/loans/{}/payments"),
                                              ("POST", "/process-instances/{}/cancel")])
def test_an_id_beyond_64_bits_is_404_whatever_the_method(client, auth, method, path):
    """A POST to a path whose GET route shares it answered 405: the converter refused the number after
    werkzeug had noted the GET route's methods."""
    r = client.open("/api/v1" + path.format(2 ** 63), method=method, headers=auth, json={})
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "path"), [("GET", "/users/{}"), ("POST", "/users/{}/deactivate"),
                                              ("GET", "/users/{}/tokens"), ("DELETE", "/users/1/tokens/{}"),
                                              ("DELETE", "/me/tokens/{}")])
def test_a_user_or_token_id_beyond_32_bits_is_404(client, auth, method, path):
    """Users and tokens have 32-bit ids: a bigger one overflowed on PostgreSQL (a 500; fixed in
    `user_admin`, found here)."""
    r = client.open("/api/v1" + path.format(2 ** 31), method=method, headers=auth)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_a_body_the_document_requires_cannot_be_left_out(app, client, deploy, clock):
    """An operation whose fields all have defaults takes no body at all; the document said it must
    have one (`POST /me/tokens`; `POST /tasks/{id}/complete` of a task without a form)."""
    world = build_world(app, deploy, clock, "platform_admin")
    spec = client.get("/api/v1/openapi.json").json
    wrong = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters" or not operation.get("requestBody", {}).get("required"):
                continue
            r = client.open(path.format(**world.ids), method=method.upper(),
                            headers={"Authorization": f"Bearer {world.token}"})
            if r.status_code < 400:
                wrong.append(f"{method.upper()} {path}: {r.status_code}")
    assert wrong == []
