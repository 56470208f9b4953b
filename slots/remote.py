"""Remote catalogue sources: off unless ``settings.SLOTS_CATALOGUE_SOURCES`` names some.

Each source is ``"<format>=<https URL>"`` (format as in ``slots.importers.FORMATS``), e.g.
``"shuffle=https://example.test/games.json"``. The document is fetched first, then imported in
its own transaction (no HTTP inside a transaction). The client is injected so tests never leave
loopback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from django.conf import settings

from kickbot.integrations._http import http_client
from slots.catalogue import ImportResult, slots_import
from slots.importers import FORMATS, FormatError, parse_document

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@dataclass(frozen=True)
class RemoteSource:
    fmt: str
    url: str


def configured_sources() -> list[RemoteSource]:
    """The sources from settings; a malformed entry is logged and left out."""
    sources = []
    for entry in getattr(settings, "SLOTS_CATALOGUE_SOURCES", None) or []:
        fmt, sep, url = str(entry).partition("=")
        fmt = fmt.strip().lower()
        url = url.strip()
        if not sep or fmt not in FORMATS or not url.startswith("https://"):
            log.warning("ignored slot catalogue source %r: expected <format>=https://...", str(entry)[:80])
            continue
        sources.append(RemoteSource(fmt=fmt, url=url))
    return sources


def fetch_and_import(*, source: RemoteSource, client: httpx.Client) -> ImportResult | None:
    """Fetch one source and import it; None (logged) when the fetch or the document fails."""
    host = httpx.URL(source.url).host
    try:
        response = client.get(source.url)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("slot catalogue fetch from %s failed: %s", host, type(exc).__name__)
        return None
    if len(response.content) > MAX_BYTES:
        log.warning("slot catalogue from %s is larger than %s bytes; skipped", host, MAX_BYTES)
        return None
    try:
        rows = parse_document(
            response.content,
            source.fmt,
            image_base_url=getattr(settings, "SLOTS_SHUFFLE_IMAGE_BASE_URL", ""),
        )
    except FormatError as exc:
        log.warning("slot catalogue from %s is not %s: %s", host, source.fmt, exc)
        return None
    return slots_import(rows=rows, source=f"{source.fmt}:{host}"[:32])


def slots_catalogue_refresh(*, client: httpx.Client | None = None) -> list[ImportResult]:
    """Import every configured remote source; does nothing when none is configured."""
    sources = configured_sources()
    if not sources:
        return []
    with http_client(client, timeout=TIMEOUT, follow_redirects=True) as http:
        return [r for s in sources if (r := fetch_and_import(source=s, client=http)) is not None]
