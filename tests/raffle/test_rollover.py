"""Freeze, draw with a verified beacon, rerolls, waiting draws and the monthly rollover (exactly once)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from kickbot.errors import NotAllowed
from outbox.models import OutboxMessage
from raffle import rules, tasks
from raffle.draw import build_snapshot, draw_winners, seed_hash
from raffle.errors import DrawWaiting
from raffle.models import RafflePeriod, RaffleWinner, RolloverRun, TicketBalance
from raffle.services.drawing import period_choose_fallback, period_draw, period_reroll
from raffle.services.periods import period_open, period_start, raffle_settings_update
from raffle.services.rollover import period_freeze, raffle_rollover
from raffle.services.tickets import tickets_admin_adjust, tickets_convert_watchtime
from tests.raffle.conftest import NOW, RANDOMNESS, ROUND, SIGNATURE, FakeRelay, kick_user, use_round
from watchtime.models import WatchMonthly

pytestmark = pytest.mark.django_db


def fill(community: Any, tickets: dict[int, int]) -> None:
    for uid, n in tickets.items():
        tickets_admin_adjust(
            community_id=community.pk, kick_user_id=uid, amount=n, remove=False, reason="", actor_label="t"
        )


TICKETS = {404: 64, 101: 10, 303: 1, 202: 25}


def test_commitment_at_open_is_the_seed_hash_and_the_round_after_end_plus_margin(
    period: RafflePeriod,
) -> None:
    assert seed_hash(period.server_seed) == period.server_seed_hash
    end = datetime(2026, 12, 1, tzinfo=UTC).timestamp() + 30
    from raffle.draw import quicknet_round_at

    assert period.drand_round == quicknet_round_at(end)
    assert period.rules["tickets_per_hour"] == 10 and period.algorithm_version == 2
    assert (period.rules["commit_margin_s"], period.rules["max_rerolls"]) == (30, 3)


def test_freeze_publishes_the_snapshot_hash(community: Any, period: RafflePeriod) -> None:
    fill(community, TICKETS)
    frozen = period_freeze(community_id=community.pk, actor_label="t")
    assert frozen.snapshot_hash == "08b643ae8e2edac6c8648a30d0f99c043133e1c64fe4b818647c8b62f4645c84"
    assert (frozen.entrants_count, frozen.total_tickets) == (4, 100)


def test_draw_matches_the_test_vector_winners(community: Any, period: RafflePeriod, relay: FakeRelay) -> None:
    fill(community, TICKETS)
    kick_user(404, "winner404")
    use_round(period)
    result = period_draw(period_id=period.pk, actor_label="t")
    period.refresh_from_db()
    snap = build_snapshot(list(TICKETS.items()))
    expected = draw_winners(period.server_seed, snap, RANDOMNESS, 1)
    assert [(w.k, w.kick_user_id, w.ticket) for w in result.winners] == [
        (e.k, e.kick_user_id, e.ticket) for e in expected
    ]
    assert (period.status, period.beacon_round, period.beacon_randomness) == ("drawn", ROUND, RANDOMNESS)


def test_a_second_draw_returns_the_first_result(
    community: Any, period: RafflePeriod, relay: FakeRelay
) -> None:
    fill(community, TICKETS)
    use_round(period)
    first = period_draw(period_id=period.pk, actor_label="t")
    again = period_draw(period_id=period.pk, actor_label="t")
    assert again.already and [w.pk for w in again.winners] == [w.pk for w in first.winners]
    assert RaffleWinner.objects.count() == 1


def test_draw_before_the_round_is_emitted_waits_and_says_why(
    community: Any, period: RafflePeriod, relay: FakeRelay
) -> None:
    fill(community, TICKETS)
    period_freeze(community_id=community.pk, actor_label="t")
    with pytest.raises(DrawWaiting, match="waiting for drand quicknet round"):
        period_draw(period_id=period.pk, actor_label="t")
    period.refresh_from_db()
    assert period.status == "frozen" and "waiting for drand" in period.draw_wait_reason
    assert relay.calls == []


def test_unreachable_beacon_waits_and_records_the_reason(
    community: Any, period: RafflePeriod, relay: FakeRelay
) -> None:
    fill(community, TICKETS)
    use_round(period)
    relay.down = True
    with pytest.raises(DrawWaiting, match="could not be fetched"):
        period_draw(period_id=period.pk, actor_label="t")
    period.refresh_from_db()
    assert period.status == "frozen" and not RaffleWinner.objects.exists()


def test_a_forged_beacon_is_not_used(community: Any, period: RafflePeriod, relay: FakeRelay) -> None:
    fill(community, TICKETS)
    use_round(period)
    relay.rounds = {ROUND: "8" + relay.rounds[ROUND][1:]}
    with pytest.raises(DrawWaiting):
        period_draw(period_id=period.pk, actor_label="t")
    assert not RaffleWinner.objects.exists()


def test_reroll_is_the_next_k(community: Any, period: RafflePeriod, relay: FakeRelay) -> None:
    fill(community, TICKETS)
    use_round(period)
    period_draw(period_id=period.pk, actor_label="t")
    w = period_reroll(period_id=period.pk, reason="unreachable", actor_label="t")
    period.refresh_from_db()
    expected = draw_winners(period.server_seed, build_snapshot(list(TICKETS.items())), RANDOMNESS, 2)
    assert (w.k, w.kick_user_id) == (1, expected[1].kick_user_id)
    assert RaffleWinner.objects.get(k=0).void_reason == "unreachable"


def test_draw_announces_once_on_discord_and_kick(
    community: Any, period: RafflePeriod, relay: FakeRelay
) -> None:
    raffle_settings_update(community_id=community.pk, actor_label="t", announce_channel_id=555)
    fill(community, TICKETS)
    kick_user(404, "@everyone")
    use_round(period)
    period_draw(period_id=period.pk, actor_label="t")
    period_draw(period_id=period.pk, actor_label="t")
    winners = OutboxMessage.objects.filter(dedupe_key__startswith=f"raffle:{period.pk}:winners")
    assert sorted(winners.values_list("kind", flat=True)) == ["discord_message", "kick_chat"]
    discord_msg = winners.get(kind="discord_message")
    assert "@everyone" not in discord_msg.payload["embeds"][0]["description"].replace("@\u200beveryone", "")


# --- rollover -------------------------------------------------------------------------------------


def test_rollover_run_twice_on_the_first_draws_once(
    community: Any, period: RafflePeriod, relay: FakeRelay
) -> None:
    fill(community, TICKETS)
    use_round(period)
    with time_machine.travel(datetime(2026, 12, 1, 0, 1, tzinfo=UTC), tick=False):
        tasks.raffle_rollover.delay()
        tasks.raffle_rollover.delay()
        tasks.raffle_draw_due.delay()
    period.refresh_from_db()
    assert period.status == "drawn"
    assert RaffleWinner.objects.filter(period=period).count() == 1
    assert RolloverRun.objects.count() == 1
    [nxt] = RafflePeriod.objects.filter(status="open")
    assert (nxt.starts_at, nxt.ends_at) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert OutboxMessage.objects.filter(kind="kick_chat", dedupe_key__contains=":winners:").count() == 1


def test_rollover_converts_the_minutes_watched_since_the_last_conversion(
    community: Any, period: RafflePeriod
) -> None:
    def watched(minutes: int) -> None:
        WatchMonthly.objects.update_or_create(
            community=community, kick_user_id=4242, month=date(2026, 11, 1), defaults={"minutes": minutes}
        )

    raffle_settings_update(community_id=community.pk, actor_label="t", auto_draw=False)
    watched(125)
    assert tickets_convert_watchtime(community_id=community.pk) == 20
    watched(130)  # the last minutes of the month, after the last scheduled conversion
    with time_machine.travel(datetime(2026, 12, 1, 0, 1, tzinfo=UTC), tick=False):
        tasks.raffle_rollover.delay()
    period.refresh_from_db()
    assert (period.status, period.total_tickets) == ("frozen", 21)
    assert TicketBalance.objects.get(period=period, kick_user_id=4242).watchtime == 21


def test_freeze_by_hand_converts_the_minutes_watched_so_far(community: Any, period: RafflePeriod) -> None:
    WatchMonthly.objects.create(community=community, kick_user_id=4242, month=date(2026, 11, 1), minutes=60)
    frozen = period_freeze(community_id=community.pk, actor_label="t")
    assert (frozen.status, frozen.total_tickets) == ("frozen", 10)


def test_rollover_follows_the_community_time_zone(community: Any, clock: Any) -> None:
    community.timezone = "America/New_York"
    community.save()
    period_start(community_id=community.pk, start=date(2026, 11, 1), end=None, actor_label="t")
    # 03:00 UTC on Dec 1 is still Nov 30 in New York: nothing happens yet.
    with time_machine.travel(datetime(2026, 12, 1, 3, 0, tzinfo=UTC), tick=False):
        tasks.raffle_rollover.delay()
    assert RafflePeriod.objects.get().status == "open"
    with time_machine.travel(datetime(2026, 12, 1, 5, 1, tzinfo=UTC), tick=False):
        tasks.raffle_rollover.delay()
    assert RafflePeriod.objects.filter(status="frozen").count() == 1
    assert RafflePeriod.objects.get(status="open").starts_at == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


def test_rollover_ignores_communities_without_a_raffle(community: Any, clock: Any) -> None:
    assert raffle_rollover(community_id=community.pk).ran is False
    assert not RafflePeriod.objects.exists()


def test_auto_draw_off_leaves_the_period_frozen(
    community: Any, period: RafflePeriod, relay: FakeRelay
) -> None:
    raffle_settings_update(community_id=community.pk, actor_label="t", auto_draw=False)
    fill(community, TICKETS)
    use_round(period)
    with time_machine.travel(datetime(2026, 12, 1, 0, 1, tzinfo=UTC), tick=False):
        tasks.raffle_rollover.delay()
    period.refresh_from_db()
    assert period.status == "frozen"


def test_fallback_round_follows_the_rule_after_logged_failures(
    community: Any, period: RafflePeriod, monkeypatch: Any
) -> None:
    fill(community, TICKETS)
    use_round(period, ROUND - 1000)  # a round no relay can give
    relay = FakeRelay(rounds={})
    monkeypatch.setattr("raffle.services.drawing.drand_client_factory", relay.client)
    with pytest.raises(DrawWaiting):
        period_draw(period_id=period.pk, actor_label="t")
    period.refresh_from_db()
    assert len(period.draw_attempts) == 1 and period.fallback_round is None
    assert "HTTP 404" in period.draw_attempts[0]["answers"]
    with pytest.raises(NotAllowed, match="failed for 10 minutes"):
        period_choose_fallback(period_id=period.pk, actor_label="discord:1")
    monkeypatch.setattr(rules, "quicknet_round_at", lambda ts: ROUND)
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        with pytest.raises(DrawWaiting, match="fallback round"):
            period_draw(period_id=period.pk, actor_label="t")
    relay.rounds = {ROUND: SIGNATURE}
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
        period_draw(period_id=period.pk, actor_label="t")
    period.refresh_from_db()
    assert (period.status, period.fallback_round, period.beacon_round) == ("drawn", ROUND, ROUND)
    assert period.fallback_chosen_by == "rule"
    assert period.fallback_chosen_at == NOW + timedelta(minutes=10)


def test_a_custom_period_that_ends_mid_month_is_frozen_when_it_ends(community: Any, clock: Any) -> None:
    """The month's rollover ran while it was open; its end must not wait for next month's."""
    custom = period_open(
        community=community,
        starts_at=datetime(2026, 11, 1, tzinfo=UTC),
        ends_at=datetime(2026, 11, 20, tzinfo=UTC),
        actor_label="t",
    )
    with time_machine.travel(datetime(2026, 11, 2, tzinfo=UTC), tick=False):
        assert raffle_rollover(community_id=community.pk).frozen_period_id is None
    assert RolloverRun.objects.count() == 1

    with time_machine.travel(datetime(2026, 11, 20, 0, 5, tzinfo=UTC), tick=False):
        result = raffle_rollover(community_id=community.pk)
        again = raffle_rollover(community_id=community.pk)
    custom.refresh_from_db()
    assert custom.status == "frozen" and result.frozen_period_id == custom.pk
    assert (again.ran, again.frozen_period_id) == (False, None)
    assert not RafflePeriod.objects.filter(status="open").exists()  # the next one opens on the 1st

    with time_machine.travel(datetime(2026, 12, 1, 0, 1, tzinfo=UTC), tick=False):
        opened = raffle_rollover(community_id=community.pk)
    assert opened.frozen_period_id is None and opened.opened_period_id is not None
