from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from botworker.commands.router import GENERIC_FAILURE, ChatLine, CommandRouter, message_time, split_command
from kickbot.commands import CommandRegistry, Invocation, Level, command, level_from_badges
from kickbot.errors import InvalidInput
from kickbot.redis_client import get_async_redis

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
async def redis() -> AsyncIterator[object]:
    client = get_async_redis()
    yield client
    await client.aclose()


@pytest.fixture
def reg() -> CommandRegistry:
    r = CommandRegistry()
    calls: list[Invocation] = []

    @command("ping", aliases=("p",), into=r, user_cooldown_s=30)
    async def ping(inv: Invocation) -> str:
        calls.append(inv)
        return f"pong {inv.raw_args}".strip()

    @command("modonly", level=Level.MODERATOR, into=r)
    async def modonly(inv: Invocation) -> str:
        return "done"

    @command("viponly", level=Level.VIP, into=r)
    async def viponly(inv: Invocation) -> str:
        return "done"

    @command("refuse", into=r, user_cooldown_s=30)
    async def refuse(inv: Invocation) -> str:
        raise InvalidInput("That amount is not a number.")

    @command("boom", into=r)
    async def boom(inv: Invocation) -> str:
        raise RuntimeError("secret internals")

    @command("discordonly", platforms=("discord",), into=r)
    async def discordonly(inv: Invocation) -> str:
        return "no"

    @command("global", into=r, user_cooldown_s=0, global_cooldown_s=60)
    async def global_cd(inv: Invocation) -> str:
        return "ok"

    r.calls = calls  # type: ignore[attr-defined]
    return r


_mids = itertools.count(1)


def line(
    content: str, *, user_id: int = 7, badges: tuple[str, ...] = (), age_s: float = 1, mid: str | None = None
) -> ChatLine:
    """A chat line; every line has its own Kick message id unless the test reuses one on purpose."""
    return ChatLine(
        community_id=1,
        message_id=mid or f"m{next(_mids)}",
        user_id=user_id,
        username="viewer",
        content=content,
        badges=badges,
        created_at=NOW - timedelta(seconds=age_s),
    )


def router(reg: CommandRegistry, redis: object) -> CommandRouter:
    return CommandRouter(registry=reg, redis=redis, key_prefix=settings.REDIS_KEY_PREFIX)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("!ping", ("ping", "")),
        ("!PING  hello   world ", ("ping", "hello   world")),
        ("! ping", ("ping", "")),
        ("ping", None),
        ("!", None),
        ("!   ", None),
        ("?ping", None),
    ],
)
def test_split_command(content: str, expected: tuple[str, str] | None) -> None:
    assert split_command(content, "!") == expected


def test_badges_map_to_the_highest_level() -> None:
    assert level_from_badges([]) == Level.EVERYONE
    assert level_from_badges(["subscriber", "moderator"]) == Level.MODERATOR
    assert level_from_badges(["Broadcaster"]) == Level.BROADCASTER
    assert level_from_badges(["weird-new-badge"]) == Level.EVERYONE


async def test_command_gets_a_reply_to_its_message(reg: CommandRegistry, redis: object) -> None:
    reply = await router(reg, redis).handle(line("!PING there", mid="abc"), prefix="!", now=NOW)
    assert reply is not None
    assert (reply.text, reply.reply_to_message_id, reply.command) == ("pong there", "abc", "ping")


async def test_alias_and_case_insensitive(reg: CommandRegistry, redis: object) -> None:
    reply = await router(reg, redis).handle(line("!P"), prefix="!", now=NOW)
    assert reply is not None and reply.command == "ping"


@pytest.mark.parametrize("content", ["hello", "!unknown", "!discordonly", "", "!" + "x" * 600])
async def test_non_commands_are_ignored(reg: CommandRegistry, redis: object, content: str) -> None:
    assert await router(reg, redis).handle(line(content), prefix="!", now=NOW) is None


