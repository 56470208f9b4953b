"""The READMEs that name code keep naming code that exists.

``botworker/README.md`` walks ``!sr`` from the Pusher frame to Kick chat hop by hop, naming each
function as ``module.function``; ``kickbot/README.md`` and ``timers/README.md`` name modules and
files. Every such name must import and every such path must exist, so a rename or a move that
forgets the docs fails here; the Pusher walk must say how many hops it has, and stay within 12.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("botworker/README.md", "kickbot/README.md", "timers/README.md")
PACKAGES = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
TICKED = re.compile(r"`([^`\n]+)`")
DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
FILE = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*\.(py|md|html|js|toml)$")
MAX_HOPS = 12


def _resolve(name: str) -> Any:
    """Import the longest module prefix of ``name``, then walk the rest as attributes."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(name)


def _names(readme: str) -> list[str]:
    return [
        t
        for t in TICKED.findall((ROOT / readme).read_text())
        if DOTTED.match(t) and t.split(".")[0] in PACKAGES
    ]


@pytest.mark.parametrize("readme", CHECKED)
def test_every_named_function_exists(readme: str) -> None:
    names = _names(readme)
    assert names, f"{readme} names no code: the pattern no longer finds it"
    missing = []
    for name in names:
        try:
            _resolve(name)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{name} ({type(exc).__name__})")
    assert not missing, f"{readme} names what does not exist: {missing}"


@pytest.mark.parametrize("readme", CHECKED)
def test_every_named_file_exists(readme: str) -> None:
    here = (ROOT / readme).parent
    files = [t for t in TICKED.findall((ROOT / readme).read_text()) if FILE.match(t) and "/" in t]
    assert files, f"{readme} names no file: the pattern no longer finds them"
    missing = [f for f in files if not (ROOT / f).exists() and not (here / f).exists()]
    assert not missing, f"{readme} names files that do not exist: {missing}"


def test_the_pusher_walk_has_the_hops_it_says_and_at_most_twelve() -> None:
    text = (ROOT / "botworker/README.md").read_text()
    heading = re.search(r"^### From the Pusher frame \((\d+) hops\)$", text, re.M)
    assert heading, "the Pusher walk's heading (with its hop count) is gone"
    section = text[heading.end() :].split("\n### ", 1)[0]
    hops = re.findall(r"^(\d+)\. ", section, re.M)
    assert [int(h) for h in hops] == list(range(1, len(hops) + 1))
    assert len(hops) == int(heading.group(1)) <= MAX_HOPS
    # Each hop says where it goes: "→ `module.function`", a name the first test resolves.
    items = re.split(r"^\d+\. ", section, flags=re.M)[1:]
    for item in items:
        target = re.search(r"→\s+`([^`]+)`", item)
        assert target and DOTTED.match(target.group(1)), f"a hop without a named target: {item[:80]!r}"
