"""Catalogue writes: the slot catalogue import (``Slot`` rows from ``slots.importers`` rows).

Shared by ``manage.py import_slots``, the dashboard upload and the remote sources
(``slots.remote``). The only writer of ``Slot``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from kickbot.services import audit_record
from slots.importers import SlotRow, clean_row
from slots.matching import name_cache
from slots.models import Slot

log = logging.getLogger(__name__)

IMPORT_BATCH = 500
ANALYZE_AFTER = 500  # new rows in one import that make fresh planner statistics worth it
MAX_PROBLEMS = 20
_UPDATE_FIELDS = [
    "name",
    "provider",
    "rtp_bp",
    "volatility",
    "max_win",
    "image_url",
    "source",
    "source_id",
    "aliases",
    "name_norm",
    "aliases_norm",
    "updated_at",
]
_COMPARED = [f for f in _UPDATE_FIELDS if f != "updated_at"]
_KEPT_WHEN_MISSING = ("provider", "rtp_bp", "volatility", "max_win", "image_url", "aliases", "aliases_norm")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0  # unchanged rows and rows that could not be read
    problems: list[str] = field(default_factory=list)  # the first few reasons rows were skipped


def _row_values(row: SlotRow, source: str) -> dict[str, Any]:
    return {
        "name": row.name,
        "provider": row.provider,
        "rtp_bp": row.rtp_bp,
        "volatility": row.volatility,
        "max_win": row.max_win,
        "image_url": row.image_url,
        "source": source,
        "source_id": row.source_id,
        "aliases": list(row.aliases),
        "name_norm": row.name_norm,
        "aliases_norm": row.aliases_norm,
    }


def _analyze_catalogue() -> None:
    with connection.cursor() as cur:
        cur.execute("ANALYZE slots_slot")


def slots_import(
    *,
    rows: Iterable[Any],
    source: str,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Upsert catalogue rows (generic dicts, see ``slots.importers``); re-import updates in place.

    Idempotency key: the slug, or the slug already stored for ``(source, source_id)`` so a game
    whose slug changed upstream is updated, not duplicated. Unchanged rows are not written.
    Set-based: one read and one ``INSERT ... ON CONFLICT (slug) DO UPDATE`` per batch of 500.
    ``progress(done, total)`` is called after each batch.
    """
    source = (source or "file")[:32]
    result = ImportResult()
    cleaned: dict[str, SlotRow] = {}
    raw_rows = list(rows)
    for i, raw in enumerate(raw_rows, 1):
        row = clean_row(raw)
        if isinstance(row, str):
            result.skipped += 1
            if len(result.problems) < MAX_PROBLEMS:
                result.problems.append(f"row {i}: {row}")
            continue
        if row.slug in cleaned:
            result.skipped += 1  # the same game twice in one file: the last one wins
        cleaned[row.slug] = row
    total = len(cleaned)
    with transaction.atomic():
        # A game known by its source id keeps its stored slug.
        by_source_id: dict[str, str] = {}
        source_ids = [r.source_id for r in cleaned.values() if r.source_id]
        for start in range(0, len(source_ids), IMPORT_BATCH):
            id_chunk = source_ids[start : start + IMPORT_BATCH]
            by_source_id.update(
                Slot.objects.filter(source=source, source_id__in=id_chunk).values_list("source_id", "slug")
            )
        final: dict[str, SlotRow] = {}
        for row in cleaned.values():
            slug = by_source_id.get(row.source_id, row.slug) if row.source_id else row.slug
            if slug in final:
                result.skipped += 1
            final[slug] = row
        items = list(final.items())
        done = 0
        for start in range(0, len(items), IMPORT_BATCH):
            chunk = items[start : start + IMPORT_BATCH]
            existing = {
                r["slug"]: r
                for r in Slot.objects.filter(slug__in=[s for s, _ in chunk]).values("slug", *_COMPARED)
            }
            to_write: list[Slot] = []
            for slug, row in chunk:
                values = _row_values(row, source)
                old = existing.get(slug)
                if old is not None:
                    # A source that lacks a field (Shuffle has no RTP) keeps what another source gave.
                    for f in _KEPT_WHEN_MISSING:
                        if values[f] in (None, "", []):
                            values[f] = old[f]
                if old is None:
                    result.created += 1
                elif all(old[f] == values[f] for f in _COMPARED):
                    result.skipped += 1
                    continue
                else:
                    result.updated += 1
                to_write.append(Slot(slug=slug, **values))
            if to_write:
                Slot.objects.bulk_create(
                    to_write, update_conflicts=True, unique_fields=["slug"], update_fields=_UPDATE_FIELDS
                )
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        if result.created or result.updated:
            transaction.on_commit(name_cache.invalidate)
            if result.created > ANALYZE_AFTER and connection.vendor == "postgresql":
                # Fresh statistics, or the planner keeps costing the table as small and skips the
                # trigram indexes for a sequential scan until autovacuum gets to it.
                transaction.on_commit(_analyze_catalogue)
            audit_record(
                action="slots.import",
                actor_label="system",
                data={"source": source, "created": result.created, "updated": result.updated},
            )
    log.info(
        "slot import from %s: %s created, %s updated, %s skipped",
        source,
        result.created,
        result.updated,
        result.skipped,
    )
    return result
