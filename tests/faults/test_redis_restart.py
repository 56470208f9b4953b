"""Redis restarted (killed, back empty) while the bot ingests chat: the bot recovers by itself and
``/healthz`` says what happened.

A private Redis (``tests/faults/redis_server.py``) is SIGKILLed in the middle of a steady chat stream
with commands, kept down for ``DOWN_S`` seconds and started again with none of its data: the lease,
dedupe claims, cooldowns, the webhook stream and its group, the ingestion stats are gone. Chat keeps
coming all along. Gift webhooks: some before the crash, some refused while Redis is down (the web
process answers 503 and Kick retries them afterwards), and one delivered again after the restart
(Kick retrying a delivery it already got through: nothing in Redis remembers it any more).

Checks: the same bot process, never restarted, is ingesting again within 30 s of Redis coming back
(a command sent after the restart is answered); every command (sent before, during and after the
outage) has exactly one reply and every gift exactly one ledger entry; every chat line was handled
once (the bot's own event counter); the Pusher connection was never dropped; ``/healthz`` shows
``redis.last_outage`` (start, end, seconds, events delayed, none dropped) and the dashboard's report
the channel's share.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.fakes.kick_chat import chat_frame
from tests.faults.harness import RESULTS, Row, RssSampler, wait_for
from tests.faults.redis_server import PrivateRedisWorld, RedisServer
from tests.faults.test_bot_faults import gift_webhook, handled_events

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=False, databases=[])]

FRAMES_PER_S = 10
COMMAND_EVERY = 5  # every fifth line is a command from a viewer of its own: 2 commands a second
STEADY_EVENTS = 50  # handled before the crash (the bot's own counter): about 5 s of chat
DOWN_S = 8.0  # the outage itself: longer than the lease's "cannot confirm" limit (ttl 10 s - renew 3 s = 7 s)
AFTER_COMMANDS = 10  # commands sent after Redis is back (about 5 s of chat)
RECOVERY_LIMIT_S = 30.0
GIFTS_BEFORE, GIFTS_DURING = range(4), range(4, 7)
SHELL = "import tests.faults.redis_server as r; r.{}()"


@pytest.fixture
def rworld(tmp_path: Path) -> Iterator[PrivateRedisWorld]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        w = PrivateRedisWorld(tmp=tmp_path, server=server)
    except BaseException:
        server.stop()
        raise
    try:
        w.setup()
        yield w
    finally:
        w.close()  # kills the bot, then stops the server


class Chat(threading.Thread):
    """The fake Kick's chat: FRAMES_PER_S lines a second until stopped; remembers what it sent when."""

    def __init__(self, world: PrivateRedisWorld) -> None:
        super().__init__(daemon=True)
        self.world = world
        self.stopped = threading.Event()
        self.sent: list[tuple[str, bool, float]] = []  # (message id, is a command, wall time sent)
        self.error: BaseException | None = None

    def run(self) -> None:
        i = 0
        start = time.monotonic()
        try:
            while not self.stopped.is_set():
                if i % COMMAND_EVERY == 0:
                    mid, frame = f"cmd-{i}", chat_frame(f"cmd-{i}", 100_000 + i, f"asker{i}", "!tickets")
                else:
                    mid, frame = (
                        f"line-{i}",
                        chat_frame(f"line-{i}", 200_000 + i % 40, f"chatter{i % 40}", f"hi {i}"),
                    )
                self.world.pusher.send(frame)
                self.sent.append((mid, mid.startswith("cmd-"), time.time()))
                i += 1
                ahead = start + i / FRAMES_PER_S - time.monotonic()
                if ahead > 0:
                    self.stopped.wait(ahead)
        except BaseException as exc:  # the test reports it
            self.error = exc

    def stop(self) -> None:
        self.stopped.set()
        self.join(30)


def deliver(world: PrivateRedisWorld, i: int) -> bool:
    """What the web process does with a verified gift delivery; False when Redis refused (503)."""
    try:
        world.webhook(*gift_webhook(i))
    except redis.ConnectionError:
        return False
    return True


