"""The `flask --app wsgi ...` commands, as other tools use them."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry
from app.services.identity import accounts
from tests.conftest import FIXTURES, ROOT, operators_registered


def invoke(runner, *args):
    return runner.invoke(args=list(args), catch_exceptions=False)


def test_deploy_prints_one_line_per_process_and_versions_by_content(runner, tmp_path):
    source = (FIXTURES / "bpmn" / "twelve_steps.bpmn").read_text()
    path = tmp_path / "twelve_steps.bpmn"
    path.write_text(source)
    first = invoke(runner, "processes", "deploy", str(path))
    assert first.stdout.splitlines() == ["twelve_steps v1 new"]
    # its tests complete the task before the gateway over the API with `approved`: no form asks it (a warning)
    assert "twelve_steps.bpmn: gw: the conditions of the flows leaving it read approved" in first.stderr
    assert invoke(runner, "processes", "deploy", str(path)).stdout.splitlines() == ["twelve_steps v1 unchanged"]
    path.write_text(source.replace("Score 10", "Score ten"))
    assert invoke(runner, "processes", "deploy", str(path)).stdout.splitlines() == ["twelve_steps v2 new"]
    assert invoke(runner, "processes", "list").output.splitlines() == ["twelve_steps v2 0 running"]


def test_deploy_default_is_the_processes_folder(runner, app):
    # the fixtures' service operators are the test handler modules' (and one nobody's)
    with operators_registered(app, "test.credit_bureau", "test.flaky_bureau", "risk.blacklist", "risk/score",
                              "test.no_such_operator", "test.reserve_limit", "test.release_limit"):
        out = invoke(runner, "processes", "deploy").stdout.splitlines()  # warnings go to stderr
    assert {"review_with_form v1 new", "twelve_steps v1 new"} <= set(out)
    assert all(re.fullmatch(r"[\w.-]+ v1 new", line) for line in out), out


def test_list_counts_running_instances(runner, client, auth, deploy):
    deploy("twelve_steps.bpmn")
    for _ in range(2):
        client.post("/api/v1/process-instances", json={"process_id": "twelve_steps"}, headers=auth)
    assert invoke(runner, "processes", "list").output.splitlines() == ["twelve_steps v1 2 running"]


def test_export_writes_the_latest_sources(runner, deploy, tmp_path):
    deploy("twelve_steps.bpmn", "review_with_form.bpmn")
    out = invoke(runner, "processes", "export", "--out", str(tmp_path / "export"))
    assert out.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == ["forms", "review_with_form.bpmn",
                                                                       "twelve_steps.bpmn"]
    # and the forms as they run (their newest deployed versions)
    assert sorted(p.name for p in (tmp_path / "export" / "forms").iterdir()) == ["review-schema.json",
                                                                                 "review-uischema.json"]
    assert (tmp_path / "export" / "twelve_steps.bpmn").read_bytes() == (FIXTURES / "bpmn" / "twelve_steps.bpmn").read_bytes()


def test_validate_passes_the_projects_own_processes(app):
    runner = app.test_cli_runner()
    app.config["FORMS_DIR"] = str(ROOT / "forms")
    try:
        files = sorted(str(p) for p in (ROOT / "processes").iterdir() if p.suffix in (".bpmn", ".dmn"))  # + decisions
        result = runner.invoke(args=["processes", "validate", *files])
    finally:
        app.config["FORMS_DIR"] = str(FIXTURES / "forms")
    assert files and result.exit_code == 0, result.output
    assert result.output.startswith("ok:")


def test_validate_needs_no_migrated_database(tmp_path: Path):
    """On a fresh checkout (no database yet) the strict check still runs: decisions come from the files given."""
    from app import create_app

    fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'none.db'}",
                        "SECRET_KEY": "test-secret", "FORMS_DIR": str(ROOT / "forms")})
    files = sorted(str(p) for p in (ROOT / "processes").iterdir() if p.suffix in (".bpmn", ".dmn"))
    result = fresh.test_cli_runner().invoke(args=["processes", "validate", *files])
    assert result.exit_code == 0 and result.output.startswith("ok:"), result.output
    # a message start event: the check of the messages deployed processes start on read a table there was not
    (tmp_path / "invoice.bpmn").write_text(MESSAGE_START)
    result = fresh.test_cli_runner().invoke(args=["processes", "validate", str(tmp_path / "invoice.bpmn")])
    assert result.exit_code == 0 and result.output.splitlines()[-1] == "ok: 1 file(s), 0 warning(s)", result.output


MESSAGE_START = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <message id="invoice" name="invoice_arrived"/>
  <process id="invoice" name="Invoice" isExecutable="true">
    <extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="name@zh" value="发票"/></spiffworkflow:properties></extensionElements>
    <startEvent id="s"><messageEventDefinition messageRef="invoice"/></startEvent>
    <endEvent id="e"/>
    <sequenceFlow id="f" sourceRef="s" targetRef="e"/>
  </process>
</definitions>"""


