"""Every detail the platform writes to the audit log has a word on the log's page (`/audit`): a detail without one
reached the auditor as its key (`disposal`, `shortfall`, `discount_percent`...)."""
from __future__ import annotations

import ast
from pathlib import Path

from app.services.identity.audit_trail import DETAILS

APP = Path(__file__).resolve().parents[2] / "app"
NOT_DETAILS = {"target", "ip", "actor_id"}  # the entry's own columns


def _written_keys() -> dict[str, str]:
    """Each keyword an `audit(...)` call in app/ writes, with where (a `**details` dict literal's keys too)."""
    found: dict[str, str] = {}
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        dicts = {n.targets[0].id: n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                 and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) and isinstance(n.value, ast.Dict)}
        dicts.update({n.target.id: n.value for n in ast.walk(tree) if isinstance(n, ast.AnnAssign)
                      and isinstance(n.target, ast.Name) and isinstance(n.value, ast.Dict)})
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", None)) == "audit"):
                continue
            for keyword in call.keywords:
                if keyword.arg is not None:
                    found.setdefault(keyword.arg, f"{path.relative_to(APP.parent)}:{call.lineno}")
                elif isinstance(keyword.value, ast.Name) and keyword.value.id in dicts:
                    for key in dicts[keyword.value.id].keys:
                        if isinstance(key, ast.Constant):
                            found.setdefault(key.value, f"{path.relative_to(APP.parent)}:{call.lineno}")
    return found


def test_every_detail_the_log_is_written_with_has_a_word():
    written = _written_keys()
    assert {"disposal", "shortfall", "discount_percent", "proposed_by"} <= set(written)  # the scan reads them
    missing = {key: where for key, where in written.items() if key not in DETAILS and key not in NOT_DETAILS}
    assert not missing, missing
