"""kill -9 of the bot mid-replay, and two bots for one community (the lease)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.fakes.kick_chat import BROADCASTER, chat_frame
from tests.faults.harness import RESULTS, Row, RssSampler, World, kill9, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=False, databases=[])]

N_CHAT, N_COMMANDS, N_GIFTS = 400, 40, 20


def gift_webhook(i: int) -> tuple[str, str, bytes]:
    body = {
        "broadcaster": {"is_anonymous": False, "user_id": BROADCASTER, "username": "s", "channel_slug": "s"},
        "gifter": {
            "is_anonymous": False,
            "user_id": 70_000 + i,
            "username": f"gifter{i}",
            "channel_slug": f"g{i}",
        },
        "giftees": [
            {
                "is_anonymous": False,
                "user_id": 80_000 + i * 10 + j,
                "username": f"g{i}x{j}",
                "channel_slug": "x",
            }
            for j in range(2)
        ],
        "created_at": "2026-11-27T01:00:00Z",
        "expires_at": "2026-12-27T01:00:00Z",
    }
    return "channel.subscription.gifts", f"01JGIFT{i:019d}", json.dumps(body).encode()


def replay_frames() -> list[dict]:
    frames = []
    for i in range(N_CHAT):
        if i % (N_CHAT // N_COMMANDS) == 0:
            c = i // (N_CHAT // N_COMMANDS)
            frames.append(chat_frame(f"cmd-{c}", 10_000 + c, f"asker{c}", "!tickets"))
        else:
            frames.append(chat_frame(f"chat-{i}", 20_000 + i % 50, f"chatter{i % 50}", f"hello {i}"))
    return frames


def check(world: World) -> tuple[int, int, int]:
    rep = world.report()
    replies = rep["reply_to"]
    lost = sum(1 for c in range(N_COMMANDS) if replies.get(f"cmd-{c}", 0) == 0)
    doubled = sum(max(0, n - 1) for n in replies.values())
    keys = rep["gift_keys"]
    lost += sum(1 for i in range(N_GIFTS) if not any(k.endswith(f"{i:019d}") for k in keys))
    doubled += len(rep["doubled_gift_keys"])
    handled = sum(min(n, 1) for k, n in replies.items() if k.startswith("cmd-")) + len(set(keys))
    return handled, lost, doubled


def settled(world: World) -> bool:
    _, lost, _ = check(world)
    return lost == 0


def handled_events(world: World) -> int:
    """The bot's own count of handled events (published every second, ``kb:ingest:<community>``)."""
    raw = world.redis().hget(f"{world.prefix}:ingest:{world.community_id}", "events")
    return int(raw or 0)


def dedupe_values(world: World) -> dict[str, bytes]:
    """The community's dedupe keys (without their prefix) and values: ``b"1"`` for an event handled
    and kept, a claim token (``c:…``) for one taken and not yet handled or released."""
    r = world.redis()
    prefix = f"{world.prefix}:dedupe:{world.community_id}:"
    keys = list(r.scan_iter(match=f"{prefix}*", count=1000))
    values = r.mget(keys) if keys else []
    return {k.decode()[len(prefix) :]: v for k, v in zip(keys, values, strict=True) if v}


def handled(world: World, message_id: str) -> bool:
    """Whether a chat message was handled: its dedupe key kept (its reply row is written before)."""
    return dedupe_values(world).get(f"chatid:{message_id}") == b"1"


def held_claims(world: World) -> set[tuple[str, bytes]]:
    return {(k, v) for k, v in dedupe_values(world).items() if v.startswith(b"c:")}


def test_kill_9_mid_replay_then_restart_handles_everything_once(world: World) -> None:
    frames = replay_frames()
    bot = world.start_bot("bot1")
    rss = RssSampler(bot.pid)
    wait_for(lambda: world.pusher.subscribed_connections() == 1, 60)
    half = len(frames) // 2
    sender = threading.Thread(
        target=world.pusher.send_many, args=(frames[:half],), kwargs={"per_second": 100}
    )
    sender.start()
    for i in range(N_GIFTS // 2):
        world.webhook(*gift_webhook(i))
    # Killed once it has handled some of the first half (its own counter, published every second).
    wait_for(lambda: handled_events(world) >= 20, 60, step=0.02)
    kill9(bot)
    killed_at, killed_wall = time.monotonic(), time.time()
    claims = held_claims(world)  # what the dead process had taken and not finished
    peak = rss.stop()
    sender.join(30)
    kept = sorted(k for k, v in dedupe_values(world).items() if k.startswith("chatid:cmd-") and v == b"1")
    assert len(kept) < N_COMMANDS // 2, f"the kill must land before the first half was handled: {kept}"

    bot2 = world.start_bot("bot2")
    rss2 = RssSampler(bot2.pid)
    wait_for(lambda: world.pusher.subscribed_connections() >= 1, 60)
    takeover = time.monotonic() - killed_at
    # Kick re-sends nothing on Pusher; the fake re-sends the whole first half (as an overlap
    # with webhooks would) once the dead process's claims have expired, then the rest.
    wait_for(lambda: not (claims & held_claims(world)), 60, step=0.2)
    world.pusher.send_many(frames, per_second=400)
    for i in range(N_GIFTS // 2 - 3, N_GIFTS):  # three retried deliveries, then the rest
        world.webhook(*gift_webhook(i))
    wait_for(lambda: settled(world), 90, step=1.0)
    # Kill → the last reply or gift written (the database's own time, not when this loop looked).
    recovery = world.report()["last_write_at"] - killed_wall
    handled, lost, doubled = check(world)
    peak = max(peak, rss2.stop())
    RESULTS.append(
        Row("bot kill -9 mid-replay, restart", N_COMMANDS + N_GIFTS, handled, lost, doubled, takeover, peak)
    )
    assert (lost, doubled) == (0, 0)
    assert recovery < 120


def test_two_bots_one_ingests_and_the_standby_takes_over_within_15_s(world: World) -> None:
    a = world.start_bot("a")
    wait_for(lambda: world.pusher.subscribed_connections() == 1, 60)
    b = world.start_bot("b")
    rss = RssSampler(b.pid)
    # b is up and has asked for the lease (it asks again every renewal).
    wait_for(lambda: "stands by" in world.log("b"), 60, step=0.1)
    assert world.pusher.server.open_connections == 1  # exactly one ingests
    connections_before = world.pusher.server.connections_count
    world.pusher.send(chat_frame("cmd-0", 10_000, "asker0", "!tickets"))
    wait_for(lambda: handled(world, "cmd-0"), 30, step=0.1)
    # Still one, though b has kept asking meanwhile.
    assert world.pusher.server.open_connections == 1
    assert "ingesting Kick chat" not in world.log("b")
    kill9(a)
    killed = time.monotonic()
    wait_for(lambda: world.pusher.server.connections_count > connections_before, 30, step=0.1)
    wait_for(lambda: world.pusher.subscribed_connections() >= 1, 30, step=0.1)
    takeover = time.monotonic() - killed
    world.pusher.send(chat_frame("cmd-1", 10_001, "asker1", "!tickets"))
    wait_for(lambda: handled(world, "cmd-1"), 30, step=0.1)
    rep = world.report()["reply_to"]
    assert (rep.get("cmd-0"), rep.get("cmd-1")) == (1, 1), rep
    doubled = sum(max(0, n - 1) for n in rep.values())
    RESULTS.append(
        Row("two bots, holder kill -9 (lease)", 2, len(rep), 2 - len(rep), doubled, takeover, rss.stop())
    )
    assert takeover <= 15
    assert doubled == 0
    del b
