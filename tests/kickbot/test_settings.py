"""Configuration is read at start and a bad value stops the process, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def run_manage(
    *args: str, env: dict[str, str], tmp_path: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "KICK", "DATABASE_URL", "REDIS_URL"))
    }
    base.update({"DJANGO_SETTINGS_MODULE": "kickbot.settings", "KICKBOT_VAR_DIR": str(tmp_path)})
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "nonsense"),
        ("REDIS_URL", "http://example.invalid"),
        ("WATCH_INTERVAL_SECONDS", "soon"),
        ("WATCH_INTERVAL_SECONDS", "-5"),
        ("KICKBOT_ENV", "staging"),
        ("DJANGO_DEBUG", "maybe"),
        ("PUBLIC_BASE_URL", "localhost:8000"),
        ("FIELD_ENCRYPTION_KEY", "not-a-fernet-key"),
        ("DEFAULT_TIME_ZONE", "Mars/Olympus"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_value_fails_fast_naming_the_variable(name: str, value: str, tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_manage("check", env={name: value}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert name in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 5


def test_production_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    result = run_manage("check", env={"KICKBOT_ENV": "production"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_encryption_key(tmp_path: Path) -> None:
    result = run_manage(
        "check", env={"KICKBOT_ENV": "production", "DJANGO_SECRET_KEY": "x" * 60}, tmp_path=tmp_path
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY" in result.stderr


def test_local_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    assert run_manage("check", env={}, tmp_path=tmp_path).returncode == 0
    first = (tmp_path / "secret_key").read_text()
    assert len(first) >= 50
    assert run_manage("check", env={}, tmp_path=tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == first


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    env = {
        "KICKBOT_ENV": "production",
        "DJANGO_SECRET_KEY": "k" * 20 + "-production-secret-key-with-enough-entropy-9f8e7d6c5b4a",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DJANGO_ALLOWED_HOSTS": "bot.example.com",
        "PUBLIC_BASE_URL": "https://bot.example.com",
    }
    # The image collects static files at build time; without them the deploy check fails (kickbot.E001).
    collected = run_manage("collectstatic", "--noinput", "-v", "0", env=env, tmp_path=tmp_path)
    assert collected.returncode == 0, collected.stderr
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_warns_about_wildcard_hosts(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    env = {
        "KICKBOT_ENV": "production",
        "DJANGO_SECRET_KEY": "k" * 20 + "-production-secret-key-with-enough-entropy-9f8e7d6c5b4a",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DJANGO_ALLOWED_HOSTS": "*",
        "PUBLIC_BASE_URL": "https://bot.example.com",
    }
    result = run_manage("check", "--deploy", env=env, tmp_path=tmp_path)
    assert "kickbot.W001" in result.stderr + result.stdout
