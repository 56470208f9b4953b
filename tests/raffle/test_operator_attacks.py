"""An operator who wants a chosen viewer to win (issue 14, attacks 1-8): every attack now fails.

Each test first shows the attack's premise holds (the search finds a winning ticket count, the
beacon of the committed round is public, ...), then tries it the way an operator could: through
the services, the commands and raw SQL. The guards are triggers, so the same tests run on
Postgres and on SQLite (``DATABASE_URL`` picks the backend).
"""

from __future__ import annotations

import importlib.util
import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test import Client

from accounts.models import KickUser
from dashboard import services as dashboard_services
from kickbot.errors import InvalidInput, NotAllowed
from raffle.draw import build_snapshot, draw_winners, round_time
from raffle.errors import DrawWaiting, PeriodNotOpen
from raffle.models import RafflePeriod, RaffleWinner, TicketBalance, TicketEntry, WatchWindow
from raffle.proof import proof_document
from raffle.services.drawing import period_choose_fallback, period_draw, period_draw_current, period_reroll
from raffle.services.periods import period_open, raffle_settings_update
from raffle.services.rollover import period_freeze, raffle_rollover
from raffle.services.tickets import tickets_admin_adjust, tickets_convert_watchtime
from tests.raffle.conftest import DEC, NOV, NOW, RANDOMNESS, ROUND, FakeRelay, kick_user, use_round
from tests.raffle.test_verifier import NODE, run_js
from watchtime.models import WatchMonthly

pytestmark = pytest.mark.django_db

VERIFY_PY = Path(__file__).resolve().parents[2] / "static" / "raffle" / "verify_draw.py"
CHOSEN = 303  # the viewer the operator wants to win: 1 ticket of 100
TICKETS = {404: 64, 101: 10, CHOSEN: 1, 202: 25}


@pytest.fixture(scope="module")
def verifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_draw_attacks", VERIFY_PY)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def give(community: Any, uid: int, n: int, *, actor: str = "t", key: str | None = None, **kw: Any) -> int:
    return tickets_admin_adjust(
        community_id=community.pk,
        kick_user_id=uid,
        amount=n,
        remove=False,
        reason="",
        actor_label=actor,
        request_key=key,
        **kw,
    )


def fill(community: Any) -> None:
    for uid, n in TICKETS.items():
        give(community, uid, n)


def refused(sql: str, params: list[Any]) -> None:
    """Raw SQL, as an operator with database access would run it: the database says no."""
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def period_past_its_end_with_public_round(community: Any, period: RafflePeriod) -> RafflePeriod:
    """An open period whose committed round is ROUND, already emitted (its beacon is public):
    the state a late or stopped beat left it in."""
    ends = datetime.fromtimestamp(round_time(ROUND) - 30, tz=UTC)
    RafflePeriod.objects.filter(pk=period.pk).update(
        starts_at=ends - timedelta(days=30), ends_at=ends, drand_round=ROUND
    )
    period.refresh_from_db()
    return period


def sqrt_2t_search(seed: str, beacon: str) -> int:
    """The operator's search: extra tickets for CHOSEN until CHOSEN wins (about sqrt(2T) tries)."""
    total = sum(TICKETS.values())
    for extra in range(1, 20 * math.isqrt(2 * total) + 200):
        snap = build_snapshot([(u, n + (extra if u == CHOSEN else 0)) for u, n in TICKETS.items()])
        if draw_winners(seed, snap, beacon, 1)[0].kick_user_id == CHOSEN:
            return extra
    raise AssertionError("the search found no winning ticket count: the attack's premise failed")


# --- 1. tickets changed after the committed round was public ------------------------------------


def test_1_tickets_after_the_end_are_refused_and_a_late_close_recommits(
    community: Any, period: RafflePeriod
) -> None:
    fill(community)
    period = period_past_its_end_with_public_round(community, period)
    assert NOW.timestamp() > round_time(ROUND)  # the committed beacon is public
    extra = sqrt_2t_search(period.server_seed, RANDOMNESS)

    # Through the service: the book closed at ends_at, whatever the status says.
    with pytest.raises(PeriodNotOpen, match="closed"):
        give(community, CHOSEN, extra)
    # Through the ORM or SQL, effective now: the trigger refuses it.
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketEntry.objects.create(
            period=period, kick_user_id=CHOSEN, source="admin", amount=extra, source_key="sneak"
        )
    # Backdated under the end, bypassing every service: the close re-commits to a future round, so
    # the beacon the search used is not the one that draws.
    with transaction.atomic():
        backdated = period.ends_at - timedelta(seconds=1)
        TicketEntry.objects.create(
            period=period,
            kick_user_id=CHOSEN,
            source="admin",
            amount=extra,
            source_key="backdated",
            effective_at=backdated,
        )
        TicketBalance.objects.filter(period=period, kick_user_id=CHOSEN).update(
            total=TICKETS[CHOSEN] + extra, admin=TICKETS[CHOSEN] + extra
        )
    frozen = period_freeze(community_id=community.pk, actor_label="system:rollover")
    assert frozen.drand_round != ROUND
    assert round_time(frozen.drand_round) >= frozen.frozen_at.timestamp() + 30  # type: ignore[union-attr]
    assert "after its end" in frozen.amendments[-1]["reason"]