async def test_user_cooldown_holds_and_is_per_user(reg: CommandRegistry, redis: object) -> None:
    r = router(reg, redis)
    assert await r.handle(line("!ping", user_id=1), prefix="!", now=NOW) is not None
    refused = await r.handle(line("!ping", user_id=1), prefix="!", now=NOW)
    assert refused is not None and refused.text == "@viewer slow down: !ping again in 30 s."
    assert await r.handle(line("!ping", user_id=2), prefix="!", now=NOW) is not None
    assert len(reg.calls) == 2  # type: ignore[attr-defined]
    assert r.cooldown_refusals[1] == 1


async def test_a_cooldown_refusal_is_told_once_per_window_and_always_counted(
    reg: CommandRegistry, redis: object, caplog: pytest.LogCaptureFixture
) -> None:
    r = router(reg, redis)
    assert await r.handle(line("!ping", user_id=1, age_s=10), prefix="!", now=NOW) is not None
    told = [await r.handle(line("!ping", user_id=1, age_s=9 - i), prefix="!", now=NOW) for i in range(5)]
    assert [t is not None for t in told] == [True, False, False, False, False]
    assert r.cooldown_refusals[1] == 5
    assert sum("refused: on cooldown" in rec.message for rec in caplog.records) == 5
    assert len(reg.calls) == 1  # type: ignore[attr-defined]


async def test_cooldowns_use_the_messages_own_time_not_the_delivery_time(
    reg: CommandRegistry, redis: object
) -> None:
    """Two lines said 31 s apart and delivered in one burst: both are outside a 30 s cooldown."""
    r = router(reg, redis)
    assert await r.handle(line("!ping", user_id=1, age_s=40), prefix="!", now=NOW) is not None
    assert await r.handle(line("!ping", user_id=1, age_s=9), prefix="!", now=NOW) is not None
    assert len(reg.calls) == 2  # type: ignore[attr-defined]
    # ... while two said 29 s apart are inside it, however far apart they arrive
    first = await r.handle(line("!ping", user_id=3, age_s=50), prefix="!", now=NOW)
    assert first is not None and first.text == "pong"
    later = NOW + timedelta(seconds=60)
    wait = await r.handle(line("!ping", user_id=3, age_s=21), prefix="!", now=later)
    assert wait is not None and wait.text == "@viewer slow down: !ping again in 1 s."
    assert len(reg.calls) == 3  # type: ignore[attr-defined]


async def test_a_line_arriving_after_a_later_one_is_held_to_the_same_cooldown(
    reg: CommandRegistry, redis: object
) -> None:
    r = router(reg, redis)
    assert await r.handle(line("!ping", user_id=1, age_s=5), prefix="!", now=NOW) is not None
    late_earlier = await r.handle(line("!ping", user_id=1, age_s=20), prefix="!", now=NOW)
    assert late_earlier is not None and late_earlier.text.startswith("@viewer slow down")
    assert len(reg.calls) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("age_s", "expected_age_s"),
    [(0, 0), (30, 30), (119, 119), (-30, 0)],  # a sender clock ahead: now
)
async def test_the_invocation_and_the_reply_carry_the_clamped_message_time(
    reg: CommandRegistry, redis: object, age_s: float, expected_age_s: float
) -> None:
    reply = await router(reg, redis).handle(line("!ping", age_s=age_s), prefix="!", now=NOW)
    assert reply is not None and reply.said_at == NOW - timedelta(seconds=expected_age_s)
    assert reg.calls[-1].created_at == NOW - timedelta(seconds=expected_age_s)  # type: ignore[attr-defined]


def test_message_time_is_clamped_to_the_last_two_minutes() -> None:
    assert message_time(NOW - timedelta(minutes=5), NOW) == NOW - timedelta(minutes=2)
    assert message_time(NOW + timedelta(minutes=5), NOW) == NOW
    assert message_time(NOW - timedelta(seconds=3), NOW) == NOW - timedelta(seconds=3)


