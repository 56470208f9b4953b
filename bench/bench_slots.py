"""Slot matching: one request against a 10,000-slot catalogue, p95 in ms.

Builds 10,000 plausible names deterministically (``random.Random(8)``: word lists of real slot
naming habits, plus the 70-slot sample catalogue), imports them through ``slots_import`` under a
bench-only source and removes them afterwards. Measured: ``slot_match`` (trigram candidates on
Postgres, the in-process rapidfuzz list on SQLite, then the shared decision) over a fixed mix of
exact names, typos, aliases, partial names and free text. The naive baseline scores every
catalogue name in Python (what a hand-written matcher without an index does). Five runs of the
mix: the value is the median of their p95s (no primitive bounds this path; absolute target).
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from django.db import connection

from bench.report import spread
from slots.catalogue import slots_import
from slots.matching import Candidate, best_match, name_cache, normalise
from slots.models import Slot
from slots.selectors import slot_match

SOURCE = "bench"
REPEATS = 5  # runs of the query mix: their spread is reported beside the absolute target
FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "slots" / "catalogue.json"
ADJ = (
    "big bigger sweet wild golden lucky mega dead hot fat rich royal dark mystic crazy super epic wanted"
).split()
NOUN = (
    "bass bonanza olympus zeus hades princess dog house train book fortune fruit jars shark rabbit gems "
    "tombstone canary bandit gold wolf buffalo dragon pharaoh temple pirate vampire candy sugar viking"
).split()
TAIL = [
    "",
    "",
    "",
    " 1000",
    " megaways",
    " xways",
    " 2",
    " 3",
    " deluxe",
    " rush",
    " hold and win",
    " dream drop",
]
PROVIDERS = ["Pragmatic Play", "Hacksaw Gaming", "Nolimit City", "Play'n GO", "Relax Gaming", "Push Gaming"]
QUERIES = [
    "gates of olympus",
    "GATES OF OLYMPUS!!",
    "gatez of olympus",
    "sugar rush 1000",
    "wanted",
    "wanted dead",
    "book of dead",
    "bok of ded",
    "dog house",
    "money train 3",
    "san quentin",
    "big bass bonanza",
    "hello chat",
    "asdfghjkl",
    "the best slot ever",
    "zeus vs typhon",
]


SYLLABLES = "ka ra zu mo ti len dor vex an thu mi sa go bel rin quo fa lo ne ix pa tor cy el".split()


def invented(rng: random.Random) -> str:
    """A made-up word ("Zutorix"): real catalogues have a wide vocabulary, not 50 words reused."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).title()


def make_rows(n: int) -> list[dict[str, Any]]:
    rng = random.Random(8)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in json.loads(FIXTURE.read_text()):
        rows.append(row)
        seen.add(normalise(row["name"]))
    while len(rows) < n:
        shape = rng.random()
        if shape < 0.15:  # "Golden Pharaoh Megaways"
            name = f"{rng.choice(ADJ).title()} {rng.choice(NOUN).title()}"
        elif shape < 0.45:  # "Zutorix Gold"
            name = f"{invented(rng)} {rng.choice(NOUN).title()}"
        elif shape < 0.7:  # "Mega Kalendor"
            name = f"{rng.choice(ADJ).title()} {invented(rng)}"
        elif shape < 0.85:  # "Book of Ramotix"
            name = f"{rng.choice(NOUN).title()} of {invented(rng)}"
        else:  # "Thumisa Rinvex"
            name = f"{invented(rng)} {invented(rng)}"
        name += rng.choice(TAIL).title()
        if normalise(name) in seen:
            continue
        seen.add(normalise(name))
        rows.append({"name": name, "provider": rng.choice(PROVIDERS), "rtp": "96.2"})
    return rows


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 20 else max(samples)


def run(scale: float) -> dict[str, dict[str, Any]]:
    n = max(1000, int(10_000 * scale))
    existing = Slot.objects.count()
    if existing:
        print(f"   note: {existing} catalogue rows already present; they take part in matching")
    # Own slugs and source: the bench never touches a real catalogue row, and removes its own.
    rows = [dict(r, slug=f"bench-{i}", source_id=f"bench-{i}") for i, r in enumerate(make_rows(n))]
    before = set(Slot.objects.values_list("id", flat=True))
    try:
        slots_import(rows=rows, source=SOURCE)
        name_cache.invalidate()
        slot_match(text="warm up")  # loads the name list once (SQLite) / warms the plan (Postgres)
        runs: list[list[float]] = []
        for _ in range(REPEATS):
            samples: list[float] = []
            for _ in range(max(1, int(4 * scale))):
                for q in QUERIES:
                    t0 = time.perf_counter()
                    slot_match(text=q)
                    samples.append((time.perf_counter() - t0) * 1000)
            runs.append(samples)
        all_names = [
            Candidate(slot_id=i, name_norm=nn, alias_norms=())
            for i, nn in Slot.objects.values_list("id", "name_norm")
        ]
        naive: list[float] = []
        for q in QUERIES[:4]:
            t0 = time.perf_counter()
            # The naive path: read the catalogue and score every name for each request.
            best_match(normalise(q), [Candidate(c.slot_id, c.name_norm, ()) for c in all_names])
            naive.append((time.perf_counter() - t0) * 1000)
    finally:
        Slot.objects.filter(source=SOURCE, slug__startswith="bench-").exclude(id__in=before).delete()
        name_cache.invalidate()
    figure = spread([p95(run) for run in runs])
    baseline = round(max(naive), 3)
    return {
        "slot_match_p95_ms": {
            **figure,
            "unit": "ms",
            "baseline": baseline,
            "ratio": round(baseline / figure["value"], 1) if figure["value"] else 0,
            "slots": n,
            "db": connection.vendor,
        }
    }
