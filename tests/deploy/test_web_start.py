"""The web process in production mode refuses to start without collected static files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
DAPHNE = str(ROOT / ".venv" / "bin" / "daphne")

pytestmark = pytest.mark.slow


def test_daphne_without_a_static_manifest_exits_naming_collectstatic(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "KICKBOT_ENV": "production",
        "KICKBOT_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SECRET_KEY": "web-start-test-" + "k" * 40,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:1/0",  # never reached: the process stops before serving
    }
    result = subprocess.run(
        [DAPHNE, "-b", "127.0.0.1", "-p", "0", "--proxy-headers", "kickbot.asgi:application"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "no static files manifest" in result.stderr and "collectstatic" in result.stderr