def test_validate_fails_with_reasons(runner, tmp_path: Path):
    source = (FIXTURES / "bpmn" / "review_with_form.bpmn").read_text()
    bad = source.replace("review-schema.json", "missing-form.json").replace(
        'decision == "approve"', 'decision ==')
    path = tmp_path / "bad.bpmn"
    path.write_text(bad)
    result = runner.invoke(args=["processes", "validate", str(path)])
    assert result.exit_code == 1
    assert "error: bad.bpmn: first_review: form file 'missing-form.json' does not exist in forms/" in result.output
    assert "f_ok: condition does not compile" in result.output


def test_validate_and_deploy_speak_chinese_when_asked(runner, tmp_path: Path, monkeypatch):
    """Before, the command line printed every finding in English whatever the analyst read."""
    source = (FIXTURES / "bpmn" / "review_with_form.bpmn").read_text()
    path = tmp_path / "bad.bpmn"
    path.write_text(source.replace("review-schema.json", "missing-form.json"))
    monkeypatch.setenv("LOANFLOW_LANG", "zh_CN")
    result = runner.invoke(args=["processes", "validate", str(path)])
    assert result.exit_code == 1
    assert "错误: bad.bpmn: first_review: 表单文件 'missing-form.json' 在 forms/ 中不存在" in result.output, result.output
    good = tmp_path / "twelve_steps.bpmn"
    good.write_text((FIXTURES / "bpmn" / "twelve_steps.bpmn").read_text())
    checked = runner.invoke(args=["processes", "validate", str(good)])
    assert checked.exit_code == 0 and checked.output.splitlines()[-1].startswith("通过：1 个文件，")
    deployed = invoke(runner, "processes", "deploy", str(good))
    assert deployed.stdout.splitlines() == ["twelve_steps v1 新版本"]
    assert "从这里出发的流的条件读取 approved" in deployed.stderr
    monkeypatch.setenv("LOANFLOW_LANG", "en")
    assert invoke(runner, "processes", "deploy", str(good)).stdout.splitlines() == ["twelve_steps v1 unchanged"]


def _missing_form_and_bad_condition(tmp_path: Path) -> Path:
    source = (FIXTURES / "bpmn" / "review_with_form.bpmn").read_text()
    path = tmp_path / "bad.bpmn"
    path.write_text(source.replace("review-schema.json", "missing-form.json").replace(
        'decision == "approve"', 'decision =='))
    return path


