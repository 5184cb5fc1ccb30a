"""ISO 8601 durations as the engine reads them (e.g. a user task's `dueIn`)."""
from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def due_after(expression: str, start: datetime) -> datetime:
    """`start` plus an ISO 8601 duration such as 'P2D' or 'PT48H'; ValueError if malformed."""
    try:
        parsed = TimerEventDefinition.parse_iso_duration(expression)
        return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
    except Exception as exc:  # noqa: BLE001 - the library raises several types for bad input
        raise ValueError(f"not an ISO 8601 duration: {expression!r}") from exc


__all__ = ["due_after"]
