"""Catalogue file formats → plain rows for ``slots.catalogue.slots_import``.

Pure functions (no Django ORM): each parser turns a decoded document into a list of dicts in the
generic shape ``{name, slug, provider, rtp, volatility, max_win, image_url, source_id, aliases}``;
:func:`clean_row` then validates one such dict into a :class:`SlotRow` or says why it can't.

Formats:
- ``json``: a list of generic dicts (or ``{"slots": [...]}``); ``csv``: the same columns, aliases
  separated by ``|``;
- ``shuffle``: Shuffle's games.json: ``slug``, ``externalId`` = ``"<provider>:<name>"``,
  ``image.key`` (joined to ``SLOTS_SHUFFLE_IMAGE_BASE_URL`` when that is set);
- ``slotreport``: slot.report's export: ``name, slug, provider, rtp, volatility, max_win, ...``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.text import slugify

from slots.matching import normalise

FORMATS = ("json", "csv", "shuffle", "slotreport")
MAX_ALIASES = 10

# Shuffle's provider prefixes → display names; unknown prefixes are title-cased.
SHUFFLE_PROVIDERS = {
    "pragmaticplay": "Pragmatic Play",
    "pragmatic": "Pragmatic Play",
    "playngo": "Play'n GO",
    "hacksaw": "Hacksaw Gaming",
    "hacksawgaming": "Hacksaw Gaming",
    "nolimit": "Nolimit City",
    "nolimitcity": "Nolimit City",
    "relax": "Relax Gaming",
    "relaxgaming": "Relax Gaming",
    "pushgaming": "Push Gaming",
    "push": "Push Gaming",
    "netent": "NetEnt",
    "bigtimegaming": "Big Time Gaming",
    "btg": "Big Time Gaming",
    "evolution": "Evolution",
}


class FormatError(ValueError):
    """The document is not in the announced format (a message fit for the uploader)."""


@dataclass(frozen=True, slots=True)
class SlotRow:
    name: str
    slug: str
    provider: str
    rtp_bp: int | None
    volatility: str
    max_win: int | None
    image_url: str
    source_id: str
    aliases: tuple[str, ...]
    name_norm: str
    aliases_norm: str


def _text(value: Any, limit: int) -> str:
    if value is None or isinstance(value, bool | dict | list):
        return ""
    text = " ".join(str(value).split())  # also drops control characters like \n and \t
    return "".join(ch for ch in text if ch.isprintable())[:limit]


def parse_rtp(value: Any) -> int | None:
    """``96.21``, ``"96.21%"``, ``"0.9621"`` → 9621 basis points; junk, nan, inf, <0 or >100 → None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip().rstrip("%").strip().replace(",", "."))
    except InvalidOperation:
        return None
    if not number.is_finite() or number <= 0:
        return None
    if number <= 1:  # a fraction: 0.9621
        number *= 100
    if number > 100:
        return None
    return int((number * 100).to_integral_value())