def test_deploy_refuses_what_validate_refuses_and_changes_nothing(runner, tmp_path: Path):
    result = runner.invoke(args=["processes", "deploy", str(_missing_form_and_bad_condition(tmp_path))])
    assert result.exit_code == 1
    assert "error: diagram refused" in result.output
    assert "  bad.bpmn: first_review: form file 'missing-form.json' does not exist in forms/" in result.output
    assert "  bad.bpmn: f_ok: condition does not compile" in result.output
    unknown = runner.invoke(args=["processes", "deploy", str(FIXTURES / "bpmn" / "service_unknown_operator.bpmn")])
    assert unknown.exit_code == 1
    assert "credit_report: service operator 'test.no_such_operator' is not registered in handlers/" in unknown.output
    assert invoke(runner, "processes", "list").output == ""


def test_deploy_reports_the_checks_warnings_and_deploys(runner):
    """A loop with nothing to wait on is a warning of the check: the deploy goes ahead and says so."""
    result = invoke(runner, "processes", "deploy", str(FIXTURES / "bpmn" / "gateway_loop.bpmn"))
    assert result.exit_code == 0 and result.stdout.splitlines() == ["gateway_loop v1 new"]
    assert result.stderr.splitlines() == [
        "  warning: gateway_loop.bpmn: again: loop through again, merge, step has no user task or catch event: it may "
        "run without bound",
        "  warning: gateway_loop.bpmn: again: the conditions of the flows leaving it read limit, which nothing in the "
        "process sets (no form field, script or event of it): an instance stops here with an incident unless it is "
        "started with the value, or a task without a form is completed with it over the API, as another engine's "
        "application would; a person on a task's page gives only what its form asks: give a task before it a form "
        "with the field"]
    validated = invoke(runner, "processes", "validate", str(FIXTURES / "bpmn" / "gateway_loop.bpmn"))
    assert validated.exit_code == 0 and validated.output.splitlines() == [
        "warning: gateway_loop.bpmn: again: loop through again, merge, step has no user task or catch event: it may "
        "run without bound",
        "warning: gateway_loop.bpmn: again: the conditions of the flows leaving it read limit, which nothing in the "
        "process sets (no form field, script or event of it): an instance stops here with an incident unless it is "
        "started with the value, or a task without a form is completed with it over the API, as another engine's "
        "application would; a person on a task's page gives only what its form asks: give a task before it a form "
        "with the field",
        "warning: gateway_loop.bpmn: gateway_loop: the process 'Gateway loop' has no name in zh (property "
        "name@zh on the process)", "ok: 1 file(s), 3 warning(s)"]


VALIDATE_LINE = re.compile(r"(error|warning): ([^:]+?)(?::(\d+))?: ([^:]+): (.*)")


@pytest.mark.parametrize("diagram", ["missing form and a bad condition", "unknown operator"])
def test_validate_and_the_api_give_the_same_problems(runner, client, auth, tmp_path: Path, diagram):
    path = (_missing_form_and_bad_condition(tmp_path) if diagram == "missing form and a bad condition"
            else FIXTURES / "bpmn" / "service_unknown_operator.bpmn")
    validated = runner.invoke(args=["processes", "validate", str(path)])
    assert validated.exit_code == 1
    errors: dict[str, list[str]] = {}
    for line in validated.output.splitlines():
        severity, file, number, element, reason = VALIDATE_LINE.fullmatch(line).groups()
        if severity == "error":
            errors.setdefault(file, []).append(f"{element}: {reason}" + (f" (line {number})" if number else ""))
    assert errors
    r = client.post("/api/v1/process-definitions", data={"file": (io.BytesIO(path.read_bytes()), path.name)},
                    headers=auth)
    assert r.status_code == 422
    assert r.json["error"]["fields"] == errors
    zh = client.post("/api/v1/process-definitions", data={"file": (io.BytesIO(path.read_bytes()), path.name)},
                     headers={**auth, "Accept-Language": "zh-CN"})
    said_zh = [line for lines in zh.json["error"]["fields"].values() for line in lines]
    assert zh.status_code == 422 and len(said_zh) == sum(map(len, errors.values()))
    assert all(re.search(r"[\u4e00-\u9fff]", line) for line in said_zh), said_zh  # the same refusal, in Chinese


