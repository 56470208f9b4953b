from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slots.catalogue import slots_import
from slots.matching import name_cache

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "slots"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def _fresh_name_cache() -> None:
    # Test databases reuse ids across tests; never let one test's catalogue serve another.
    name_cache.invalidate()


@pytest.fixture
def catalogue(db: Any) -> None:
    result = slots_import(rows=load("catalogue.json"), source="json")
    assert result.created == 70


@pytest.fixture
def guild(community: Any) -> Any:
    from tests.fakes.discord import MockGuild

    return MockGuild(id=community.discord_guild_id, name="Streamer's server")
