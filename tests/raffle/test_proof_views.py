"""Public proof document and page; the viewer's verifier recomputes the draw from public data alone."""

from __future__ import annotations

import copy
import importlib.util
import json
from io import StringIO
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from raffle.models import RafflePeriod
from raffle.services.drawing import period_draw
from raffle.services.periods import period_open, raffle_settings_update
from raffle.services.rollover import period_freeze
from raffle.services.tickets import tickets_admin_adjust
from tests.raffle.conftest import DEC, NOV, RANDOMNESS, ROUND, SIGNATURE, FakeRelay, kick_user, use_round

pytestmark = pytest.mark.django_db

VERIFY_PY = Path(__file__).resolve().parents[2] / "static" / "raffle" / "verify_draw.py"
TICKETS = {404: 64, 101: 10, 303: 1, 202: 25}


@pytest.fixture(scope="module")
def verifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_draw_public", VERIFY_PY)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fill(community: Any) -> None:
    for uid, n in TICKETS.items():
        tickets_admin_adjust(
            community_id=community.pk, kick_user_id=uid, amount=n, remove=False, reason="", actor_label="t"
        )


@pytest.fixture
def drawn(community: Any, clock: Any, relay: FakeRelay) -> RafflePeriod:
    kick_user(404, "streamerfan404")
    kick_user(202, "second_viewer")
    raffle_settings_update(community_id=community.pk, actor_label="t", winners_count=2)
    period = period_open(community=community, starts_at=NOV, ends_at=DEC, actor_label="t")
    fill(community)
    use_round(period)
    period_draw(period_id=period.pk, actor_label="t")
    period.refresh_from_db()
    return period


def proof(period: RafflePeriod) -> dict[str, Any]:
    response = Client().get(f"/raffle/{period.pk}/proof.json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_open_period_proof_shows_only_the_commitment(period: RafflePeriod) -> None:
    doc = proof(period)
    assert doc["server_seed_hash"] == period.server_seed_hash
    assert doc["drand"]["round"] == doc["drand"]["committed_round"] == period.drand_round
    assert doc["period"]["status"] == "open" and doc["draw_attempts"] == []
    for hidden in ("server_seed", "entrants", "snapshot_hash", "winners"):
        assert hidden not in doc
    assert period.server_seed not in json.dumps(doc)


def test_frozen_period_proof_adds_the_snapshot_but_not_the_seed(community: Any, period: RafflePeriod) -> None:
    fill(community)
    period_freeze(community_id=community.pk, actor_label="t")
    doc = proof(period)
    assert doc["entrants"] == [[101, 10], [202, 25], [303, 1], [404, 64]]
    assert doc["snapshot_hash"] == "08b643ae8e2edac6c8648a30d0f99c043133e1c64fe4b818647c8b62f4645c84"
    assert "server_seed" not in doc and period.server_seed not in json.dumps(doc)


def test_drawn_proof_is_the_draw_proof_document(drawn: RafflePeriod) -> None:
    doc = proof(drawn)
    assert doc["version"] == 2 and doc["server_seed"] == drawn.server_seed
    assert doc["drand"] == {
        "chain": "quicknet",
        "round": ROUND,
        "committed_round": ROUND,
        "emitted_at": "2023-09-15T11:00:03Z",
        "signature": SIGNATURE,
        "randomness": RANDOMNESS,
    }
    assert doc["frozen_at"] == "2023-09-15T10:59:31Z" and doc["rerolls"] == 0
    assert [w["k"] for w in doc["winners"]] == [0, 1]
    assert {"period", "rules", "committed_at", "community"} <= set(doc)


def test_the_public_verifier_recomputes_the_winners_from_the_proof(
    drawn: RafflePeriod, verifier: ModuleType
) -> None:
    checks = verifier.verify(proof(drawn))
    assert all(c.ok is not False for c in checks), [(c.name, c.detail) for c in checks]
    assert {c.name for c in checks if c.ok} >= {
        "server_seed",
        "snapshot_hash",
        "beacon_signature_bls",
        "winners",
    }


def test_changing_one_ticket_in_the_snapshot_fails_the_check(
    drawn: RafflePeriod, verifier: ModuleType
) -> None:
    doc = copy.deepcopy(proof(drawn))
    doc["entrants"][0][1] += 1
    assert any(c.ok is False for c in verifier.verify(doc))


def test_changing_the_beacon_fails_the_check(drawn: RafflePeriod, verifier: ModuleType) -> None:
    doc = copy.deepcopy(proof(drawn))
    doc["drand"]["randomness"] = "0" * 64
    assert any(c.ok is False for c in verifier.verify(doc))


def test_period_page_masks_names_and_offers_both_verifiers(drawn: RafflePeriod) -> None:
    html = Client().get(f"/raffle/{drawn.pk}/").content.decode()
    assert "streamerfan404" not in html and "st***********4" in html
    assert drawn.server_seed_hash in html and drawn.snapshot_hash in html
    assert "verify_draw.js" in html and f"/raffle/{drawn.pk}/proof.json" in html
    assert "/raffle/verify_draw.py" in html


def test_verifier_download_is_the_standalone_script() -> None:
    response = Client().get("/raffle/verify_draw.py")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == VERIFY_PY.read_bytes()


def test_unknown_period_is_404(db: Any) -> None:
    assert Client().get("/raffle/999999/proof.json").status_code == 404


def test_verifydraw_command_passes_on_a_real_draw(drawn: RafflePeriod) -> None:
    out = StringIO()
    call_command("verifydraw", str(drawn.pk), stdout=out)
    assert "every check passed" in out.getvalue()
    assert "FAIL" not in out.getvalue()


def test_verifydraw_command_fails_when_stored_data_was_tampered(
    drawn: RafflePeriod, monkeypatch: Any
) -> None:
    from django.db import IntegrityError, transaction

    from raffle.management.commands import verifydraw

    with pytest.raises(IntegrityError), transaction.atomic():  # the guards refuse it in the database
        RafflePeriod.objects.filter(pk=drawn.pk).update(beacon_randomness="1" * 64)
    real = verifydraw.proof_document
    monkeypatch.setattr(
        verifydraw, "proof_document", lambda p: {**real(p), "frozen_at": "2030-01-01T00:00:00Z"}
    )
    with pytest.raises(CommandError, match="does NOT check out"):
        call_command("verifydraw", str(drawn.pk), stdout=StringIO())