def test_1_watchtime_after_the_end_is_not_converted(community: Any, period: RafflePeriod) -> None:
    from watchtime.models import WatchTick

    period = period_past_its_end_with_public_round(community, period)
    month = date(2023, 9, 1)
    WatchMonthly.objects.create(community=community, kick_user_id=CHOSEN, month=month, minutes=600)
    WatchTick.objects.create(community=community, bucket=period.ends_at, viewers=1, minutes=1)
    assert tickets_convert_watchtime(community_id=community.pk) == 0
    assert not TicketEntry.objects.filter(period=period).exists()


# --- 2. unlimited rerolls ---------------------------------------------------------------------


def test_2_rerolls_are_capped_and_only_for_listed_reasons(
    community: Any, period: RafflePeriod, relay: FakeRelay, verifier: ModuleType
) -> None:
    for i in range(1, 11):
        give(community, i, 10)
    use_round(period)
    period_draw(period_id=period.pk, actor_label="t")
    with pytest.raises(InvalidInput, match="Reroll only for a reason"):
        period_reroll(period_id=period.pk, reason="they are not my friend", actor_label="t")
    for reason in ("declined", "unreachable", "ineligible"):
        period_reroll(period_id=period.pk, reason=reason, actor_label="t")
    with pytest.raises(NotAllowed, match="allows 3 reroll"):
        period_reroll(period_id=period.pk, reason="declined", actor_label="t")
    doc = proof_document(RafflePeriod.objects.select_related("community").get(pk=period.pk))
    assert doc["rerolls"] == 3
    checks = {c.name: c for c in verifier.verify(doc)}
    assert checks["rerolls"].ok is True and "3 reroll(s) of at most 3" in checks["rerolls"].detail
    # A proof that shows more rerolls than the committed cap (or another reason) FAILS.
    doc["rules"]["max_rerolls"] = 2
    assert {c.name: c.ok for c in verifier.verify(doc)}["rerolls"] is False


# --- 3. fallback without a failure ---------------------------------------------------------------


def test_3_fallback_needs_logged_failures_not_a_wait(
    community: Any, period: RafflePeriod, relay: FakeRelay, verifier: ModuleType
) -> None:
    fill(community)
    use_round(period)
    # A raffledraw before the round only waits: that is not a failure of the round.
    with time_machine.travel(datetime.fromtimestamp(round_time(ROUND) - 5, tz=UTC), tick=False):
        with pytest.raises(DrawWaiting, match="waiting for drand"):
            period_draw(period_id=period.pk, actor_label="t")
    with pytest.raises(NotAllowed, match="nobody can choose it"):
        period_choose_fallback(period_id=period.pk, actor_label="discord:1")
    with pytest.raises(NotAllowed):
        period_draw_current(community_id=community.pk, action="fallback", actor_label="discord:1")
    period.refresh_from_db()
    assert period.fallback_round is None and period.draw_attempts == []
    # The round is out: the committed outcome is drawn, and the verifier checks the rule.
    period_draw(period_id=period.pk, actor_label="t")
    doc = proof_document(RafflePeriod.objects.select_related("community").get(pk=period.pk))
    assert {c.name: c.ok for c in verifier.verify(doc)}["fallback"] is True
    # A proof that switched rounds without the logged failures FAILS.
    doc["drand"]["round"] = ROUND + 20
    doc["fallback"].update({"used": True, "round": ROUND + 20, "switched_at": "2023-09-15T11:00:30Z"})
    assert {c.name: c.ok for c in verifier.verify(doc)}["fallback"] is False


def test_3_a_fallback_switch_is_write_once(community: Any, period: RafflePeriod) -> None:
    fill(community)
    use_round(period, ROUND - 1000)
    RafflePeriod.objects.filter(pk=period.pk).update(fallback_round=ROUND, fallback_chosen_at=NOW)
    refused("UPDATE raffle_raffleperiod SET fallback_round = %s WHERE id = %s", [ROUND + 1, period.pk])


