"""`make lint`'s import contracts hold on the tree, and a back-edge breaks them.

The contracts live in pyproject.toml (``[tool.importlinter]``); this runs the real ``lint-imports``
on a copy of the source, once as it is and once with one upward import injected.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _package_names() -> list[str]:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["importlinter"]["root_packages"])


def _copy_tree(dest: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    for name in _package_names():
        shutil.copytree(
            ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "migrations")
        )


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the source on which the contracts hold, as on the real tree."""
    dest = tmp_path_factory.mktemp("src")
    _copy_tree(dest)
    clean = _lint(dest)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "KEPT" in clean.stdout
    return dest


BACK_EDGES = [
    # (file, the upward import added to it, how lint-imports names the illegal import)
    ("kickbot/text.py", "import botworker.kick.pipeline\n", "kickbot.text -> botworker.kick.pipeline"),
    ("raffle/models.py", "import dashboard.forms\n", "raffle.models -> dashboard.forms"),
    ("dashboard/forms.py", "import botworker.discord.common\n", "dashboard.forms -> botworker"),
    ("accounts/services.py", "import watchtime.roles\n", "accounts.services -> watchtime.roles"),
    ("watchtime/mirror.py", "import watchtime.tasks\n", "watchtime.mirror -> watchtime.tasks"),
    ("watchtime/credit.py", "import watchtime.roles\n", "watchtime.credit -> watchtime.roles"),
]


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is a dev requirement")
def test_every_back_edge_breaks_the_contract_and_is_named(tree: Path) -> None:
    # One lint run over all the injected edges (each run re-reads the tree): the report lists every
    # illegal import, so each edge named there is an edge the contracts catch on its own.
    originals = {importer: (tree / importer).read_text() for importer, _, _ in BACK_EDGES}
    for importer, line, _ in BACK_EDGES:
        (tree / importer).write_text(originals[importer] + "\n" + line)
    try:
        broken = _lint(tree)
    finally:
        for importer, text in originals.items():
            (tree / importer).write_text(text)

    assert broken.returncode != 0
    assert "BROKEN" in broken.stdout
    missed = [edge for _, _, edge in BACK_EDGES if edge not in broken.stdout]
    assert not missed, broken.stdout
