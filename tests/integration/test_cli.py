"""The `flask --app wsgi ...` commands, as other tools use them."""
from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import FIXTURES, ROOT


def invoke(runner, *args):
    return runner.invoke(args=list(args), catch_exceptions=False)


def test_deploy_prints_one_line_per_process_and_versions_by_content(runner, tmp_path):
    source = (FIXTURES / "bpmn" / "twelve_steps.bpmn").read_text()
    path = tmp_path / "twelve_steps.bpmn"
    path.write_text(source)
    assert invoke(runner, "processes", "deploy", str(path)).output.splitlines() == ["twelve_steps v1 new"]
    assert invoke(runner, "processes", "deploy", str(path)).output.splitlines() == ["twelve_steps v1 unchanged"]
    path.write_text(source.replace("Score 10", "Score ten"))
    assert invoke(runner, "processes", "deploy", str(path)).output.splitlines() == ["twelve_steps v2 new"]
    assert invoke(runner, "processes", "list").output.splitlines() == ["twelve_steps v2 0 running"]


def test_deploy_default_is_the_processes_folder(runner, app):
    out = invoke(runner, "processes", "deploy").output.splitlines()
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
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == ["review_with_form.bpmn", "twelve_steps.bpmn"]
    assert (tmp_path / "export" / "twelve_steps.bpmn").read_bytes() == (FIXTURES / "bpmn" / "twelve_steps.bpmn").read_bytes()


def test_validate_passes_the_projects_own_processes(app):
    runner = app.test_cli_runner()
    app.config["FORMS_DIR"] = str(ROOT / "forms")
    try:
        files = sorted(str(p) for p in (ROOT / "processes").glob("*.bpmn"))
        result = runner.invoke(args=["processes", "validate", *files])
    finally:
        app.config["FORMS_DIR"] = str(FIXTURES / "forms")
    assert files and result.exit_code == 0, result.output
    assert result.output.startswith("ok:")


def test_validate_fails_with_reasons(runner, tmp_path: Path):
    source = (FIXTURES / "bpmn" / "review_with_form.bpmn").read_text()
    bad = source.replace("review-schema.json", "missing-form.json").replace(
        'decision == "approve"', 'decision ==')
    path = tmp_path / "bad.bpmn"
    path.write_text(bad)
    result = runner.invoke(args=["processes", "validate", str(path)])
    assert result.exit_code == 1
    assert "error: bad.bpmn: first_review: form file 'missing-form.json' does not exist in forms/" in result.output
    assert "gw->fork: condition does not compile" in result.output


def test_validate_reports_a_condition_the_compiler_chokes_on(runner, tmp_path: Path):
    """200,000 terms in a row overflow Python's compiler (RecursionError, not SyntaxError)."""
    source = (FIXTURES / "bpmn" / "review_with_form.bpmn").read_text()
    path = tmp_path / "deep.bpmn"
    path.write_text(source.replace('decision == "approve"', " + ".join(["1"] * 200_000) + ' == 0'))
    result = runner.invoke(args=["processes", "validate", str(path)])
    assert result.exit_code == 1, result.output
    assert "gw->fork: condition does not compile" in result.output and "RecursionError" in result.output


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
    out = invoke(runner, "users", "create", "boss", "--org", "BANK1", "--role", "platform_admin",
                 "--role", "first_reviewer")
    assert out.exit_code == 0
    token = invoke(runner, "users", "token", "boss").output.strip().splitlines()[-1]
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    unknown = runner.invoke(args=["users", "token", "nobody"])
    assert unknown.exit_code == 1


def test_seed_admin_is_idempotent_and_prints_a_working_token(runner, client):
    first = invoke(runner, "seed", "admin").output.strip().splitlines()[-1]
    second = invoke(runner, "seed", "admin").output.strip().splitlines()[-1]
    assert first != second
    for token in (first, second):
        assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_seed_demo_is_idempotent_and_its_users_can_sign_in(runner, app, client):
    import re as _re

    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import User
    from app.services.demo import DEMO_PASSWORD

    first = invoke(runner, "seed", "demo").output
    invoke(runner, "seed", "demo")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == len(first.splitlines()) - 1
        db.session.remove()
    csrf = _re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"csrf_token": csrf, "username": "reviewer1", "password": DEMO_PASSWORD})
    assert r.status_code == 302


def test_seed_demo_books_two_loans_with_balanced_books(runner, app):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Loan, Payment
    from app.services.ledger import trial_balance

    invoke(runner, "seed", "demo")
    invoke(runner, "seed", "demo")  # idempotent: no second pair of loans
    with app.app_context():
        loans = {loan.business_key: loan for loan in db.session.scalars(select(Loan))}
        assert sorted(loans) == ["LOAN-2026-0001", "LOAN-2026-0002"]
        assert db.session.query(Payment).count() == 4  # 3 + 1 instalments paid on their due dates
        books = trial_balance()
        assert books.total == 0 and books.balances["loan_principal"] > 0  # money lent and still owed
        db.session.remove()
