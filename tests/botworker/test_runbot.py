from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from kickbot.heartbeat import heartbeat_ages

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_runbot_reports_missing_integrations_beats_and_stops_within_5s(
    sig: signal.Signals, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "KICK_CHANNEL", "DATABASE_URL"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
            "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
            "REDIS_URL": os.environ.get("REDIS_URL", settings.REDIS_URL),
            "LOG_LEVEL": "INFO",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runbot"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while heartbeat_ages()["bot"] is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.1)
        assert heartbeat_ages()["bot"] is not None
        stopped_at = time.monotonic()
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=10)
        assert time.monotonic() - stopped_at < 5
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "integration discord: off: DISCORD_TOKEN is not set" in output
    assert "stopping bot process" in output