def test_redis_restart_mid_stream_bot_recovers_and_healthz_tells(rworld: PrivateRedisWorld) -> None:
    world, server = rworld, rworld.server
    assert server is not None
    bot = world.start_bot("bot")
    rss = RssSampler(bot.pid)
    wait_for(lambda: world.pusher.subscribed_connections() == 1, 60)
    chat = Chat(world)
    try:
        chat.start()
        for i in GIFTS_BEFORE:
            assert deliver(world, i)
        # Crash once the bot is ingesting steadily: lines, gifts and commands handled, replies written.
        wait_for(lambda: handled_events(world) >= STEADY_EVENTS, 60, step=0.1)

        server.kill()
        killed_at = time.time()
        refused = [i for i in GIFTS_DURING if not deliver(world, i)]
        assert refused == list(GIFTS_DURING)  # the web process answers 503: Kick retries later
        time.sleep(DOWN_S)
        server.start()
        up_at = time.time()
        for i in refused:  # Kick's retries
            assert deliver(world, i)
        assert deliver(world, GIFTS_BEFORE[0])  # a delivery Kick retries although it got through
        # Chat goes on after the restart until enough commands were said since (the check below).
        wait_for(
            lambda: sum(1 for _, is_cmd, at in list(chat.sent) if is_cmd and at > up_at) >= AFTER_COMMANDS, 60
        )
    finally:
        chat.stop()
    assert chat.error is None, chat.error
    assert not chat.is_alive()

    commands = [mid for mid, is_cmd, _ in chat.sent if is_cmd]
    after = [mid for mid, is_cmd, at in chat.sent if is_cmd and at > up_at]
    during = [mid for mid, is_cmd, at in chat.sent if is_cmd and killed_at <= at <= up_at]
    assert len(during) >= 10 and len(after) >= AFTER_COMMANDS

    def answered() -> dict[str, Any]:
        return dict(world.shell(SHELL.format("report")))

    def settled() -> bool:
        rep = answered()
        return (
            all(mid in rep["replies"] for mid in commands)
            and len(set(rep["gift_keys"])) >= 7
            and (rep["ingest"] or {}).get("events", 0) >= len(chat.sent) + 7
        )

    with contextlib.suppress(TimeoutError):  # what is missing then is counted as lost below
        wait_for(settled, RECOVERY_LIMIT_S + 30, step=1.0)
    rep = answered()
    replies, keys = rep["replies"], rep["gift_keys"]
    answered_after = [replies[mid]["first_at"] for mid in after if mid in replies]
    recovery = min(answered_after) - up_at if answered_after else None  # None: never recovered
    lost = sum(1 for mid in commands if mid not in replies)
    lost += sum(1 for i in range(7) if not any(k.endswith(f"{i:019d}") for k in keys))
    doubled = sum(max(0, r["n"] - 1) for r in replies.values()) + len(rep["doubled_gift_keys"])
    handled = sum(1 for mid in commands if mid in replies) + len(set(keys))
    peak = rss.stop()
    RESULTS.append(
        Row(
            f"Redis SIGKILL, {DOWN_S:.0f} s down, back empty",
            len(commands) + 7,
            handled,
            lost,
            doubled,
            recovery,
            peak,
        )
    )

    assert bot.poll() is None  # the same process all along: nobody restarted it
    assert world.pusher.server.connections_count == 1  # chat was read through the outage, not dropped
    assert (lost, doubled) == (0, 0)
    assert recovery is not None and 0 < recovery <= RECOVERY_LIMIT_S
    # every chat line handled once: the bot's own counter, published again after the restart
    assert rep["ingest"]["events"] == len(chat.sent) + 7

    health = world.shell(SHELL.format("healthz"))
    assert health["status"] == 200
    outage = health["public"]["redis"]["last_outage"]
    assert outage is not None, health
    down_for = up_at - killed_at
    assert down_for - 1 <= outage["seconds"] <= down_for + 10, (down_for, outage)
    assert outage["events_dropped"] == 0
    assert outage["events_delayed"] >= len(during)
    assert outage["error"] == "ConnectionError"
    channel = health["detail"]["kick"]["streamer"]["outage"]
    assert channel["events_dropped"] == 0 and channel["events_delayed"] >= len(during)
    assert "streamer" not in str(health["public"])  # the public endpoint names no channel
