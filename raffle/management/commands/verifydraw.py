"""``manage.py verifydraw <period-id>``: recompute a draw from its stored proof document.

Runs the same checks a viewer runs (the standalone ``static/raffle/verify_draw.py``, including
the drand BLS signature through ``drand_verify``) and, independently, ``raffle.draw``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from raffle.draw import build_snapshot, draw_winners, seed_hash
from raffle.models import RafflePeriod
from raffle.proof import proof_document


def load_verifier() -> ModuleType:
    path = Path(settings.BASE_DIR) / "static" / "raffle" / "verify_draw.py"
    spec = importlib.util.spec_from_file_location("kickbot_verify_draw", path)
    if spec is None or spec.loader is None:
        raise CommandError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recompute(doc: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """Our own implementation's checks (seed, snapshot, winners)."""
    checks = []
    checks.append(("seed (raffle.draw)", seed_hash(doc["server_seed"]) == doc["server_seed_hash"], ""))
    snap = build_snapshot([tuple(e) for e in doc["entrants"]])
    checks.append(("snapshot (raffle.draw)", snap.snapshot_hash == doc["snapshot_hash"], snap.snapshot_hash))
    winners = draw_winners(doc["server_seed"], snap, doc["drand"]["randomness"], len(doc["winners"]))
    mine = [(w.k, w.ticket, w.total, w.kick_user_id) for w in winners]
    theirs = [(w["k"], w["ticket"], w["total"], w["kick_user_id"]) for w in doc["winners"]]
    checks.append(("winners (raffle.draw)", mine == theirs, str(mine)))
    return checks


class Command(BaseCommand):
    help = "Recompute a raffle draw from its stored proof and print PASS/FAIL per check."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("period_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        period = RafflePeriod.objects.select_related("community").filter(pk=options["period_id"]).first()
        if period is None:
            raise CommandError(f"no raffle period {options['period_id']}")
        if period.status != RafflePeriod.Status.DRAWN:
            raise CommandError(f"raffle {period.pk} is {period.status}: nothing to verify yet")
        doc = proof_document(period)
        failed = False
        for check in load_verifier().verify(doc):
            ok = check.ok
            failed |= ok is False
            label = "SKIP" if ok is None else "PASS" if ok else "FAIL"
            self.stdout.write(f"{label} {check.name}: {check.detail}")
        for name, ok, detail in recompute(doc):
            failed |= not ok
            self.stdout.write(f"{'PASS' if ok else 'FAIL'} {name} {detail}".rstrip())
        if failed:
            raise CommandError(f"raffle {period.pk}: the proof does NOT check out")
        self.stdout.write(self.style.SUCCESS(f"raffle {period.pk}: every check passed"))
