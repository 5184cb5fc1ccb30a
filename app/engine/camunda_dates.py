"""Camunda 7's relative dates: `${dateTime().plusDays(2).toDate()}`, read as the ISO 8601 duration they mean.

Camunda diagrams compute a user task's due date or a timer's date with Camunda's built-in `dateTime()`
(a Joda DateTime of now) and its `plus...` methods. Evaluated when the task is created or the timer
starts, it is a moment that long after then: the duration `P2D`. `offset` gives that duration, so the
import can write it where Loanflow reads one (`dueIn`; a timer's `timeDuration`). Anything else (a
minus, milliseconds, another method) is None: the expression stays as it was, and is translated or
refused as JUEL.
"""
from __future__ import annotations

import re

_UNITS = {"Years": "Y", "Months": "M", "Weeks": "W", "Days": "D", "Hours": "H", "Minutes": "M", "Seconds": "S"}
_EXPRESSION = re.compile(r"[$#]\{\s*dateTime\(\s*\)(?P<chain>(?:\s*\.\s*plus\w+\(\s*\d+\s*\))*)\s*"
                         r"(?:\.\s*toDate\(\s*\)\s*)?\}")
_STEP = re.compile(r"\.\s*plus(?P<unit>\w+)\(\s*(?P<count>\d+)\s*\)")


def offset(text: str | None) -> str | None:
    """The ISO 8601 duration a `dateTime().plus...` expression adds to now, else None."""
    found = _EXPRESSION.fullmatch((text or "").strip())
    if found is None:
        return None
    amounts: dict[str, int] = {}
    for step in _STEP.finditer(found["chain"]):
        if step["unit"] not in _UNITS:
            return None
        amounts[step["unit"]] = amounts.get(step["unit"], 0) + int(step["count"])
    days = amounts.pop("Days", 0) + 7 * amounts.pop("Weeks", 0)  # ISO 8601 writes weeks alone only
    date = "".join(f"{amounts[u]}{_UNITS[u]}" for u in ("Years", "Months") if amounts.get(u)) + (f"{days}D" if days else "")
    time = "".join(f"{amounts[u]}{_UNITS[u]}" for u in ("Hours", "Minutes", "Seconds") if amounts.get(u))
    return f"P{date}" + (f"T{time}" if time else "") if date or time else "PT0S"