def test_validate_reports_a_condition_the_compiler_chokes_on(runner, tmp_path: Path):
    """200,000 terms in a row overflow Python's compiler (RecursionError, not SyntaxError)."""
    source = (FIXTURES / "bpmn" / "review_with_form.bpmn").read_text()
    path = tmp_path / "deep.bpmn"
    path.write_text(source.replace('decision == "approve"', " + ".join(["1"] * 200_000) + ' == 0'))
    result = runner.invoke(args=["processes", "validate", str(path)])
    assert result.exit_code == 1, result.output
    assert "f_ok: condition does not compile" in result.output and "RecursionError" in result.output


def test_validate_refuses_hostile_xml(runner, tmp_path):
    path = tmp_path / "evil.bpmn"
    path.write_text('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><d>&b;</d>')
    result = runner.invoke(args=["processes", "validate", str(path)])
    assert result.exit_code == 1 and "DOCTYPE and ENTITY declarations are not allowed" in result.output


def test_orgs_users_and_tokens(runner, client):
    assert invoke(runner, "orgs", "create", "BANK1", "--kind", "funder", "--kind", "core_enterprise",
                  "--name", "Bank One").exit_code == 0
    bad = runner.invoke(args=["orgs", "create", "X", "--kind", "martian", "--name", "X"])
    assert bad.exit_code == 1 and "unknown organisation kind(s): martian" in bad.output
    dup = runner.invoke(args=["orgs", "create", "BANK1", "--kind", "funder", "--name", "Again"])
    assert dup.exit_code == 1
    out = invoke(runner, "users", "create", "boss", "--org", "BANK1", "--role", "first_reviewer",
                 "--role", "core_signer")
    assert out.exit_code == 0
    token = invoke(runner, "users", "token", "boss").output.strip().splitlines()[-1]
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    unknown = runner.invoke(args=["users", "token", "nobody"])
    assert unknown.exit_code == 1


def test_platform_roles_are_refused_outside_a_platform_organisation(runner):
    invoke(runner, "orgs", "create", "BANK1", "--kind", "funder", "--name", "Bank One")
    invoke(runner, "orgs", "create", "PLATFORM", "--kind", "platform", "--name", "Platform")
    refused = runner.invoke(args=["users", "create", "boss", "--org", "BANK1", "--role", "platform_admin",
                                  "--role", "first_reviewer"])
    assert refused.exit_code == 1
    assert "role: Platform administrator is held only in an organisation of kind Platform" in refused.output
    wrong_party = runner.invoke(args=["users", "create", "x", "--org", "PLATFORM", "--role", "applicant"])
    assert wrong_party.exit_code == 1 and "Applicant is held only in an organisation of kind Borrower" in (
        wrong_party.output)
    assert invoke(runner, "users", "create", "boss", "--org", "PLATFORM", "--role", "platform_admin").exit_code == 0


