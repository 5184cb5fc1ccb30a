"""`flask loans schedule` and `flask loans simulate` through the Flask test CLI runner."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskCliRunner

from app import create_app
from tests.unit.lending.reference import cli_options, schedule_cases

CASES = schedule_cases()


@pytest.fixture(scope="module")
def runner() -> FlaskCliRunner:
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}).test_cli_runner()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_schedule_json_reproduces_each_reference_case(runner: FlaskCliRunner, case: dict[str, Any]) -> None:
    result = runner.invoke(args=["loans", "schedule", *cli_options(case["terms"]), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"instalments", "total_interest", "total_repayment"}
    rows = out["instalments"]
    assert all(set(r) == {"number", "due_date", "principal", "interest", "total", "balance"} for r in rows)
    assert all(isinstance(r[k], str) for r in rows for k in ("principal", "interest", "total", "balance"))
    for part in ("principal", "interest", "total"):
        if part in case["expect"]:
            assert [Decimal(r[part]) for r in rows] == [Decimal(x) for x in case["expect"][part]]
    assert Decimal(out["total_interest"]) == Decimal(case["expect"]["total_interest"])
    assert Decimal(out["total_repayment"]) == Decimal(case["terms"]["principal"]) + Decimal(out["total_interest"])
    assert [r["number"] for r in rows] == list(range(1, len(rows) + 1))


def test_schedule_without_json_prints_a_table(runner: FlaskCliRunner) -> None:
    case = CASES[0]
    result = runner.invoke(args=["loans", "schedule", *cli_options(case["terms"])])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["#", "due", "date"]
    assert len(lines) == 1 + case["terms"]["repayments"] + 1
    assert lines[-1].startswith(f"total interest {Decimal(case['expect']['total_interest']):.2f}")


def test_whole_term_schedule_with_frequency_options(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["loans", "schedule", "--principal", "800000", "--annual-rate", "8",
                                 "--disbursed-on", "2025-03-01", "--frequency", "whole_term",
                                 "--maturity-date", "2025-08-28", "--days-in-year", "360", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["instalments"]
    assert len(rows) == 1 and rows[0]["due_date"] == "2025-08-28"
    assert Decimal(rows[0]["interest"]) == (Decimal(800000) * Decimal("0.08") * 180 / 360).quantize(Decimal("0.01"))


def test_schedule_takes_the_old_spelling_of_its_options(runner: FlaskCliRunner) -> None:
    terms = next(c for c in CASES if c["id"] == "declining-5000-12-18")["terms"]
    new = runner.invoke(args=["loans", "schedule", *cli_options(terms), "--json"])
    old_terms = {("installment_multiple" if k == "instalment_multiple" else k): v for k, v in terms.items()}
    old = runner.invoke(args=["loans", "schedule", *cli_options({**old_terms, "amortization": "equal_installments"}),
                              "--json"])
    assert old.exit_code == 0, old.output
    assert "--installment-multiple" in cli_options(old_terms) and old.stdout == new.stdout
    both = runner.invoke(args=["loans", "schedule", *cli_options(terms), "--installment-multiple", "1"])
    assert both.exit_code == 2 and "--installment-multiple: is the old name of instalment_multiple" in both.output
    shown = runner.invoke(args=["loans", "schedule", "--help"]).stdout
    assert "--instalment-multiple" in shown and "equal_instalments" in shown and "installment" not in shown


@pytest.mark.parametrize("args", [
    ["--principal", "abc", "--annual-rate", "12", "--repayments", "6", "--disbursed-on", "2024-01-01"],
    ["--principal", "1000", "--annual-rate", "12", "--repayments", "0", "--disbursed-on", "2024-01-01"],
    ["--principal", "1000", "--annual-rate", "12", "--repayments", "6", "--disbursed-on", "01/01/2024"],
    ["--principal", "1000", "--annual-rate", "12", "--repayments", "6", "--disbursed-on", "2024-01-01",
     "--amortization", "balloon"],
    ["--principal", "1000", "--annual-rate", "12", "--disbursed-on", "2024-01-01"],
    ["--principal", "-1000", "--annual-rate", "12", "--repayments", "6", "--disbursed-on", "2024-01-01"],
    ["--principal", "1000", "--annual-rate", "12", "--repayments", "6", "--disbursed-on", "2024-01-01",
     "--principal-grace", "6"],
    ["--principal", "1000", "--annual-rate", "12", "--disbursed-on", "2024-01-01", "--frequency", "whole_term"],
    ["--principal", "１０００", "--annual-rate", "12", "--repayments", "6", "--disbursed-on", "2024-01-01"],
    ["--principal", "1000", "--annual-rate", "١٢", "--repayments", "6", "--disbursed-on", "2024-01-01"],
    ["--principal", "1000\n", "--annual-rate", "12", "--repayments", "6", "--disbursed-on", "2024-01-01"],
    ["--principal", "10000000000000", "--annual-rate", "12", "--repayments", "6", "--disbursed-on", "2024-01-01"],
])
def test_bad_schedule_options_are_usage_errors(runner: FlaskCliRunner, args: list[str]) -> None:
    result = runner.invoke(args=["loans", "schedule", *args, "--json"])
    assert result.exit_code == 2
    assert "Error:" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def write(tmp_path: Path, data: object) -> str:
    path = tmp_path / "sim.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def test_simulate_prints_the_resulting_schedule(runner: FlaskCliRunner, tmp_path: Path) -> None:
    terms = next(c for c in CASES if c["id"] == "declining-5000-12-18")["terms"]
    plain = json.loads(runner.invoke(args=["loans", "schedule", *cli_options(terms), "--json"]).stdout)
    first = plain["instalments"][0]
    request = {"terms": terms, "prepayment": "reduce_instalment",
               "transactions": [{"date": first["due_date"], "amount": "1305"}]}
    result = runner.invoke(args=["loans", "simulate", write(tmp_path, request)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"instalments", "total_interest", "total_repayment"}
    assert out["instalments"][0] == first  # paid instalments are included as they were
    assert len(out["instalments"]) == len(plain["instalments"])
    assert Decimal(out["total_interest"]) < Decimal(plain["total_interest"])
    assert sum(Decimal(r["principal"]) for r in out["instalments"]) == Decimal(terms["principal"])


def test_simulate_pays_a_bill_made_two_days_early_as_the_bill(runner: FlaskCliRunner, tmp_path: Path) -> None:
    terms = next(c for c in CASES if c["id"] == "declining-5000-12-18")["terms"]
    plain = json.loads(runner.invoke(args=["loans", "schedule", *cli_options(terms), "--json"]).stdout)
    request = {"terms": terms, "transactions": [{"date": "2022-12-01", "amount": "305"},
                                                {"date": "2022-12-30", "amount": "305"}]}  # bill 2 is due 1 Jan
    result = runner.invoke(args=["loans", "simulate", write(tmp_path, request)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == plain and result.stderr == ""  # no prepayment, no credit


def test_simulate_reports_a_credit_on_stderr(runner: FlaskCliRunner, tmp_path: Path) -> None:
    terms = CASES[0]["terms"]
    request = {"terms": terms, "transactions": [{"date": "2022-11-15", "amount": "9000"}]}
    result = runner.invoke(args=["loans", "simulate", write(tmp_path, request)])
    assert result.exit_code == 0
    assert "credit" in result.stderr and json.loads(result.stdout)["instalments"][-1]["balance"] == "0.00"


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "is not valid JSON"),
    ({"terms": {"principal": "1000"}}, "annual_rate: is required"),
    ({"terms": CASES[0]["terms"], "transactions": [{"date": "2022-01-01", "amount": "5"}]},
     "before the disbursement"),
    ([1, 2], "must be a JSON object"),
    ({"terms": CASES[0]["terms"], "transactions": [{"date": "2022-11-15", "amount": "٣.٠٠"}]},
     "transactions[0].amount: must be an amount written with the digits 0-9"),
    ({"terms": CASES[0]["terms"], "transactions": [{"date": "2022-11-15", "amount": "3.00\n"}]},
     "transactions[0].amount: must be an amount written with the digits 0-9"),
    ({"terms": {**CASES[0]["terms"], "principal": "１000"}}, "principal: must be an amount written"),
    ({"terms": {**CASES[0]["terms"], "principal": "999999999999999.99"}}, "principal: is too large"),
])
def test_simulate_bad_files_exit_1_with_a_message(runner: FlaskCliRunner, tmp_path: Path, content: object,
                                                  message: str) -> None:
    result = runner.invoke(args=["loans", "simulate", write(tmp_path, content)])
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output


def test_simulate_missing_file_is_a_usage_error(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["loans", "simulate", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