async def test_the_same_line_retried_finds_its_own_cooldown(reg: CommandRegistry, redis: object) -> None:
    """A retry (redis-py resending a SET whose answer was lost, the pipeline resuming after a Redis
    outage) must not take the line's own cooldown for someone else's and drop the command."""
    r = router(reg, redis)
    first = line("!ping", user_id=1, mid="kick-msg-1")
    assert await r.handle(first, prefix="!", now=NOW) is not None
    assert await r.handle(first, prefix="!", now=NOW) is not None  # the same message again
    waits = await r.handle(line("!ping", user_id=1), prefix="!", now=NOW)  # a new one waits
    assert waits is not None and waits.text.startswith("@viewer slow down")
    assert len(reg.calls) == 2  # type: ignore[attr-defined]


async def test_global_cooldown_holds_for_everyone(reg: CommandRegistry, redis: object) -> None:
    r = router(reg, redis)
    assert await r.handle(line("!global", user_id=1), prefix="!", now=NOW) is not None
    refused = await r.handle(line("!global", user_id=2), prefix="!", now=NOW)
    assert refused is not None and refused.text == "@viewer slow down: !global again in 60 s."


async def test_refused_command_replies_and_does_not_cost_a_cooldown(
    reg: CommandRegistry, redis: object
) -> None:
    r = router(reg, redis)
    first = await r.handle(line("!refuse"), prefix="!", now=NOW)
    assert first is not None and first.text == "That amount is not a number."
    second = await r.handle(line("!refuse"), prefix="!", now=NOW)
    assert second is not None  # not swallowed by a cooldown


async def test_crashing_command_gets_a_generic_reply_without_internals(
    reg: CommandRegistry, redis: object
) -> None:
    reply = await router(reg, redis).handle(line("!boom"), prefix="!", now=NOW)
    assert reply is not None and reply.text == GENERIC_FAILURE
    assert "secret" not in reply.text


@pytest.mark.parametrize(
    ("badges", "allowed"), [((), False), (("vip",), False), (("moderator",), True), (("broadcaster",), True)]
)
async def test_permission_levels(
    reg: CommandRegistry, redis: object, badges: tuple[str, ...], allowed: bool
) -> None:
    reply = await router(reg, redis).handle(line("!modonly", badges=badges), prefix="!", now=NOW)
    assert reply is not None
    assert (reply.text == "done") is allowed
    if not allowed:
        assert reply.text == "!modonly is for moderators only."


@pytest.mark.parametrize(
    ("badges", "allowed"),
    [((), False), (("subscriber",), False), (("vip",), True), (("moderator",), True)],
)
async def test_a_vip_command_refuses_with_the_vip_message_and_lets_vips_through(
    reg: CommandRegistry, redis: object, badges: tuple[str, ...], allowed: bool
) -> None:
    reply = await router(reg, redis).handle(line("!viponly", badges=badges), prefix="!", now=NOW)
    assert reply is not None
    assert reply.text == ("done" if allowed else "!viponly is for VIPs only.")


async def test_stale_commands_are_ignored(reg: CommandRegistry, redis: object) -> None:
    assert await router(reg, redis).handle(line("!ping", age_s=600), prefix="!", now=NOW) is None


async def test_other_prefix(reg: CommandRegistry, redis: object) -> None:
    r = router(reg, redis)
    assert await r.handle(line("!ping"), prefix="?", now=NOW) is None
    assert await r.handle(line("?ping", user_id=99), prefix="?", now=NOW) is not None


async def test_builtin_commands_lists_what_the_user_may_run(redis: object) -> None:
    from kickbot.commands import autodiscover, registry

    autodiscover()
    r = CommandRouter(registry=registry, redis=redis, key_prefix=settings.REDIS_KEY_PREFIX)  # type: ignore[arg-type]
    reply = await r.handle(line("!commands"), prefix="!", now=NOW)
    assert reply is not None and reply.text.startswith("Commands: ")
    assert "!commands" in reply.text


def test_registry_refuses_a_taken_name() -> None:
    r = CommandRegistry()

    @command("one", aliases=("x",), into=r)
    async def one(inv: Invocation) -> str:
        return ""

    with pytest.raises(ValueError, match="taken"):

        @command("two", aliases=("x",), into=r)
        async def two(inv: Invocation) -> str:
            return ""

    with pytest.raises(ValueError, match="bad command name"):

        @command("Bad Name", into=r)
        async def bad(inv: Invocation) -> str:
            return ""