def test_tokens_expire_list_and_revoke_from_the_cli(runner, app, client, clock):
    invoke(runner, "orgs", "create", "BANK1", "--kind", "funder", "--name", "Bank One")
    invoke(runner, "users", "create", "rev", "--org", "BANK1", "--role", "first_reviewer")
    short = invoke(runner, "users", "token", "rev", "--days", "2", "--label", "nightly export").output
    long = invoke(runner, "users", "token", "rev").output
    assert "valid 2 day(s)" in short and "valid 90 day(s)" in long
    short_token, long_token = short.strip().splitlines()[-1], long.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {short_token}"}
    assert client.get("/api/v1/me/tasks", headers=headers).status_code == 200

    listing = invoke(runner, "users", "tokens", "rev").output.splitlines()
    assert listing[0].split()[:4] == ["id", "state", "created", "expires"]
    assert len(listing) == 3
    newest, oldest = listing[1].split(), listing[2].split()
    assert newest[1] == "active" and oldest[1] == "active" and listing[2].endswith("nightly export")
    assert oldest[3] == "2026-11-30T09:00Z" and oldest[4] == "2026-11-28T09:00Z"  # expires; last used
    assert newest[3] == "2027-02-26T09:00Z" and newest[4] == "-"

    clock.advance(days=2)
    expired = client.get("/api/v1/me/tasks", headers=headers)
    assert expired.status_code == 401 and expired.json["error"]["code"] == "token_expired"
    assert invoke(runner, "users", "tokens", "rev").output.splitlines()[2].split()[1] == "expired"

    revoked = invoke(runner, "users", "revoke-token", newest[0])
    assert revoked.output.strip() == f"token {newest[0]} revoked"
    answer = client.get("/api/v1/me/tasks", headers={"Authorization": f"Bearer {long_token}"})
    assert answer.status_code == 401 and answer.json["error"]["code"] == "token_revoked"
    assert runner.invoke(args=["users", "revoke-token", "999999"]).exit_code == 1
    with app.app_context():
        actions = [a for a in db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
                   if a.startswith("token_")]
        db.session.remove()
    assert actions == ["token_issued", "token_issued", "token_revoked"]
    bad_days = runner.invoke(args=["users", "token", "rev", "--days", "0"])
    assert bad_days.exit_code == 2


def test_deactivated_users_tokens_stop_at_once_and_come_back_on_reactivation(runner, client):
    invoke(runner, "orgs", "create", "BANK1", "--kind", "funder", "--name", "Bank One")
    invoke(runner, "users", "create", "rev", "--org", "BANK1", "--role", "first_reviewer")
    headers = {"Authorization": f"Bearer {invoke(runner, 'users', 'token', 'rev').output.splitlines()[-1]}"}
    assert client.get("/api/v1/me/tasks", headers=headers).status_code == 200
    assert invoke(runner, "users", "deactivate", "rev").output.strip() == "user rev deactivated"
    answer = client.get("/api/v1/me/tasks", headers=headers)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "account_inactive"
    assert invoke(runner, "users", "activate", "rev").output.strip() == "user rev activated"
    assert client.get("/api/v1/me/tasks", headers=headers).status_code == 200
    assert runner.invoke(args=["users", "deactivate", "nobody"]).exit_code == 1


def test_invite_only_before_a_password_then_a_reset_link(runner, app):
    invoke(runner, "orgs", "create", "BANK1", "--kind", "funder", "--name", "Bank One")
    invoke(runner, "users", "create", "rev", "--org", "BANK1", "--role", "first_reviewer")
    link = invoke(runner, "users", "invite", "rev").output.strip().splitlines()[-1]
    assert re.fullmatch(r"http://127\.0\.0\.1:5000/invite/[\w-]+", link)
    no_reset = runner.invoke(args=["users", "reset-link", "rev"])
    assert no_reset.exit_code == 1 and "has no password yet" in no_reset.output
    with app.app_context():
        accounts.set_password_with_token(link.rsplit("/", 1)[1], "invite", "Harbour-lights-2026")
        db.session.remove()
    again = runner.invoke(args=["users", "invite", "rev"])
    assert again.exit_code == 1 and "has set a password already" in again.output
    reset = invoke(runner, "users", "reset-link", "rev", "--base-url", "https://lf.example/").output
    assert re.fullmatch(r"https://lf\.example/reset/[\w-]+", reset.strip().splitlines()[-1])


def test_a_link_given_on_the_command_line_starts_where_people_reach_the_platform(runner, app, monkeypatch):
    """`users invite` printed http://127.0.0.1:5000/... whatever LOANFLOW_PUBLIC_URL said, where the invitations
    the platform sends by SMS and e-mail start."""
    invoke(runner, "orgs", "create", "BANK1", "--kind", "funder", "--name", "Bank One")
    invoke(runner, "users", "create", "rev", "--org", "BANK1", "--role", "first_reviewer")
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://loans.example.cn/")
    link = invoke(runner, "users", "invite", "rev").output.strip().splitlines()[-1]
    assert re.fullmatch(r"https://loans\.example\.cn/invite/[\w-]+", link)