def parse_max_win(value: Any) -> int | None:
    """``5000``, ``"5,000x"``, ``"x5000"`` → 5000 (times the bet); junk, nan, inf, negative, absurd → None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    text = str(value).strip().lower().replace(",", "").replace("x", "").replace(" ", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0 or number > 100_000_000:
        return None
    return int(number)


def _aliases(value: Any) -> list[str]:
    if isinstance(value, str):
        items: Iterable[Any] = value.split("|")
    elif isinstance(value, list | tuple):
        items = value
    else:
        return []
    return [a for a in (_text(v, 100) for v in items) if a][:MAX_ALIASES]


def clean_row(raw: Any) -> SlotRow | str:
    """A valid row, or the reason (short text) it is skipped."""
    if not isinstance(raw, dict):
        return "not an object"
    name = _text(raw.get("name"), 200)
    name_norm = normalise(name)[:200]
    if not name_norm:
        return "no name"
    slug = slugify(_text(raw.get("slug"), 200) or name)[:200] or slugify(name_norm)[:200]
    if not slug:
        return "no slug"
    image_url = _text(raw.get("image_url"), 500)
    if image_url and not image_url.startswith(("https://", "http://")):
        image_url = ""
    aliases = _aliases(raw.get("aliases"))
    alias_norms = [n for n in dict.fromkeys(normalise(a)[:100] for a in aliases) if n and n != name_norm]
    return SlotRow(
        name=name,
        slug=slug,
        provider=_text(raw.get("provider"), 100),
        rtp_bp=parse_rtp(raw.get("rtp")),
        volatility=_text(raw.get("volatility"), 32).lower(),
        max_win=parse_max_win(raw.get("max_win")),
        image_url=image_url,
        source_id=_text(raw.get("source_id"), 200),
        aliases=tuple(aliases),
        name_norm=name_norm,
        aliases_norm=" / ".join(alias_norms)[:1000],
    )


def _as_list(doc: Any, *keys: str) -> list[Any]:
    if isinstance(doc, dict):
        for key in keys:
            if isinstance(doc.get(key), list):
                return list(doc[key])
    if isinstance(doc, list):
        return doc
    raise FormatError("expected a list of games")


def parse_json(doc: Any) -> list[dict[str, Any]]:
    return [r if isinstance(r, dict) else {} for r in _as_list(doc, "slots", "games", "data")]


def parse_slotreport(doc: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for r in _as_list(doc, "slots", "data", "games"):
        if not isinstance(r, dict):
            rows.append({})
            continue
        provider = r.get("provider")
        if isinstance(provider, dict):
            provider = provider.get("name")
        rows.append(
            {
                "name": r.get("name"),
                "slug": r.get("slug"),
                "provider": provider,
                "rtp": r.get("rtp"),
                "volatility": r.get("volatility"),
                "max_win": r.get("max_win"),
                "image_url": r.get("image_url") or r.get("image"),
                "source_id": r.get("slug") or "",
                "aliases": r.get("aliases"),
            }
        )
    return rows


def shuffle_provider_name(prefix: str) -> str:
    key = "".join(ch for ch in prefix.lower() if ch.isalnum())
    return SHUFFLE_PROVIDERS.get(key) or prefix.replace("-", " ").replace("_", " ").strip().title()


def parse_shuffle(doc: Any, *, image_base_url: str = "") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for g in _as_list(doc, "games", "data"):
        if not isinstance(g, dict):
            rows.append({})
            continue
        external = _text(g.get("externalId"), 300)
        prefix, sep, name = external.partition(":")
        if not sep:
            prefix, name = "", external
        image = g.get("image")
        key = image.get("key") if isinstance(image, dict) else None
        image_url = ""
        if isinstance(key, str) and key:
            if key.startswith(("https://", "http://")):
                image_url = key
            elif image_base_url:
                image_url = image_base_url.rstrip("/") + "/" + key.lstrip("/")
        rows.append(
            {
                "name": g.get("name") or name,
                "slug": g.get("slug"),
                "provider": shuffle_provider_name(prefix) if prefix else "",
                "image_url": image_url,
                "source_id": external,
            }
        )
    return rows


def parse_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "name" not in [f.strip().lower() for f in reader.fieldnames]:
        raise FormatError("the CSV needs a header row with at least a 'name' column")
    return [{(k or "").strip().lower(): v for k, v in row.items()} for row in reader]


def parse_document(data: bytes | str, fmt: str, *, image_base_url: str = "") -> list[dict[str, Any]]:
    """Decode ``data`` in format ``fmt`` into generic rows; :class:`FormatError` when it can't."""
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        if fmt == "csv":
            return parse_csv(text)
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    except UnicodeDecodeError as exc:
        raise FormatError("not UTF-8 text") from exc
    if fmt == "shuffle":
        return parse_shuffle(doc, image_base_url=image_base_url)
    if fmt == "slotreport":
        return parse_slotreport(doc)
    return parse_json(doc)


def guess_format(filename: str, data: bytes) -> str:
    """``csv`` by extension; for JSON, ``shuffle`` when rows carry ``externalId``, else ``json``."""
    if filename.lower().endswith(".csv"):
        return "csv"
    head = data[:4096]
    return "shuffle" if b'"externalId"' in head else "json"