# --- 4. commitment rows unguarded ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("status", "open"),
        ("status", "frozen"),
        ("snapshot_hash", "0" * 64),
        ("server_seed_hash", "0" * 64),
        ("server_seed", "x"),
        ("drand_round", ROUND + 1),
        ("ends_at", "2030-01-01 00:00:00+00:00"),
        ("frozen_at", "2020-01-01 00:00:00+00:00"),
        ("total_tickets", 1),
        ("beacon_randomness", "1" * 64),
    ],
)
def test_4_a_drawn_period_cannot_be_rewritten_in_sql(
    community: Any, period: RafflePeriod, relay: FakeRelay, column: str, value: Any
) -> None:
    fill(community)
    use_round(period)
    period_draw(period_id=period.pk, actor_label="t")
    refused(f"UPDATE raffle_raffleperiod SET {column} = %s WHERE id = %s", [value, period.pk])


@pytest.mark.parametrize("table", ["raffle_ticketentry", "raffle_ticketbalance", "raffle_rafflewinner"])
def test_4_ledger_balances_and_winners_cannot_be_deleted(
    community: Any, period: RafflePeriod, relay: FakeRelay, table: str
) -> None:
    fill(community)
    use_round(period)
    period_draw(period_id=period.pk, actor_label="t")
    refused(f"DELETE FROM {table} WHERE period_id = %s", [period.pk])


def test_4_an_open_periods_ledger_cannot_be_deleted_either(community: Any, period: RafflePeriod) -> None:
    fill(community)
    refused("DELETE FROM raffle_ticketentry WHERE kick_user_id = %s", [404])
    refused("DELETE FROM raffle_ticketbalance WHERE kick_user_id = %s", [404])
    refused("UPDATE raffle_ticketentry SET amount = 1000 WHERE kick_user_id = %s", [CHOSEN])