def test_seed_admin_is_idempotent_and_prints_a_working_token(runner, client):
    first = invoke(runner, "seed", "admin").output.strip().splitlines()[-1]
    second = invoke(runner, "seed", "admin").output.strip().splitlines()[-1]
    assert first != second
    for token in (first, second):
        assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_seed_demo_is_idempotent_and_its_users_can_sign_in(runner, app, client):
    import re as _re

    from sqlalchemy import func, select

    from app.demo import DEMO_PASSWORD
    from app.extensions import db
    from app.models import Product, User

    first = invoke(runner, "seed", "demo").output
    invoke(runner, "seed", "demo")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == len(first.splitlines()) - 1
        # one product of each kind, each offering the diagram named after its kind to applicants
        offered = dict(db.session.execute(select(Product.kind, Product.application_process)
                                          .where(Product.kind.is_not(None))).all())
        assert offered == {k: k for k in ("order_financing", "pledge_financing", "credit_loan")}
        db.session.remove()
    csrf = _re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"csrf_token": csrf, "username": "reviewer1", "password": DEMO_PASSWORD})
    assert r.status_code == 302


def test_seed_demo_puts_deals_at_every_stage_with_someone_to_act_on_each(runner, app):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Application, HumanTask, Lead, User
    from tests.integration.origination_support import deploy_shipped

    deploy_shipped(app, runner)
    invoke(runner, "seed", "demo")
    invoke(runner, "seed", "demo")  # idempotent: no second set of deals
    with app.app_context():
        statuses = [row.status for row in db.session.scalars(select(Application).order_by(Application.id))]
        assert len(statuses) == 17  # 14 through origination and signing, 3 lived after disbursement
        assert {"draft", "in_review", "returned", "approved", "rejected", "signing", "disbursing",
                "active", "closed"} <= set(statuses)
        assert statuses[3] == "returned"  # APP-<year>-0004: the applicant is asked for more
        waiting = {(task.element_id, task.lane) for task in db.session.scalars(
            select(HumanTask).where(HumanTask.state == "ready"))}
        assert {("confirm_receivable", "core_signer"), ("confirm_receipt", "warehouse_supervisor"),
                ("appraise_goods", "operator"), ("first_review", "first_reviewer"),
                ("supplement", "applicant"), ("second_review", "second_reviewer"),
                ("qualify_lead", "operator"), ("verify_identity_borrower", "applicant"),
                ("register_collateral", "operator"), ("release_funds", "finance")} <= waiting
        # the contract out for signing waits for applicant1 at the e-signature simulator
        from app.services.simulators.esign import flows_for
        [flow] = flows_for(db.session.scalar(select(Application.number).where(Application.stage == "contract_signing")))
        assert flow.next_signer is not None and flow.next_signer.username == "applicant1"
        # the active deal's loan is booked from its disbursement
        from app.models import Disbursement, Loan
        active = db.session.scalar(select(Application).where(Application.status == "active").limit(1))
        disbursement = db.session.scalar(select(Disbursement).where(Disbursement.application_id == active.id))
        loan = db.session.get(Loan, disbursement.loan_id)
        assert (disbursement.status, loan.business_key, loan.principal) == (
            "succeeded", f"LOAN-{active.number}", active.approved_amount)
        assert [lead.status for lead in db.session.scalars(select(Lead))] == ["new", "new", "new"]
        approved = db.session.scalar(select(Application).where(Application.status == "approved"))
        assert approved.approved_amount is not None and approved.approved_amount <= approved.amount
        assert db.session.scalar(select(User.id).where(User.username == "reviewer_b2")) is not None
        # after disbursement (app.demo_post_loan): one closed with its certificate, one overdue with
        # finance alerted and a collections case asked for, one paying by auto-debit
        from app.models import ApplicationDocument, OutboxMessage, Payment, ProcessInstance
        closed = db.session.scalar(select(Application).where(Application.status == "closed"))
        assert db.session.scalar(select(ApplicationDocument.kind).where(
            ApplicationDocument.application_id == closed.id, ApplicationDocument.kind == "settlement_certificate"))
        post_loan = {i.business_key: i.status for i in db.session.scalars(
            select(ProcessInstance).where(ProcessInstance.process_id == "post_loan"))}
        assert post_loan[f"LOAN-{closed.number}"] == "completed"
        assert sorted(post_loan.values()) == ["completed", "waiting", "waiting", "waiting"]
        overdue = db.session.scalar(select(Loan).where(Loan.dpd > 30, Loan.business_key.like("LOAN-APP-%")))
        assert overdue is not None and overdue.bucket == "31-60"
        assert ("review_overdue", "finance") in waiting
        assert db.session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.name == "collections_opened", OutboxMessage.correlation_key == overdue.business_key))
        # its case sent the reminder within the hours and waits for the collections agent's contact
        [case] = db.session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "collections")).all()
        assert (case.business_key, case.status) == (overdue.business_key, "waiting")
        assert ("contact", "collections_agent") in waiting
        assert db.session.scalar(select(User.id).where(User.username == "collector1")) is not None
        from app.services.collections import views
        from app.services.identity import directory
        seen = views.case(directory.principal_for("collector1"), case.id, "zh")  # whom the collector calls
        assert seen["reach"] and seen["reach"][0]["mobile"] and seen["bills"]  # and what is overdue, bill by bill
        debited = db.session.scalars(select(Payment).where(Payment.idempotency_key.like("online-order:%"))).all()
        assert len(debited) >= 2  # the pay-off, and the on-time loan's first auto-debited bill
        # the diagram drawn in Camunda Modeler, brought in with its two Camunda Forms files: one invoice waits
        [invoice] = db.session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "invoice_review"))
        assert (invoice.business_key, invoice.status) == ("INV-4403110588", "waiting")
        assert ("review_invoice", "operator") in waiting
        from app.services.workflow import instances
        assert instances.start_form("invoice_review")["required"] == ["supplier", "invoice_number", "amount"]
        # the payment drawn as a Camunda external task: its topic mapped, one payment waits for a worker
        from app.models import ExternalTask
        [payment] = db.session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "invoice_payment"))
        assert (payment.business_key, payment.status) == ("PAY-4403110571", "waiting")
        [offered] = db.session.scalars(select(ExternalTask)).all()
        assert (offered.instance_id, offered.topic, offered.worker_id) == (payment.id, "invoice-payment", None)
        db.session.remove()


def test_seed_demo_books_two_loans_with_balanced_books(runner, app):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Loan, Payment
    from app.services.ledger.journal import trial_balance

    invoke(runner, "seed", "demo")
    invoke(runner, "seed", "demo")  # idempotent: no second pair of loans
    with app.app_context():
        loans = {loan.business_key: loan for loan in db.session.scalars(select(Loan))}
        assert sorted(loans) == ["LOAN-2026-0001", "LOAN-2026-0002"]
        assert db.session.query(Payment).count() == 4  # 3 + 1 instalments paid on their due dates
        books = trial_balance()
        assert books.total == 0 and books.balances["loan_principal"] > 0  # money lent and still owed
        db.session.remove()


def test_a_folder_deploys_camunda_named_diagrams_too(runner, tmp_path):
    source = (FIXTURES / "bpmn" / "twelve_steps.bpmn").read_bytes()
    (tmp_path / "twelve_steps.bpmn20.xml").write_bytes(source)
    (tmp_path / "notes.xml").write_text("<notes/>")  # not a diagram by its name: not read
    assert invoke(runner, "processes", "deploy", str(tmp_path)).stdout.splitlines() == ["twelve_steps v1 new"]
