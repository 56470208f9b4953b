"""Remote catalogue sources: off by default; fetched through an injected client (no network)."""

from __future__ import annotations

from typing import Any

import httpx

from slots.models import Slot
from slots.remote import configured_sources, slots_catalogue_refresh
from slots.tasks import catalogue_refresh
from tests.slots.conftest import FIXTURES

URL = "https://catalogue.example.test/games.json"


def client_serving(body: bytes, status: int = 200, seen: list[httpx.Request] | None = None) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, content=body)

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_no_sources_by_default_means_no_fetch(db: Any) -> None:
    assert configured_sources() == []
    assert catalogue_refresh() == 0
    assert not Slot.objects.exists()


def test_configured_shuffle_source_is_fetched_and_imported(db: Any, settings: Any) -> None:
    settings.SLOTS_CATALOGUE_SOURCES = [f"shuffle={URL}"]
    seen: list[httpx.Request] = []
    body = (FIXTURES / "shuffle_games.json").read_bytes()
    [result] = slots_catalogue_refresh(client=client_serving(body, seen=seen))
    assert result.created == 12
    assert [(r.method, str(r.url)) for r in seen] == [("GET", URL)]
    assert Slot.objects.filter(source="shuffle:catalogue.example.test").count() == 12


def test_failed_fetch_or_bad_document_imports_nothing(db: Any, settings: Any) -> None:
    settings.SLOTS_CATALOGUE_SOURCES = [f"json={URL}"]
    assert slots_catalogue_refresh(client=client_serving(b"oops", status=503)) == []
    assert slots_catalogue_refresh(client=client_serving(b"<html>not json")) == []
    assert not Slot.objects.exists()


def test_malformed_source_entries_are_ignored(settings: Any) -> None:
    settings.SLOTS_CATALOGUE_SOURCES = ["http://plain.example.test/x.json", "xml=https://a.test/", "nonsense"]
    assert configured_sources() == []
