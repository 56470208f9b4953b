"""Catalogue import: formats, updates in place, idempotent at 10,000 rows, bad values, the command."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from slots.catalogue import slots_import
from slots.importers import FormatError, clean_row, parse_document, parse_max_win, parse_rtp
from slots.models import Slot
from tests.slots.conftest import FIXTURES, load


def many(n: int) -> list[dict[str, Any]]:
    return [
        {"name": f"Test Slot {i}", "provider": f"Provider {i % 37}", "rtp": "96.5", "max_win": 5000 + i}
        for i in range(n)
    ]


def test_import_of_10000_slots_twice_creates_once(db: Any) -> None:
    rows = many(10_000)
    first = slots_import(rows=rows, source="json")
    second = slots_import(rows=rows, source="json")
    assert (first.created, first.updated, first.skipped) == (10_000, 0, 0)
    assert (second.created, second.updated, second.skipped) == (0, 0, 10_000)
    assert Slot.objects.count() == 10_000
    assert Slot.objects.values("slug").distinct().count() == 10_000


def test_reimport_updates_in_place(db: Any) -> None:
    slots_import(rows=[{"name": "Book of Dead", "provider": "Play'n GO", "rtp": "96.21"}], source="json")
    before = Slot.objects.get()
    result = slots_import(
        rows=[{"name": "Book of Dead", "provider": "Play'n GO", "rtp": "94.25"}], source="json"
    )
    after = Slot.objects.get()
    assert (result.created, result.updated) == (0, 1)
    assert after.pk == before.pk and after.rtp_bp == 9425
    assert after.created_at == before.created_at


def test_shuffle_shape_reads_provider_name_and_image(db: Any, settings: Any) -> None:
    rows = parse_document(
        (FIXTURES / "shuffle_games.json").read_bytes(), "shuffle", image_base_url="https://cdn.example.test/"
    )
    result = slots_import(rows=rows, source="shuffle")
    assert result.created == 12
    slot = Slot.objects.get(slug="book-of-dead")
    assert (slot.name, slot.provider, slot.source, slot.source_id) == (
        "Book of Dead",
        "Play'n GO",
        "shuffle",
        "playngo:Book of Dead",
    )
    assert slot.image_url == "https://cdn.example.test/games/book-of-dead.webp"


def test_shuffle_game_whose_slug_changed_is_updated_not_duplicated(db: Any) -> None:
    slots_import(
        rows=parse_document(
            b'[{"slug": "gates", "externalId": "pragmaticplay:Gates of Olympus"}]', "shuffle"
        ),
        source="shuffle",
    )
    slots_import(
        rows=parse_document(
            b'[{"slug": "gates-of-olympus", "externalId": "pragmaticplay:Gates of Olympus"}]', "shuffle"
        ),
        source="shuffle",
    )
    assert Slot.objects.count() == 1
    assert Slot.objects.get().slug == "gates"


def test_second_source_without_rtp_keeps_the_first_sources_rtp(db: Any) -> None:
    slots_import(rows=load("catalogue.json"), source="json")
    rows = parse_document((FIXTURES / "shuffle_games.json").read_bytes(), "shuffle")
    slots_import(rows=rows, source="shuffle")
    slot = Slot.objects.get(slug="wanted-dead-or-a-wild")
    assert (slot.rtp_bp, slot.source, slot.aliases) == (9638, "shuffle", ["wanted", "wdow"])
    assert Slot.objects.count() == 70


def test_slotreport_shape(db: Any) -> None:
    rows = parse_document((FIXTURES / "slotreport.json").read_bytes(), "slotreport")
    assert slots_import(rows=rows, source="slotreport").created == 70
    slot = Slot.objects.get(slug="money-train-3")
    assert (slot.provider, slot.rtp_bp, slot.volatility, slot.max_win) == (
        "Relax Gaming",
        9610,
        "very high",
        100000,
    )


def test_csv_with_aliases(db: Any) -> None:
    rows = parse_document((FIXTURES / "catalogue.csv").read_bytes(), "csv")
    assert slots_import(rows=rows, source="csv").created == 8
    assert Slot.objects.get(slug="gates-of-olympus").aliases == ["gates", "goo"]


def test_unreadable_rows_are_skipped_with_a_reason(db: Any) -> None:
    result = slots_import(
        rows=[{"name": ""}, "junk", {"name": "!!!"}, {"name": "Razor Shark"}], source="json"
    )
    assert (result.created, result.skipped) == (1, 3)
    assert result.problems == ["row 1: no name", "row 2: not an object", "row 3: no name"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("96.21", 9621),
        (96.21, 9621),
        ("96.21%", 9621),
        ("0.9621", 9621),
        ("96,5", 9650),
        ("nan", None),
        ("inf", None),
        (float("nan"), None),
        ("-5", None),
        ("101", None),
        ("1e400", None),
        ("junk", None),
        (True, None),
        (None, None),
    ],
)
def test_parse_rtp(value: Any, expected: int | None) -> None:
    assert parse_rtp(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5000, 5000),
        ("5,000x", 5000),
        ("x5000", 5000),
        ("-1", None),
        (float("inf"), None),
        ("1e99", None),
        ("lots", None),
    ],
)
def test_parse_max_win(value: Any, expected: int | None) -> None:
    assert parse_max_win(value) == expected


def test_row_text_is_cleaned_and_bounded(db: Any) -> None:
    row = clean_row(
        {
            "name": "  Big\nBass\t" + "x" * 500,
            "aliases": ["@everyone"] * 50,
            "image_url": "javascript:alert(1)",
        }
    )
    assert not isinstance(row, str)
    assert row.name.startswith("Big Bass ") and len(row.name) == 200
    assert len(row.aliases) == 10 and row.image_url == ""


@pytest.mark.parametrize(
    ("data", "fmt"),
    [(b"{not json", "json"), (b"\xff\xfe", "json"), (b'{"a": 1}', "shuffle"), (b"a,b\n1,2", "csv")],
)
def test_bad_documents_raise_a_format_error(data: bytes, fmt: str) -> None:
    with pytest.raises(FormatError):
        parse_document(data, fmt)


def test_command_imports_with_a_progress_bar_and_is_idempotent(db: Any) -> None:
    out = io.StringIO()
    call_command("import_slots", str(FIXTURES / "catalogue.json"), stdout=out, stderr=io.StringIO())
    call_command("import_slots", str(FIXTURES / "catalogue.json"), stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "[##############################] 100% 70/70" in text
    assert "70 created, 0 updated, 0 skipped" in text
    assert "0 created, 0 updated, 70 skipped" in text
    assert Slot.objects.count() == 70


def test_command_guesses_the_shuffle_format(db: Any) -> None:
    out = io.StringIO()
    call_command("import_slots", str(FIXTURES / "shuffle_games.json"), "--no-progress", stdout=out)
    assert "(shuffle): 12 created" in out.getvalue()


def test_command_refuses_a_missing_file(db: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_slots", str(tmp_path / "nope.json"))


def test_command_refuses_a_broken_file(db: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_slots", str(bad))
    assert not Slot.objects.exists()