def test_4_a_frozen_period_cannot_be_reopened_to_add_tickets(community: Any, period: RafflePeriod) -> None:
    fill(community)
    period_freeze(community_id=community.pk, actor_label="t")
    refused("UPDATE raffle_raffleperiod SET status = 'open' WHERE id = %s", [period.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketEntry.objects.create(
            period=period, kick_user_id=CHOSEN, source="admin", amount=5, source_key="x"
        )


# --- 5. winner username --------------------------------------------------------------------------


def test_5_the_winners_name_comes_from_the_drawn_kick_account(
    community: Any, period: RafflePeriod, relay: FakeRelay
) -> None:
    for uid in TICKETS:
        kick_user(uid, f"viewer{uid}")
    fill(community)
    use_round(period)
    period_draw(period_id=period.pk, actor_label="t")
    winner = RaffleWinner.objects.get(period=period)
    refused("UPDATE raffle_rafflewinner SET username = %s WHERE id = %s", ["my_friend", winner.pk])
    refused("UPDATE raffle_rafflewinner SET kick_user_id = %s WHERE id = %s", [CHOSEN, winner.pk])
    doc = json.loads(Client().get(f"/raffle/{period.pk}/proof.json").content)
    assert doc["winners"][0]["username"] == KickUser.objects.get(user_id=winner.kick_user_id).username
    # Privacy may blank the stored name; the proof still names the drawn account by its id.
    RaffleWinner.objects.filter(pk=winner.pk).update(username="")


# --- 6. early end ------------------------------------------------------------------------------


def test_6_an_early_end_commits_to_a_round_half_a_minute_ahead(
    community: Any, period: RafflePeriod, verifier: ModuleType, tmp_path: Path
) -> None:
    fill(community)
    frozen = period_freeze(community_id=community.pk, actor_label="discord:1")
    assert frozen.ends_at == frozen.frozen_at == NOW
    wait = round_time(frozen.drand_round) - NOW.timestamp()
    assert 30 <= wait < 33
    assert frozen.amendments[0]["reason"] == "ended early: the book closes now"
    # Before the draw nothing says FAIL: the page and both verifiers say "not drawn yet".
    doc = json.loads(Client().get(f"/raffle/{period.pk}/proof.json").content)
    checks = verifier.verify(doc)
    assert all(c.ok is not False for c in checks), [(c.name, c.detail) for c in checks]
    assert {c.name: c.ok for c in checks}["closed_before_round"] is True
    page = Client().get(f"/raffle/{period.pk}/").content.decode()
    assert "Not drawn yet" in page and "closed, not drawn yet" in page
    if NODE:  # the page's own verifier
        [js] = run_js([doc], tmp_path)
        assert (js["ok"], js["drawn"]) == (True, False), js


# --- 7. rollover after an early end ------------------------------------------------------------


def test_7_rollover_after_an_early_end_opens_only_the_next_calendar_month(
    community: Any, period: RafflePeriod
) -> None:
    WatchMonthly.objects.create(
        community=community, kick_user_id=CHOSEN, month=date(2026, 11, 1), minutes=180
    )
    period_freeze(community_id=community.pk, actor_label="discord:1")  # ends early, Nov 15
    assert TicketBalance.objects.get(period=period, kick_user_id=CHOSEN).watchtime == 30
    from raffle.models import RolloverRun

    RolloverRun.objects.all().delete()  # the month's rollover has not run yet (the beat was down)
    result = raffle_rollover(community_id=community.pk)
    assert result.opened_period_id is None
    assert RafflePeriod.objects.filter(community=community).count() == 1
    # A second raffle over the same month, backdated to the 1st: refused by the service and the DB.
    with pytest.raises(NotAllowed, match="overlap"):
        period_open(community=community, starts_at=NOV, ends_at=DEC, actor_label="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        RafflePeriod.objects.create(
            community=community,
            starts_at=NOV,
            ends_at=DEC,
            server_seed="0" * 64,
            server_seed_hash="0" * 64,
            drand_round=1,
            committed_at=NOW,
        )
    # A raffle opened now does not re-award the minutes the ended one converted.
    nxt = period_open(community=community, starts_at=NOW, ends_at=DEC, actor_label="t")
    assert tickets_convert_watchtime(community_id=community.pk) == 0
    WatchMonthly.objects.filter(kick_user_id=CHOSEN).update(minutes=240)
    assert tickets_convert_watchtime(community_id=community.pk) == 10
    assert TicketBalance.objects.get(period=nxt, kick_user_id=CHOSEN).watchtime == 10
    with time_machine.travel(DEC + timedelta(minutes=1), tick=False):
        opened = raffle_rollover(community_id=community.pk).opened_period_id
    assert RafflePeriod.objects.get(pk=opened).starts_at == DEC


def test_7_a_period_whose_beat_never_ran_is_not_recredited(community: Any, period: RafflePeriod) -> None:
    WatchMonthly.objects.create(
        community=community, kick_user_id=CHOSEN, month=date(2026, 11, 1), minutes=120
    )
    # No conversion ever ran in November; the rollover on Dec 1 closes it and opens December.
    with time_machine.travel(DEC + timedelta(minutes=1), tick=False):
        result = raffle_rollover(community_id=community.pk)
        assert tickets_convert_watchtime(community_id=community.pk) == 0
    assert TicketBalance.objects.get(period=period, kick_user_id=CHOSEN).watchtime == 20
    assert not TicketBalance.objects.filter(period_id=result.opened_period_id).exists()


def test_7_a_minute_window_belongs_to_one_period(community: Any, period: RafflePeriod) -> None:
    WatchMonthly.objects.create(community=community, kick_user_id=CHOSEN, month=date(2026, 11, 1), minutes=60)
    tickets_convert_watchtime(community_id=community.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        WatchWindow.objects.create(
            community=community, month=date(2026, 11, 1), kick_user_id=CHOSEN, period=period, base_minutes=0
        )


# --- 8. moderator cap and idempotency keys -----------------------------------------------------


def test_8_a_moderators_gifts_are_capped_per_period(community: Any, clock: Any, moderator: Any) -> None:
    raffle_settings_update(community_id=community.pk, actor_label="t", moderator_cap=250)
    period_open(community=community, starts_at=NOV, ends_at=DEC, actor_label="t")
    for i in range(2):
        dashboard_services.dashboard_tickets_adjust(
            community_id=community.pk,
            kick_user_id=CHOSEN,
            amount=100,
            remove=False,
            reason="hype",
            user=moderator,
        )
    with pytest.raises(InvalidInput, match="at most 50 more"):
        dashboard_services.dashboard_tickets_adjust(
            community_id=community.pk,
            kick_user_id=CHOSEN,
            amount=100,
            remove=False,
            reason="hype",
            user=moderator,
        )
    assert TicketBalance.objects.get(kick_user_id=CHOSEN).total == 200


def test_8_a_reused_request_key_with_another_request_is_an_error(
    community: Any, period: RafflePeriod
) -> None:
    assert give(community, CHOSEN, 10, key="discord:77") == 10
    assert give(community, CHOSEN, 10, key="discord:77") == 10  # a retry: no-op
    with pytest.raises(InvalidInput, match="already used for a different change"):
        give(community, CHOSEN, 500, key="discord:77")
    with pytest.raises(InvalidInput, match="already used"):
        tickets_admin_adjust(
            community_id=community.pk,
            kick_user_id=CHOSEN,
            amount=5,
            remove=True,
            reason="",
            actor_label="t",
            request_key="discord:77",
        )
    assert TicketBalance.objects.get(kick_user_id=CHOSEN).total == 10
