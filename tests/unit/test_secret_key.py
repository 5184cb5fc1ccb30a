"""The secret key: every install signs with a key no one else knows.

Without SECRET_KEY, development generates one into the instance folder on first start (mode 0600;
the web server and the worker starting together end up with the same key); production refuses to
start without a strong one of its own, and the key published in the source is refused everywhere.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import (
    MIN_SECRET_KEY_LENGTH,
    SANDBOX_CALLBACK_SECRETS,
    ConfigError,
    instance_secret_key,
    load_config,
    resolve_secret_key,
)

ROOT = Path(__file__).resolve().parents[2]
STRONG = "k" * MIN_SECRET_KEY_LENGTH


def _config(tmp_path: Path, env: str = "development", key: str | None = None) -> dict:
    return {"LOANFLOW_ENV": env, "SECRET_KEY": key, "SECRET_KEY_FILE": str(tmp_path / "instance" / "secret_key")}


def test_without_a_key_development_generates_one_into_the_instance_folder(tmp_path):
    key = resolve_secret_key(_config(tmp_path))
    path = tmp_path / "instance" / "secret_key"
    assert len(key) >= MIN_SECRET_KEY_LENGTH and key != "dev-only-not-secret"
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_secret_key(_config(tmp_path)) == key  # the next start reads the same key
    assert list(path.parent.iterdir()) == [path]  # no candidate files left behind


def test_two_installs_have_different_keys(tmp_path):
    assert resolve_secret_key(_config(tmp_path / "one")) != resolve_secret_key(_config(tmp_path / "two"))


def test_processes_starting_together_agree_on_one_key(tmp_path):
    """`make run` starts the web server and the worker at once: each must end with the same key."""
    path = tmp_path / "instance" / "secret_key"
    start_at = time.time() + 3  # after every interpreter has imported the app
    code = ("import sys, time; from pathlib import Path; from app.config import instance_secret_key; "
            f"time.sleep(max(0, {start_at} - time.time())); print(instance_secret_key(Path(sys.argv[1])))")
    processes = [subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                                  text=True) for _ in range(6)]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert all(process.returncode == 0 for process in processes)
    assert keys == {path.read_text().strip()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_empty_or_truncated_key_file_is_refused_not_used(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("short\n")
    with pytest.raises(ConfigError, match="delete it"):
        instance_secret_key(path)


def test_a_configured_key_is_used_as_given(tmp_path):
    assert resolve_secret_key(_config(tmp_path, key="test-secret")) == "test-secret"
    assert resolve_secret_key(_config(tmp_path, "production", STRONG)) == STRONG
    assert not (tmp_path / "instance").exists()


@pytest.mark.parametrize("env", ["development", "production"])
def test_the_key_published_in_the_source_is_refused(tmp_path, env):
    with pytest.raises(ConfigError, match="published"):
        resolve_secret_key(_config(tmp_path, env, "dev-only-not-secret"))


def test_production_needs_a_strong_configured_key(tmp_path):
    with pytest.raises(ConfigError, match="needs SECRET_KEY"):
        resolve_secret_key(_config(tmp_path, "production"))
    with pytest.raises(ConfigError, match="at least 32"):
        resolve_secret_key(_config(tmp_path, "production", "k" * (MIN_SECRET_KEY_LENGTH - 1)))
    assert not (tmp_path / "instance").exists()  # production never makes a key of its own


def test_the_environment_is_read_and_checked(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("LOANFLOW_ENV", raising=False)
    monkeypatch.delenv("LOANFLOW_SECRET_KEY_FILE", raising=False)
    config = load_config(tmp_path)
    assert (config["LOANFLOW_ENV"], config["SECRET_KEY"]) == ("development", None)
    assert config["SECRET_KEY_FILE"] == str(tmp_path / "secret_key")
    monkeypatch.setenv("LOANFLOW_ENV", "prod")
    with pytest.raises(ConfigError, match="LOANFLOW_ENV"):
        load_config(tmp_path)


def test_create_app_refuses_production_without_a_key(tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("LOANFLOW_ENV", "production")
    _callback_secrets(monkeypatch)
    with pytest.raises(ConfigError, match="needs SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    monkeypatch.setenv("SECRET_KEY", "dev-only-not-secret")
    monkeypatch.setenv("LOANFLOW_ENV", "development")
    with pytest.raises(ConfigError, match="published"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})


def test_the_key_file_is_private_even_under_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        instance_secret_key(tmp_path / "secret_key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_production_keeps_its_cookies_secure(tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.setenv("LOANFLOW_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("LOANFLOW_SECURE_COOKIES", "0")
    _callback_secrets(monkeypatch)
    with pytest.raises(ConfigError, match="LOANFLOW_SECURE_COOKIES=0"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    monkeypatch.setenv("LOANFLOW_SECURE_COOKIES", "1")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.secret_key == STRONG and app.config["SESSION_COOKIE_SECURE"]


CALLBACK_SECRETS = ("LOANFLOW_PAYMENTS_CALLBACK_SECRET", "LOANFLOW_ESIGN_CALLBACK_SECRET")


@pytest.mark.parametrize("missing", CALLBACK_SECRETS)
def test_production_refuses_the_providers_published_sandbox_callback_secrets(tmp_path, monkeypatch, missing):
    """A payment gateway's and an e-signature provider's callbacks are trusted by their HMAC: with the sandbox
    secret that stands in the source, anyone could sign "payment settled" (a loan booked, a repayment credited with
    no money moved) or "contract signed". Production started with it; it refuses, as it refuses a published key."""
    from app import create_app

    monkeypatch.setenv("LOANFLOW_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG)
    _callback_secrets(monkeypatch)
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=missing):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    published = next(sandbox for variable, sandbox in SANDBOX_CALLBACK_SECRETS.values() if variable == missing)
    monkeypatch.setenv(missing, published)  # the published one, named outright
    with pytest.raises(ConfigError, match=missing):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    monkeypatch.setenv(missing, "s" * 32)
    assert create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"}).config["LOANFLOW_ENV"] == "production"
    monkeypatch.setenv("LOANFLOW_ENV", "development")  # development and the tests keep the simulators' secrets
    monkeypatch.delenv(missing)
    assert create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"}).config["LOANFLOW_ENV"] == "development"


def _callback_secrets(monkeypatch) -> None:
    """The secrets production's providers sign their callbacks with (production starts only with its own)."""
    for name in CALLBACK_SECRETS:
        monkeypatch.setenv(name, f"{name.lower()}-{'x' * 32}")
