"""Every request has an id: the caller's X-Request-ID when it is a sane token, a generated one
otherwise; it comes back in the response and is on every log record logged while serving it.
Logs are one JSON object per line under LOANFLOW_LOG_FORMAT=json (production's default)."""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError, load_config
from app.logging_setup import configure_logging

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(autouse=True)
def _development_logging_afterwards():
    """The apps made here set the process's logging; the tests after them get development's back."""
    yield
    configure_logging({"LOG_FORMAT": "text", "LOG_LEVEL": "INFO"})


def _app(tmp_path: Path, **settings: object):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'logs.db'}", **settings})

    @app.get("/_test/log")
    def _logs_a_line() -> str:
        logging.getLogger("loanflow.test").info("serving %s", "it", extra={"loan_id": 7})
        return "ok"

    return app


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_given_request_id_comes_back(client):
    response = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a:42.b_c"})
    assert response.headers["X-Request-ID"] == "edge-7f3a:42.b_c"


def test_a_request_without_one_gets_a_generated_id(client):
    first, second = client.get("/healthz"), client.get("/api/v1/no-such-thing")
    assert second.status_code == 404
    assert GENERATED.fullmatch(first.headers["X-Request-ID"])
    assert GENERATED.fullmatch(second.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize("hostile", [
    "a" * 65,
    'x", "level": "CRITICAL',
    "id with spaces",
    "<script>alert(1)</script>",
    "line%0aforged",
    "ümlaut",
])
def test_a_hostile_request_id_is_replaced(client, hostile):
    response = client.get("/healthz", headers={"X-Request-ID": hostile})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


def test_a_record_logged_while_serving_carries_the_request_id_as_a_json_line(tmp_path, capsys):
    client = _app(tmp_path, LOG_FORMAT="json").test_client()
    capsys.readouterr()
    response = client.get("/_test/log", headers={"X-Request-ID": "req-42"})
    assert response.headers["X-Request-ID"] == "req-42"
    lines = _json_lines(capsys.readouterr().err)
    entry = next(line for line in lines if line["logger"] == "loanflow.test")
    assert entry["message"] == "serving it"
    assert entry["request_id"] == "req-42"
    assert entry["level"] == "INFO"
    assert entry["loan_id"] == 7  # extras ride along
    assert datetime.fromisoformat(entry["time"]).utcoffset() is not None

    generated = client.get("/_test/log")
    entry = next(line for line in _json_lines(capsys.readouterr().err) if line["logger"] == "loanflow.test")
    assert entry["request_id"] == generated.headers["X-Request-ID"]


def test_records_outside_a_request_carry_no_id_and_exceptions_are_kept(tmp_path, capsys):
    app = _app(tmp_path, LOG_FORMAT="json")
    capsys.readouterr()
    with app.app_context():  # as the background worker logs
        logging.getLogger("loanflow.worker").info("woke %d instance(s)", 2)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("loanflow.worker").exception("waking instance %s failed", 9)
    woke, failed = _json_lines(capsys.readouterr().err)
    assert woke["message"] == "woke 2 instance(s)" and woke["request_id"] is None
    assert failed["level"] == "ERROR" and "ValueError: boom" in failed["exception"]


def test_development_logs_readable_text_with_the_id(tmp_path, capsys):
    client = _app(tmp_path).test_client()
    capsys.readouterr()
    client.get("/_test/log", headers={"X-Request-ID": "req-43"})
    line = next(line for line in capsys.readouterr().err.splitlines() if "loanflow.test" in line)
    assert "INFO loanflow.test [req-43] serving it" in line


def test_production_logs_json_by_default(tmp_path, monkeypatch):
    assert load_config(tmp_path)["LOG_FORMAT"] == "text"
    monkeypatch.setenv("LOANFLOW_ENV", "production")
    assert load_config(tmp_path)["LOG_FORMAT"] == "json"
    monkeypatch.setenv("LOANFLOW_LOG_FORMAT", "text")
    assert load_config(tmp_path)["LOG_FORMAT"] == "text"


@pytest.mark.parametrize("setting", [{"LOG_FORMAT": "xml"}, {"LOG_LEVEL": "CHATTY"}])
def test_an_unknown_log_setting_refuses_to_start(tmp_path, setting):
    with pytest.raises(ConfigError, match="LOANFLOW_LOG_"):
        _app(tmp_path, **setting)


def test_libraries_log_warnings_only_and_our_loggers_follow_the_level(tmp_path, capsys):
    _app(tmp_path, LOG_FORMAT="json", LOG_LEVEL="INFO")
    capsys.readouterr()
    logging.getLogger("spiff.task").info("State changed to READY")  # one per task state change
    logging.getLogger("loanflow.worker").debug("a detail")
    logging.getLogger("loanflow.worker").info("woke 1 instance(s)")
    logging.getLogger("spiff.task").warning("a warning")
    assert [line["message"] for line in _json_lines(capsys.readouterr().err)] == ["woke 1 instance(s)", "a warning"]
    _app(tmp_path, LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    capsys.readouterr()
    logging.getLogger("loanflow.worker").debug("a detail")
    assert [line["message"] for line in _json_lines(capsys.readouterr().err)] == ["a detail"]
