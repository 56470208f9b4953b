"""Fuzzy matching of a viewer's request text to a catalogue slot.

Two steps, the same on both databases so a request means the same slot everywhere:

1. **candidates**: on Postgres a ``pg_trgm`` query (GIN index on ``name_norm`` / ``aliases_norm``)
   returns the ~20 nearest names; on SQLite rapidfuzz does the same over an in-process list of
   normalised names, rebuilt when the catalogue's version (row count + last update) changes.
2. **decision** (pure, :func:`best_match`): exact name or alias first, else a rapidfuzz score over
   name and aliases; the best must clear ``ACCEPT`` and beat the runner-up (another slot) by
   ``MARGIN``, or the request stays free text. "book" alone is ambiguous and stays free text.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

ACCEPT = 0.78  # below this a request is free text
MARGIN = 0.02  # a close runner-up that is another slot makes the request ambiguous
CANDIDATES = 20
# Words that carry no meaning on their own: dropped before token scoring, so "the" or "of" alone
# never match "The Dog House" or "Book of Dead".
STOPWORDS = frozenset({"the", "of", "a", "an", "and", "or", "vs", "in", "slot", "slots", "please", "pls"})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """Lower case, no accents, ``&`` → and, apostrophes dropped, anything else non-alphanumeric → one space.

    ``"GATES OF OLYMPUS!!"`` → ``"gates of olympus"``; ``"Jammin' Jars"`` → ``"jammin jars"``.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = text.replace("&", " and ").replace("'", "").replace("\u2019", "")  # typographic apostrophe
    return _NON_ALNUM.sub(" ", text).strip()


def _content_words(norm: str) -> str:
    return " ".join(w for w in norm.split() if w not in STOPWORDS)


@dataclass(frozen=True, slots=True)
class Candidate:
    slot_id: int
    name_norm: str
    alias_norms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    slot_id: int | None
    score: float


def _query_coverage(query_words: list[str], name_words: list[str]) -> float:
    """How much of the query the name contains: each query word's best fuzzy match, by length.

    Directional on purpose: extra words in the *query* ("wanted 2") lower the score, so a longer
    query picks the longer name ("Wanted Dead or a Wild 2"), never a shorter one it contains.
    """
    total = sum(map(len, query_words))
    got = sum(len(w) * max(fuzz.ratio(w, n) for n in name_words) / 100 for w in query_words)
    return got / total


def _score(query: str, query_words: list[str], name: str) -> float:
    """0..1: whole-string similarity, or word coverage when the query is a clear part of the name."""
    ratio = fuzz.ratio(query, name) / 100
    name_words = _content_words(name).split()
    if not query_words or not name_words or sum(map(len, query_words)) < 4:
        return ratio
    coverage = _query_coverage(query_words, name_words)
    # How many of the name's words the query names: of two names that both contain the query
    # ("wanted dead" in "Wanted Dead or a Wild" and "... Wild 2"), the one with fewer extra words
    # wins; two with the same count ("olympus") stay a tie, and the request stays free text.
    span = min(len(query_words) / len(name_words), 1.0)
    return max(ratio, coverage * (0.8 + 0.2 * span))


def best_match(query_norm: str, candidates: Iterable[Candidate]) -> Decision:
    """Pick the slot for a normalised query among candidates (pure; see the module docstring)."""
    if not query_norm:
        return Decision(None, 0.0)
    query_words = _content_words(query_norm).split()
    scored: list[tuple[float, int, int]] = []
    for cand in candidates:
        if query_norm == cand.name_norm or query_norm in cand.alias_norms:
            return Decision(cand.slot_id, 1.0)
        best = max(_score(query_norm, query_words, n) for n in (cand.name_norm, *cand.alias_norms))
        scored.append((best, -len(cand.name_norm), cand.slot_id))
    if not scored:
        return Decision(None, 0.0)
    scored.sort(reverse=True)
    top, _, slot_id = scored[0]
    if top < ACCEPT:
        return Decision(None, round(top, 4))
    if len(scored) > 1 and top - scored[1][0] < MARGIN:
        return Decision(None, round(top, 4))
    return Decision(slot_id, round(top, 4))


class NameCache:
    """The catalogue's normalised names in memory, for SQLite (Postgres asks its trigram index).

    Thread-safe; ``version`` is whatever identifies the catalogue's state (checked by the caller
    on each match, so an import in another process is seen on the next request).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version: object = None
        self.candidates: list[Candidate] = []
        self.choices: list[str] = []  # one entry per name or alias
        self.owner: list[int] = []  # index into candidates for each choice

    def load(self, version: object, rows: Sequence[Candidate]) -> None:
        choices: list[str] = []
        owner: list[int] = []
        for i, cand in enumerate(rows):
            for text in (cand.name_norm, *cand.alias_norms):
                choices.append(text)
                owner.append(i)
        with self._lock:
            self.version, self.candidates, self.choices, self.owner = version, list(rows), choices, owner

    def invalidate(self) -> None:
        with self._lock:
            self.version = None

    def nearest(self, query_norm: str, limit: int = CANDIDATES) -> list[Candidate]:
        with self._lock:
            choices, owner, candidates = self.choices, self.owner, self.candidates
        hits = process.extract(
            query_norm, choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=limit * 2
        )
        seen: dict[int, Candidate] = {}
        for _text, _hit_score, idx in hits:
            cand = candidates[owner[idx]]
            seen.setdefault(cand.slot_id, cand)
            if len(seen) >= limit:
                break
        return list(seen.values())


name_cache = NameCache()
