"""The real bot process (``runbot``) against the fake Kick (Pusher + HTTP API) at Kick's own pacing:
frames sent back to back, time carried by the messages' own timestamps.

* Two ``!gtb`` guesses said 4 s apart and delivered together: the later stands, with a reply; a
  guess changed inside the 3 s cooldown is answered, not dropped.
* Kick's API down, then back: replies Kick never received are retried; none older than its TTL
  reaches chat, fresh ones do.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fakes.kick_chat import chat_frame
from tests.faults.harness import World, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=False, databases=[])]


def shell(world: World, call: str) -> dict[str, Any]:
    return dict(world.shell(f"import tests.faults.replies_world as w; w.{call}"))


def until(world: World, predicate: Any, within_s: float, step: float = 0.5) -> None:
    """wait_for, failing with what the bot logged and what Kick received."""
    try:
        wait_for(predicate, within_s, step)
    except TimeoutError:
        raise AssertionError(
            f"not within {within_s} s; Kick chat got {world.kick.fake.chat}\n"
            f"bot log:\n{world.log('bot')[-4000:]}"
        ) from None


def replies_to(world: World) -> list[str]:
    """The message ids the bot's Kick chat lines answered, in the order the fake Kick API got them."""
    return [str(c["reply_to_message_id"]) for c in list(world.kick.fake.chat) if c.get("reply_to_message_id")]


def test_two_guesses_4s_apart_delivered_together_the_later_stands_with_a_reply(world: World) -> None:
    shell(world, "gtb_open()")
    world.start_bot()
    wait_for(lambda: world.pusher.subscribed_connections() == 1, 60)
    now = datetime.now(UTC)
    frames = [
        # viewer 1: 1,500 then 1,600 said 4 s later, in one burst (ms apart)
        chat_frame("g1-a", 9001, "guesser1", "!gtb 1500", when=now - timedelta(seconds=5)),
        chat_frame("g1-b", 9001, "guesser1", "!gtb 1600", when=now - timedelta(seconds=1)),
        # viewer 2, the adversary of the order: the later guess arrives first
        chat_frame("g2-b", 9002, "guesser2", "!gtb 2600", when=now - timedelta(seconds=1)),
        chat_frame("g2-a", 9002, "guesser2", "!gtb 2500", when=now - timedelta(seconds=5)),
        # viewer 3, the adversary of the cooldown: a change said 1 s later is refused, and told so
        chat_frame("g3-a", 9003, "guesser3", "!gtb 3500", when=now - timedelta(seconds=2)),
        chat_frame("g3-b", 9003, "guesser3", "!gtb 3600", when=now - timedelta(seconds=1)),
    ]
    world.pusher.send_many(frames)
    ids = [f["data"]["id"] for f in frames]
    until(world, lambda: sorted(replies_to(world)) == sorted(ids), 60)

    guesses = shell(world, "gtb_report()")
    assert guesses["9001"] == {"amount_cents": 1600_00, "message_id": "g1-b"}
    assert guesses["9002"] == {"amount_cents": 2600_00, "message_id": "g2-b"}
    assert guesses["9003"] == {"amount_cents": 3500_00, "message_id": "g3-a"}
    said = {
        str(c["reply_to_message_id"]): str(c["content"])
        for c in world.kick.fake.chat
        if c.get("reply_to_message_id")
    }
    assert said["g1-a"] == "Guess saved: $1,500"
    assert said["g1-b"] == "Guess changed to $1,600 (was $1,500)"
    assert said["g2-b"] == "Guess saved: $2,600"
    assert said["g2-a"] == "Your later guess of $2,600 stands."
    assert said["g3-b"].startswith("@guesser3 your guess was not changed")
    assert len(replies_to(world)) == len(ids)  # one reply each, no more


TTL_S = 20


def test_kick_api_down_then_back_no_reply_older_than_its_ttl_reaches_chat(world: World) -> None:
    """The API refuses connections for the outage; the bot keeps reading chat. Time is moved by the
    messages' own timestamps (a backlog said up to ~2 minutes earlier), with the reply TTL shortened
    to 20 s so the outage outlives it in real time too."""
    world.extra_env["KICK_REPLY_TTL_SECONDS"] = str(TTL_S)
    world.start_bot()
    wait_for(lambda: world.pusher.subscribed_connections() == 1, 60)
    world.pusher.send(chat_frame("up-1", 8000, "early", "!commands"))
    until(world, lambda: replies_to(world) == ["up-1"], 30)

    world.kick.stop()  # connection refused from here on
    now = datetime.now(UTC)
    during = [chat_frame(f"down-{i}", 8100 + i, f"viewer{i}", "!commands", when=now) for i in range(3)]
    # a backlog Kick delivers in one burst, said 30 s to 115 s ago: run, but too old to answer
    backlog = [
        chat_frame(f"old-{i}", 8200 + i, f"late{i}", "!commands", when=now - timedelta(seconds=30 + 40 * i))
        for i in range(3)
    ]
    world.pusher.send_many(during + backlog)

    def report() -> dict[str, Any]:
        return shell(world, "replies_report()")

    # Refused at connect: retried (a second attempt), never failed for good.
    until(world, lambda: any(r["attempts"] >= 2 for k, r in report().items() if k.startswith("down-")), 60, 1)
    rows = report()
    assert all(rows[f"down-{i}"]["status"] in {"pending", "sending"} for i in range(3)), rows
    assert all(rows[f"down-{i}"]["last_error"].startswith("not sent") for i in range(3)), rows
    # The outage outlasts their TTL: they expire unsent. The backlog's replies never even try.
    until(world, lambda: all(r["status"] == "expired" for k, r in report().items() if k != "up-1"), 90, 1)
    rows = report()
    assert all(rows[f"old-{i}"]["attempts"] == 0 for i in range(3)), rows

    world.kick.start()  # Kick is back
    back = datetime.now(UTC)
    after = [chat_frame(f"back-{i}", 8300 + i, f"returner{i}", "!commands", when=back) for i in range(3)]
    world.pusher.send_many(after)
    until(world, lambda: all(report().get(f"back-{i}", {}).get("status") == "sent" for i in range(3)), 60, 1)

    assert sorted(replies_to(world)) == sorted(["up-1", "back-0", "back-1", "back-2"])
    # Every line that reached chat did so within its TTL of the command it answers.
    offset = time.time() - time.monotonic()
    said_at = {"up-1": None, **{f"back-{i}": back for i in range(3)}}
    for body, got_mono in zip(world.kick.fake.chat, world.kick.chat_times, strict=True):
        when = said_at[str(body.get("reply_to_message_id"))]
        if when is not None:
            assert got_mono + offset - when.timestamp() <= TTL_S
    rows = report()
    assert {k: r["status"] for k, r in rows.items()} == {
        "up-1": "sent",
        **{f"down-{i}": "expired" for i in range(3)},
        **{f"old-{i}": "expired" for i in range(3)},
        **{f"back-{i}": "sent" for i in range(3)},
    }
