"""Crediting with a frozen clock: who earns what, once per bucket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from tests.watchtime.conftest import T0, chat
from watchtime.credit import tracking_set, watchtime_credit
from watchtime.models import WatchAllTime, WatchMonthly, WatchSettings, WatchTick, WatchTotal
from watchtime.selectors import leaderboard, period_minutes, rank_of
from watchtime.tasks import watchtime_tick

S0 = T0.timestamp()


def minutes_of(community: Any, kick_user_id: int) -> int:
    """All-time minutes, as every reader sees them (the view: closed months + later months)."""
    row = WatchAllTime.objects.filter(community_id=community.pk, kick_user_id=kick_user_id).first()
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
    assert not WatchMonthly.objects.exists()
    assert not WatchAllTime.objects.exists()


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
    assert not WatchAllTime.objects.exists()
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
        for row in WatchAllTime.objects.filter(community_id=live.pk).order_by("-minutes", "kick_user_id")
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


def _previous(month: Any) -> Any:
    return (month - timedelta(days=1)).replace(day=1)


def test_known_and_new_viewers_in_one_tick_each_earn_once(live: Any) -> None:
    """Known rows take the UPDATE, new ones the INSERT: both paths, one tick, right values back.

    The tick writes the month only; all-time (the view) adds it to the closed months.
    """
    month = T0.date().replace(day=1)
    previous = _previous(month)
    WatchSettings.objects.create(community=live, closed_through=previous)
    WatchTotal.objects.create(community=live, kick_user_id=1, minutes=100)  # folded months
    WatchMonthly.objects.create(community=live, kick_user_id=1, month=previous, minutes=100)
    WatchMonthly.objects.create(community=live, kick_user_id=2, month=month, minutes=7)
    WatchTotal.objects.create(community=live, kick_user_id=99, minutes=5)  # not chatting
    for uid in (1, 2, 3):
        chat(live.pk, uid, S0 + 5)

    result = watchtime_credit(community_id=live.pk, bucket=T0, minutes=2, now=S0 + 30)

    assert result.credited and result.viewers == 3
    all_time = dict(WatchAllTime.objects.filter(community_id=live.pk).values_list("kick_user_id", "minutes"))
    assert all_time == {1: 102, 2: 9, 3: 2, 99: 5}
    assert dict(WatchTotal.objects.values_list("kick_user_id", "minutes")) == {1: 100, 99: 5}  # untouched
    months = dict(
        WatchMonthly.objects.filter(community=live, month=month).values_list("kick_user_id", "minutes")
    )
    assert months == {1: 2, 2: 9, 3: 2}
    assert WatchMonthly.objects.get(community=live, kick_user_id=1, month=previous).minutes == 100
    # What the rank mirror is given: every credited viewer once, with the new month values.
    month_pairs = dict(p.split(":") for p in result.month_pairs.split(","))
    assert month_pairs == {"1": "2", "2": "9", "3": "2"}


def test_a_late_tick_of_a_folded_month_counts_once_in_all_time(live: Any) -> None:
    month = T0.date().replace(day=1)
    WatchSettings.objects.create(community=live, closed_through=month)  # this month already folded
    WatchTotal.objects.create(community=live, kick_user_id=1, minutes=10)
    WatchMonthly.objects.create(community=live, kick_user_id=1, month=month, minutes=10)
    for uid in (1, 2):
        chat(live.pk, uid, S0 + 5)

    assert watchtime_credit(community_id=live.pk, bucket=T0, minutes=3, now=S0 + 30).credited

    assert minutes_of(live, 1) == 13 and minutes_of(live, 2) == 3
    assert WatchMonthly.objects.get(community=live, kick_user_id=1, month=month).minutes == 13
    assert WatchTotal.objects.get(community=live, kick_user_id=1).minutes == 13


def test_closing_months_folds_each_month_once_and_all_time_never_moves(live: Any) -> None:
    from watchtime.credit import watchtime_months_close

    march = T0.date().replace(day=1)
    feb, jan = _previous(march), _previous(_previous(march))
    rows = [(1, jan, 5), (1, feb, 7), (2, feb, 3), (1, march, 4)]
    for uid, month, minutes in rows:
        WatchMonthly.objects.create(community=live, kick_user_id=uid, month=month, minutes=minutes)

    def all_time() -> dict[int, int]:
        return dict(WatchAllTime.objects.filter(community_id=live.pk).values_list("kick_user_id", "minutes"))

    assert all_time() == {1: 16, 2: 3}
    assert watchtime_months_close(community_id=live.pk, now=T0) == feb
    assert dict(WatchTotal.objects.values_list("kick_user_id", "minutes")) == {1: 12, 2: 3}
    assert all_time() == {1: 16, 2: 3}
    assert watchtime_months_close(community_id=live.pk, now=T0) == feb  # again: nothing moves
    assert dict(WatchTotal.objects.values_list("kick_user_id", "minutes")) == {1: 12, 2: 3}

    april = T0.replace(month=4, day=2)
    assert watchtime_months_close(community_id=live.pk, now=april) == march
    assert dict(WatchTotal.objects.values_list("kick_user_id", "minutes")) == {1: 16, 2: 3}
    assert all_time() == {1: 16, 2: 3}
    assert WatchSettings.objects.get(community=live).closed_through == march


def test_the_hourly_task_folds_ended_months(live: Any) -> None:
    from watchtime.tasks import watchtime_months_close_all

    WatchMonthly.objects.create(
        community=live, kick_user_id=1, month=_previous(T0.date().replace(day=1)), minutes=9
    )
    with time_machine.travel(T0, tick=False):
        assert watchtime_months_close_all() == 1
        assert watchtime_months_close_all() == 0
    assert WatchTotal.objects.get(community=live, kick_user_id=1).minutes == 9
    assert minutes_of(live, 1) == 9


def test_mirror_applies_each_tick_once_and_rebuilds_after_a_gap(live: Any, monkeypatch: Any) -> None:
    """All-time grows by increments in the mirror: a replayed tick or chunk must not add twice."""
    from watchtime import mirror
    from watchtime.credit import watchtime_mirror_rebuild, watchtime_mirror_update

    monkeypatch.setattr(mirror, "_CHUNK", 2)  # three viewers → two chunks per tick
    for uid in (1, 2, 3):
        chat(live.pk, uid, S0 + 5)
    first = watchtime_credit(community_id=live.pk, bucket=T0, minutes=1, now=S0 + 30)
    watchtime_mirror_rebuild(community_id=live.pk)
    second = watchtime_credit(community_id=live.pk, bucket=T0 + timedelta(minutes=1), minutes=1, now=S0 + 90)
    assert second.prev_tick_id == first.tick_id

    assert watchtime_mirror_update(community_id=live.pk, result=second)
    assert watchtime_mirror_update(community_id=live.pk, result=second)  # replayed: skipped
    assert mirror.mirror_rank(community_id=live.pk, kick_user_id=1, month=None) == (2, 0, 3)
    assert not watchtime_mirror_update(community_id=live.pk, result=first)  # older than the mirror

    # A tick whose mirror write is lost leaves a gap: the next one is refused, a rebuild repairs.
    for uid in (1, 2, 3):
        chat(live.pk, uid, S0 + 125)
    watchtime_credit(community_id=live.pk, bucket=T0 + timedelta(minutes=2), minutes=1, now=S0 + 150)
    fourth = watchtime_credit(community_id=live.pk, bucket=T0 + timedelta(minutes=3), minutes=1, now=S0 + 210)
    assert fourth.credited
    assert not watchtime_mirror_update(community_id=live.pk, result=fourth)
    assert mirror.mirror_rank(community_id=live.pk, kick_user_id=1, month=None) == (2, 0, 3)
    watchtime_mirror_rebuild(community_id=live.pk)
    assert mirror.mirror_rank(community_id=live.pk, kick_user_id=1, month=None) == (4, 0, 3)


def test_a_tick_that_finds_the_mirror_behind_has_it_rebuilt(live: Any) -> None:
    """A mirror write lost after its commit leaves a gap: the next tick's write is refused, and the
    tick schedules a rebuild (eager in tests) that brings the mirror up to the tables."""
    from kickbot.redis_client import get_redis
    from watchtime import mirror

    run_ticks(S0, 2, {0: [1, 2], 1: [1, 2]}, community_id=live.pk)
    r = get_redis()
    r.hset(mirror.meta_key(live.pk), "last_tick", "0")  # as if the last tick's write never came
    r.zadd(mirror.total_key(live.pk), {"1": 0, "2": 0})  # only a rebuild can bring these back
    run_ticks(S0 + 120, 1, {0: [1, 2]}, community_id=live.pk)

    last = WatchTick.objects.filter(community=live).latest("bucket").pk
    assert r.hget(mirror.meta_key(live.pk), "last_tick") == str(last).encode()
    assert minutes_of(live, 1) == 3
    assert mirror.mirror_rank(community_id=live.pk, kick_user_id=1, month=None) == (3, 0, 2)


def test_mirror_skips_a_replayed_chunk_and_refuses_a_skipped_one(live: Any) -> None:
    from datetime import date

    from kickbot.redis_client import get_redis
    from watchtime import mirror
    from watchtime.credit import watchtime_mirror_rebuild

    watchtime_mirror_rebuild(community_id=live.pk)  # empty tables: meta with no last tick
    march = date(2026, 3, 1)

    def apply(tick: int, prev: int | None, chunk_pairs: list[str]) -> bool:
        return mirror.mirror_apply(
            community_id=live.pk,
            month=march,
            tick_id=tick,
            prev_tick_id=prev,
            minutes=1,
            month_pairs=",".join(chunk_pairs),
        )

    script = mirror._script(mirror._APPLY)
    keys = [mirror.meta_key(live.pk), mirror.total_key(live.pk), mirror.month_key(live.pk, march)]
    assert script(keys=keys, args=["7", "", 0, 2, 1, "1:1"]) == 1
    assert script(keys=keys, args=["7", "", 0, 2, 1, "1:1"]) == 1  # replayed chunk: skipped
    assert script(keys=keys, args=["8", "7", 0, 1, 1, "1:2"]) == 0  # tick 7 not complete yet
    assert script(keys=keys, args=["7", "", 1, 2, 1, "2:1"]) == 1
    assert apply(8, 7, ["1:2", "2:2"]) is True
    r = get_redis()
    assert r.zscore(mirror.total_key(live.pk), "1") == 2 and r.zscore(mirror.total_key(live.pk), "2") == 2
    assert r.zscore(mirror.month_key(live.pk, march), "1") == 2
    assert r.hget(mirror.meta_key(live.pk), "last_tick") == b"8"


def test_a_killed_tick_redelivered_later_credits_its_own_bucket_and_viewers(
    live: Any, monkeypatch: Any
) -> None:
    """Worker killed mid-credit (nothing committed); the message comes back minutes later."""
    from kickbot.redis_client import get_redis
    from watchtime import credit
    from watchtime.activity import snapshot_key

    for uid in (1, 2):
        chat(live.pk, uid, S0 + 5)
    bucket_ts = T0.timestamp()

    def killed(**kwargs: Any) -> str:
        raise SystemExit("kill -9")  # not an Exception: like a dead process, nothing is caught

    monkeypatch.setattr(credit, "_credit_month", killed)
    with time_machine.travel(S0 + 30, tick=False), pytest.raises(SystemExit):
        watchtime_tick(bucket_ts)
    monkeypatch.undo()
    assert not WatchTick.objects.exists()

    # Six minutes on: viewer 1 left, 3 arrived, the stream ended. The clock's bucket is another one.
    chat(live.pk, 3, S0 + 380)
    live.is_live = False
    live.save(update_fields=["is_live"])
    with time_machine.travel(S0 + 390, tick=False):
        assert watchtime_tick(bucket_ts) == 1
        assert watchtime_tick(bucket_ts) == 0  # a second redelivery: duplicate

    assert [t.bucket for t in WatchTick.objects.all()] == [T0]
    assert (minutes_of(live, 1), minutes_of(live, 2), minutes_of(live, 3)) == (1, 1, 0)
    assert not get_redis().exists(snapshot_key(live.pk, int(bucket_ts)))


def test_beat_s_bare_tick_stamps_the_current_bucket(live: Any, monkeypatch: Any) -> None:
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(watchtime_tick, "delay", lambda *args: sent.append(args))
    with time_machine.travel(S0 + 75, tick=False):
        assert watchtime_tick() == 0
    assert sent == [((T0 + timedelta(minutes=1)).timestamp(),)]


def test_a_dead_worker_s_task_comes_back_before_the_next_hour() -> None:
    from django.conf import settings

    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.CELERY_TASK_TIME_LIMIT < visibility <= 600
