"""What the engine's own events keep, key by key, in the reader's words: a step that failed and waits for its next
try (`attempt` 1 `of` 3, `retry_at`), an instance stopped by an error (`attempts`, `last_attempt_at`, `reason`), a
timer (`due_at`)... The instance page's history labels them as it labels a form's fields (`data_words`), the key kept
beside its label for the staff who read the API's events."""
from __future__ import annotations

from app.services.context import lazy_gettext as _l
from app.services.workflow.data_words import Field, Glossary

KEYS = {
    "attempt": _l("Attempt"), "of": _l("Tries in all"), "error": _l("Error"), "retry_at": _l("Next try at"),
    "attempts": _l("Attempts"), "last_attempt_at": _l("Last attempt at"), "reason": _l("Reason"),
    "due_at": _l("Due at"), "end_events": _l("Ended at"), "incident_id": _l("Incident number"),
    "topic": _l("Topic"), "code": _l("Error code"), "signal": _l("Signal"), "runs": _l("Times run"),
    "elements": _l("Steps"), "note": _l("Note"), "from": _l("From version"), "to": _l("To version"),
}


def glossary() -> Glossary:
    """The engine's event keys, labelled in the reader's language."""
    return {key: Field(str(label), {}, False) for key, label in KEYS.items()}
