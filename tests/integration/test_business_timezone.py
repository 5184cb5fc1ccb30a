"""The business time zone is one setting, LOANFLOW_TIMEZONE: business dates, the end-of-day cron
and the times shown to people follow it, and a zone zoneinfo does not know refuses to start."""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError, business_timezone, load_config
from app.scheduler import build_scheduler
from app.services.ledger.loans import business_today

EVENING_IN_LONDON = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # 01:00 on 12-03 in Shanghai


def _app(tmp_path: Path, **settings: object):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'tz.db'}", **settings})


def test_the_business_date_follows_the_configured_zone(ctx, clock, monkeypatch):
    clock.current = EVENING_IN_LONDON
    assert business_today() == date(2026, 12, 3)  # the default, Asia/Shanghai
    monkeypatch.setitem(ctx.config, "LOANFLOW_TIMEZONE", "Europe/London")
    assert business_today() == date(2026, 12, 2)


def test_the_zone_comes_from_the_environment_and_the_pages_follow_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LOANFLOW_TIMEZONE", "Europe/London")
    assert load_config(tmp_path)["LOANFLOW_TIMEZONE"] == "Europe/London"
    app = _app(tmp_path)
    assert app.config["LOANFLOW_TIMEZONE"] == "Europe/London"
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Europe/London"  # times shown to people
    monkeypatch.delenv("LOANFLOW_TIMEZONE")
    assert _app(tmp_path).config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Shanghai"


def test_the_end_of_day_cron_runs_after_midnight_in_the_business_zone(tmp_path):
    app = _app(tmp_path, LOANFLOW_TIMEZONE="Europe/London")
    trigger = build_scheduler(app).get_job("end_of_day").trigger
    assert str(trigger.timezone) == "Europe/London"
    fires = trigger.get_next_fire_time(None, EVENING_IN_LONDON)
    assert fires.astimezone(UTC) == datetime(2026, 12, 3, 0, 10, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "UTC+8"])
def test_an_unknown_zone_refuses_to_start(tmp_path, zone):
    with pytest.raises(ConfigError, match="LOANFLOW_TIMEZONE"):
        _app(tmp_path, LOANFLOW_TIMEZONE=zone)
    with pytest.raises(ConfigError, match="LOANFLOW_TIMEZONE"):
        business_timezone({"LOANFLOW_TIMEZONE": zone})
