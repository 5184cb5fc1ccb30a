"""Every kind of history event the platform writes has a label in the reader's language. Before, the
history said "Other" for a signal an instance received and for an instance that stopped on an error
(the platform's staff saw the raw code beside it): kinds written without a label."""
from __future__ import annotations

import re
from pathlib import Path

from flask_babel import force_locale

from app import create_app
from app.web.vocabulary import EVENTS, event_label

APP = Path(__file__).resolve().parents[2] / "app"
# the places a history event's kind is written: the engine's notes, a step's events, a task's records
WRITTEN = re.compile(r'_note\("([a-z_]+)"|\.event\("([a-z_]+)"|\brecord\([^,()]+, [^,()]+, "([a-z_]+)"')


def _written_kinds() -> set[str]:
    kinds = set()
    for path in APP.rglob("*.py"):
        for found in WRITTEN.finditer(path.read_text(encoding="utf-8")):
            kinds.add(next(k for k in found.groups() if k))
    return kinds


def test_the_scan_finds_the_kinds_it_should():
    assert {"timer_fired", "task_ready", "task_claimed", "completed", "compensated", "signal_received"} <= _written_kinds()


def test_every_kind_written_has_a_label_in_english_and_chinese():
    missing = sorted(_written_kinds() - set(EVENTS))
    assert not missing, f"history event kinds without a label: {missing}"
    with create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).test_request_context():
        for kind in _written_kinds():
            with force_locale("zh"):
                chinese = event_label(kind)
            with force_locale("en"):
                english = event_label(kind)
            assert chinese != english and not re.search(r"[A-Za-z]{3,}", chinese), (kind, chinese)
