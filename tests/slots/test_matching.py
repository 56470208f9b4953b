"""The matching table: request text → catalogue slot or free text, on SQLite and on Postgres."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from slots.matching import Candidate, best_match, normalise
from slots.selectors import slot_match

TABLE = [
    # case, punctuation, spacing
    ("gates of olympus", "Gates of Olympus"),
    ("GATES OF OLYMPUS!!", "Gates of Olympus"),
    ("  gates   of   olympus ", "Gates of Olympus"),
    ("gates olympus", "Gates of Olympus"),
    # small typos
    ("gatez of olympus", "Gates of Olympus"),
    ("bok of ded", "Book of Dead"),
    ("suger rush", "Sugar Rush"),
    ("sweet bananza", "Sweet Bonanza"),
    ("starlight princes 1000", "Starlight Princess 1000"),
    ("doghouse", "The Dog House"),
    ("moneytrain 3", "Money Train 3"),
    # the right variant
    ("gates of olympus 1000", "Gates of Olympus 1000"),
    ("sugar rush 1000", "Sugar Rush 1000"),
    ("sugar rush", "Sugar Rush"),
    ("sugar rush 100", "Sugar Rush 1000"),
    ("wanted", "Wanted Dead or a Wild"),
    ("wanted dead", "Wanted Dead or a Wild"),
    ("wanted dead or wild", "Wanted Dead or a Wild"),
    ("wanted 2", "Wanted Dead or a Wild 2"),
    ("mental 2", "Mental 2"),
    ("Mental", "Mental"),
    ("tombstone", "Tombstone"),
    ("tombstone rip", "Tombstone RIP"),
    ("dog house megaways", "The Dog House Megaways"),
    ("reactoonz 2", "Reactoonz 2"),
    # aliases and partial names
    ("mt3", "Money Train 3"),
    ("zeus vs hades", "Zeus vs Hades - Gods of War"),
    ("Zeus vs Typhon", "Zeus vs Typhon"),
    ("big bass", "Big Bass Bonanza"),
    ("dog house", "The Dog House"),
    ("san quentin", "San Quentin xWays"),
    ("fire in the hole", "Fire in the Hole xBomb"),
    ("jammin jars", "Jammin' Jars"),
    ("stack em", "Stack 'Em"),
    ("gonzos quest", "Gonzo's Quest"),
    ("rich wilde tome of madness", "Rich Wilde and the Tome of Madness"),
    ("Book of Dead", "Book of Dead"),
    # ambiguous or unknown: free text
    ("olympus", None),
    ("money train", None),
    ("book", None),
    ("the", None),
    ("dog", None),
    ("hello chat", None),
    ("asdfghjkl", None),
    ("the best slot ever", None),
    ("@everyone", None),
    ("pls play something good", None),
    ("!!!", None),
    ("🎰🎰🎰", None),
]


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_request_text_matches_the_expected_slot(catalogue: None, text: str, expected: str | None) -> None:
    result = slot_match(text=text)
    assert (result.slot.name if result.slot else None) == expected, (connection.vendor, result)


def test_matched_slot_carries_catalogue_data(catalogue: None) -> None:
    result = slot_match(text="book of dead")
    assert result.slot is not None
    assert (result.slot.provider, result.slot.rtp_percent, result.slot.max_win) == (
        "Play'n GO",
        "96.21%",
        5000,
    )
    assert result.score == 1.0


def test_no_catalogue_means_free_text(db: Any) -> None:
    assert slot_match(text="gates of olympus").slot is None


def test_new_import_is_seen_by_the_next_match(catalogue: None) -> None:
    from slots.catalogue import slots_import

    assert slot_match(text="le pharaoh").slot is None
    slots_import(rows=[{"name": "Le Pharaoh", "provider": "Hacksaw Gaming"}], source="json")
    assert slot_match(text="le pharaoh").slot is not None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("GATES OF OLYMPUS!!", "gates of olympus"),
        ("Jammin' Jars", "jammin jars"),
        ("Zeus vs Hades - Gods of War", "zeus vs hades gods of war"),
        ("Ça Va Bïen", "ca va bien"),
        ("Rock & Roll", "rock and roll"),
        ("\n\t ", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_best_match_prefers_an_exact_alias() -> None:
    cands = [Candidate(1, "wanted dead or a wild", ("wanted",)), Candidate(2, "wanted dead or a wild 2", ())]
    assert best_match("wanted", cands).slot_id == 1


def test_best_match_without_candidates_is_free_text() -> None:
    assert best_match("gates", []).slot_id is None
