"""The loan reference cases of tests/fixtures/reference/loan-cases.json (figures from Apache Fineract's tests)."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

# Test data in the repository (its README names the source), so the suite runs on a bare clone.
REFERENCE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
CASES_FILE = REFERENCE_DIR / "loan-cases.json"


def load_cases() -> dict[str, Any]:
    return json.loads(CASES_FILE.read_text(encoding="utf-8"), parse_float=Decimal)


def schedule_cases() -> list[dict[str, Any]]:
    return list(load_cases()["schedules"])


def penalty_cases() -> list[dict[str, Any]]:
    return list(load_cases()["penalties"])


def cli_options(terms: dict[str, Any]) -> list[str]:
    """A case's terms as `loans schedule` options (None means the option is left out)."""
    args: list[str] = []
    for key, value in terms.items():
        if value is not None:
            args += [f"--{key.replace('_', '-')}", str(value)]
    return args
