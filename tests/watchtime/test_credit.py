"""Crediting with a frozen clock: who earns what, once per bucket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine

from tests.watchtime.conftest import T0, chat
from watchtime.models import WatchMonthly, WatchSettings, WatchTick, WatchTotal
from watchtime.selectors import leaderboard, period_minutes, rank_of
from watchtime.services import tracking_set, watchtime_credit
from watchtime.tasks import watchtime_tick

S0 = T0.timestamp()


def minutes_of(community: Any, kick_user_id: int) -> int:
    row = WatchTotal.objects.filter(community=community, kick_user_id=kick_user_id).first()
    return row.minutes if row else 0


def run_ticks(
    start: float, count: int, lines: dict[int, list[int]] | None = None, community_id: int = 0
) -> None:
    """Minute by minute from ``start``: chat ``lines[i]`` (user ids) at +5 s, run the beat task at +30 s."""
    for i in range(count):
        for uid in (lines or {}).get(i, []):
            chat(community_id, uid, start + 60 * i + 5)
        with time_machine.travel(start + 60 * i + 30, tick=False):
            watchtime_tick()


def test_one_line_earns_exactly_the_ticks_in_its_window(live: Any) -> None:
    # User 1 chats once at 20:00:05; users 2 and 3 keep the chat active every minute.
    run_ticks(S0, 6, {0: [1, 2, 3], **{i: [2, 3] for i in range(1, 6)}}, community_id=live.pk)

    # Window 120 s: the ticks at 20:00:30 and 20:01:30 fall inside it; 20:02:30 does not.
    assert minutes_of(live, 1) == 2
    assert minutes_of(live, 2) == 6
    assert WatchTick.objects.filter(community=live).count() == 6


def test_lone_chatter_earns_nothing(live: Any) -> None:
    chat(live.pk, 1, S0 + 10)
    run_ticks(S0, 3)
    assert minutes_of(live, 1) == 0
    assert not WatchTick.objects.exists()


def test_offline_earns_nothing(community: Any) -> None:
    chat(community.pk, 1, S0 + 10)
    chat(community.pk, 2, S0 + 20)
    run_ticks(S0, 3)
    assert not WatchTotal.objects.exists()


def test_offline_chat_counts_when_the_setting_says_so(community: Any) -> None:
    WatchSettings.objects.create(community=community, count_offline_chat=True)
    chat(community.pk, 1, S0 + 10)
    chat(community.pk, 2, S0 + 20)
    run_ticks(S0, 3)
    assert minutes_of(community, 1) == 2


def test_tick_run_twice_for_the_same_bucket_credits_once(live: Any) -> None:
    chat(live.pk, 1, S0 + 10)
    chat(live.pk, 2, S0 + 20)
    with time_machine.travel(S0 + 65, tick=False):
        watchtime_tick()
    with time_machine.travel(S0 + 119, tick=False):  # a second replica, late in the same bucket
        watchtime_tick()
    bucket = T0 + timedelta(minutes=1)
    again = watchtime_credit(community_id=live.pk, bucket=bucket, minutes=1, now=S0 + 70)

    assert again.reason == "duplicate"
    assert minutes_of(live, 1) == 1
    assert WatchMonthly.objects.get(community=live, kick_user_id=1).minutes == 1


def test_tracking_off_credits_nothing(live: Any) -> None:
    tracking_set(community_id=live.pk, enabled=False, actor_label="discord:1")
    chat(live.pk, 1, S0 + 10)
    chat(live.pk, 2, S0 + 20)
    run_ticks(S0, 3)
    assert not WatchTotal.objects.exists()
    result = watchtime_credit(community_id=live.pk, bucket=T0 + timedelta(minutes=1), minutes=1, now=S0 + 70)
    assert result.reason == "tracking_off"


def test_the_bot_account_is_never_credited(live: Any) -> None:
    live.kick_bot_user_id = 99
    live.save(update_fields=["kick_bot_user_id"])
    for uid in (1, 2, 99):
        chat(live.pk, uid, S0 + 10)
    run_ticks(S0, 2)
    assert minutes_of(live, 99) == 0
    assert minutes_of(live, 1) == 2


def test_month_is_the_community_time_zone_month(live: Any) -> None:
    live.timezone = "America/New_York"
    live.save(update_fields=["timezone"])
    start = T0.replace(month=4, day=1, hour=2).timestamp()  # 1 April 02:00 UTC = 31 March in New York
    chat(live.pk, 1, start + 10)
    chat(live.pk, 2, start + 10)
    run_ticks(start, 2)
    row = WatchMonthly.objects.get(community=live, kick_user_id=1)
    assert (row.month.month, row.month.day) == (3, 1)
    assert period_minutes(community_id=live.pk, kick_user_ids=[1, 2, 3], month=row.month) == {1: 2, 2: 2}


def test_leaderboard_and_rank_follow_credits(live: Any) -> None:
    from tests.watchtime.conftest import kick_user

    kick_user(1, "alice")
    kick_user(2, "<b>bob</b>")
    run_ticks(S0, 5, {0: [1, 2], 2: [1, 3]}, community_id=live.pk)

    rows = leaderboard(community_id=live.pk, limit=10)
    assert [(r.rank, r.kick_user_id, r.minutes) for r in rows] == [(1, 1, 4), (2, 2, 2), (2, 3, 2)]
    assert rows[1].username == "<b>bob</b>"
    assert rows[2].username == "3"
    info = rank_of(community_id=live.pk, kick_user_id=2)
    assert (info.rank, info.minutes, info.total_viewers) == (2, 2, 3)
    assert rank_of(community_id=live.pk, kick_user_id=42).rank is None


def test_rank_mirror_agrees_with_the_tables_and_rebuilds_when_lost(live: Any) -> None:
    from kickbot.redis_client import get_redis
    from watchtime import mirror

    run_ticks(S0, 4, {0: [1, 2, 3], 1: [1, 4], 3: [2, 4]}, community_id=live.pk)
    from_mirror = [(r.kick_user_id, r.minutes) for r in leaderboard(community_id=live.pk, limit=10)]
    from_db = [
        (row.kick_user_id, row.minutes)
        for row in WatchTotal.objects.filter(community=live).order_by("-minutes", "kick_user_id")
    ]
    assert from_mirror == from_db
    assert get_redis().exists(mirror.meta_key(live.pk))

    get_redis().flushdb()  # Redis lost everything
    assert [(r.kick_user_id, r.minutes) for r in leaderboard(community_id=live.pk, limit=10)] == from_db
    assert get_redis().exists(mirror.meta_key(live.pk))  # rebuilt (Celery runs eagerly in tests)
    assert rank_of(community_id=live.pk, kick_user_id=from_db[-1][0]).rank is not None


def test_month_leaderboard_counts_only_that_month(live: Any) -> None:
    from watchtime.selectors import current_month

    run_ticks(S0, 2, {0: [1, 2]}, community_id=live.pk)
    with time_machine.travel(S0 + 600, tick=False):
        month = current_month(community_id=live.pk)
        this_month = leaderboard(community_id=live.pk, limit=5, month=month)
        last_month = leaderboard(community_id=live.pk, limit=5, month=month.replace(month=month.month - 1))
    assert [(r.rank, r.kick_user_id, r.minutes) for r in this_month] == [(1, 1, 2), (1, 2, 2)]
    assert last_month == []


def test_tick_bucket_is_the_clock_floor_and_whole_minutes() -> None:
    from watchtime.tasks import tick_bucket

    assert tick_bucket(S0 + 59.9, 60) == (T0, 1)
    assert tick_bucket(S0 + 300, 300)[1] == 5
    # 30 s intervals credit 0 and 1 minute by turns: a minute per minute, never a fraction.
    assert [tick_bucket(S0 + 30 * i, 30)[1] for i in range(4)] == [0, 1, 0, 1]


def test_leaderboard_answers_from_the_tables_when_redis_is_down(live: Any, monkeypatch: Any) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from watchtime import mirror

    WatchTotal.objects.create(community=live, kick_user_id=5, minutes=10)

    def down(*args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("down")

    monkeypatch.setattr(mirror, "_script", lambda source: down)
    monkeypatch.setattr(mirror, "get_redis", down)
    assert [(r.kick_user_id, r.minutes) for r in leaderboard(community_id=live.pk, limit=3)] == [(5, 10)]
    assert rank_of(community_id=live.pk, kick_user_id=5).rank == 1


def test_known_and_new_viewers_in_one_tick_each_earn_once(live: Any) -> None:
    """Known rows take the UPDATE, new ones the INSERT: both paths, one tick, right values back."""
    month = T0.date().replace(day=1)
    previous = (month - timedelta(days=1)).replace(day=1)
    WatchTotal.objects.create(community=live, kick_user_id=1, minutes=100)
    WatchMonthly.objects.create(community=live, kick_user_id=1, month=previous, minutes=100)
    WatchTotal.objects.create(community=live, kick_user_id=2, minutes=7)
    WatchMonthly.objects.create(community=live, kick_user_id=2, month=month, minutes=7)
    WatchTotal.objects.create(community=live, kick_user_id=99, minutes=5)  # not chatting
    for uid in (1, 2, 3):
        chat(live.pk, uid, S0 + 5)

    result = watchtime_credit(community_id=live.pk, bucket=T0, minutes=2, now=S0 + 30)

    assert result.credited and result.viewers == 3
    totals = dict(WatchTotal.objects.filter(community=live).values_list("kick_user_id", "minutes"))
    assert totals == {1: 102, 2: 9, 3: 2, 99: 5}
    months = dict(
        WatchMonthly.objects.filter(community=live, month=month).values_list("kick_user_id", "minutes")
    )
    assert months == {1: 2, 2: 9, 3: 2}
    assert WatchMonthly.objects.get(community=live, kick_user_id=1, month=previous).minutes == 100
    # What the rank mirror is given: every credited viewer once, with the new values.
    pairs = dict(p.split(":") for p in result.total_pairs.split(","))
    assert pairs == {"1": "102", "2": "9", "3": "2"}
    month_pairs = dict(p.split(":") for p in result.month_pairs.split(","))
    assert month_pairs == {"1": "2", "2": "9", "3": "2"}
