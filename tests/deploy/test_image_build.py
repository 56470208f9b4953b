"""The image's build step, run here with exactly the Dockerfile's build-time values (no Docker engine).

The Dockerfile's ``RUN ... collectstatic`` line is parsed, its ``NAME=value`` assignments and the
image's ``ENV`` are applied, and ``collectstatic`` runs in production mode. Only ``KICKBOT_VAR_DIR``
is moved to a temporary folder (``/app/var`` does not exist here).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs with line continuations joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            found.append((instruction.upper(), arguments.strip()))
    return found


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction == "ENV":
            env.update(dict(word.split("=", 1) for word in shlex.split(arguments)))
    return env


def collectstatic_step() -> tuple[dict[str, str], list[str]]:
    """The assignments in front of ``python manage.py collectstatic`` and the command itself."""
    for instruction, arguments in dockerfile_instructions():
        if instruction == "RUN" and "collectstatic" in arguments:
            step = arguments.split("&&")[0]
            words = shlex.split(step)
            assignments = {}
            while "=" in words[0] and not words[0].startswith("-"):
                name, _, value = words.pop(0).partition("=")
                assignments[name] = value
            return assignments, words
    raise AssertionError("the Dockerfile has no collectstatic step")


def run_build_step(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    assignments, command = collectstatic_step()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **image_env(), **assignments}
    env["KICKBOT_VAR_DIR"] = str(tmp_path / "var")
    assert command[:2] == ["python", "manage.py"]
    return subprocess.run(
        [sys.executable, *command[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_image_build_step_collects_static_files_in_production_mode(tmp_path: Path) -> None:
    result = run_build_step(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "var" / "staticfiles" / "staticfiles.json").read_text())
    for name in ("css/app.css", "vendor/htmx-2.0.11.min.js", "vendor/chart-4.6.1.umd.min.js"):
        assert name in manifest["paths"], name


def test_the_build_key_is_a_fernet_key() -> None:
    from cryptography.fernet import Fernet

    assignments, _ = collectstatic_step()
    Fernet(assignments["FIELD_ENCRYPTION_KEY"].encode())  # raises on a key of the wrong size
