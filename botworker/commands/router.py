"""Turns a Kick chat line into a command call and its reply.

Order: prefix → name (case-insensitive, aliases) → too old? → permission → cooldowns (Redis,
per user and global) → handler → reply. Unknown commands and lines without the prefix are
ignored silently; a refused or failed command gets one short reply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from botworker.commands.registry import CommandRegistry, Invocation, Level, level_from_badges
from kickbot.errors import KickbotError

log = logging.getLogger(__name__)

MAX_LINE = 500  # Kick's own limit on a chat message
# How far a message's own time may lie behind ours and still count as its time (a sender clock ahead
# of ours counts as now): cooldowns and reply deadlines run on the clamped time.
MESSAGE_TIME_WINDOW = timedelta(minutes=2)
_WHO = {Level.MODERATOR: "moderators", Level.BROADCASTER: "the broadcaster", Level.VIP: "VIPs"}
GENERIC_FAILURE = "Something went wrong there, please try again in a minute."


@dataclass(frozen=True, slots=True)
class ChatLine:
    """What the router needs of a chat message (built from a ChatEvent)."""

    community_id: int
    message_id: str
    user_id: int
    username: str
    content: str
    badges: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    reply_to_message_id: str | None
    command: str
    said_at: datetime | None = None  # the command's own time (clamped): the reply's age counts from it


def message_time(created_at: datetime, now: datetime) -> datetime:
    """A message's own time, clamped to ``[now - 2 min, now]``."""
    return min(now, max(created_at, now - MESSAGE_TIME_WINDOW))


def split_command(content: str, prefix: str) -> tuple[str, str] | None:
    """``("!SR  book of dead", "!")`` → ``("sr", "book of dead")``; None when not a command."""
    if not content.startswith(prefix):
        return None
    body = content[len(prefix) :].strip()
    if not body:
        return None
    name, _, rest = body.partition(" ")
    return name.lower(), rest.strip()


class CommandRouter:
    def __init__(
        self,
        *,
        registry: CommandRegistry,
        redis: aioredis.Redis,
        key_prefix: str,
        max_age_s: float = 120.0,
    ) -> None:
        self.registry = registry
        self.redis = redis
        self.key_prefix = key_prefix
        self.max_age_s = max_age_s

    async def handle(self, line: ChatLine, *, prefix: str, now: datetime | None = None) -> Reply | None:
        parsed = split_command(line.content[:MAX_LINE], prefix)
        if parsed is None:
            return None
        name, raw_args = parsed
        cmd = self.registry.resolve(name)
        if cmd is None or "kick" not in cmd.platforms:
            return None
        now = now or datetime.now(UTC)
        if (now - line.created_at).total_seconds() > self.max_age_s:
            log.info("ignored stale !%s (%.0f s old)", cmd.name, (now - line.created_at).total_seconds())
            return None
        level = level_from_badges(line.badges)
        at = message_time(line.created_at, now)

        def reply(text: str) -> Reply:
            return Reply(text=text, reply_to_message_id=line.message_id, command=cmd.name, said_at=at)

        if level < cmd.level:
            who = {Level.MODERATOR: "moderators", Level.BROADCASTER: "the broadcaster"}.get(
                cmd.level, "subscribers"
            )
            return reply(f"{prefix}{cmd.name} is for {who} only.")
        cooldown_keys = await self._take_cooldowns(cmd.name, line, cmd.user_cooldown_s, cmd.global_cooldown_s)
        if cooldown_keys is None:
            return None  # on cooldown: stay quiet, a reply would be spam too
        inv = Invocation(
            community_id=line.community_id,
            platform="kick",
            name=cmd.name,
            args=tuple(raw_args.split()),
            raw_args=raw_args,
            user_id=line.user_id,
            username=line.username,
            level=level,
            message_id=line.message_id,
            created_at=line.created_at,
            prefix=prefix,
        )
        try:
            text = await cmd.handler(inv)
        except KickbotError as exc:
            await self._release(cooldown_keys)  # a refused call does not cost the viewer a cooldown
            return reply(exc.message)
        except Exception:
            log.exception("command !%s failed", cmd.name)
            await self._release(cooldown_keys)
            return reply(GENERIC_FAILURE)
        return reply(text) if text else None

    async def _take_cooldowns(
        self, name: str, line: ChatLine, user_s: int, global_s: int
    ) -> list[str] | None:
        """Claim the cooldown keys atomically enough: SET NX per key; None if any was held."""
        wanted: list[tuple[str, int]] = []
        if global_s > 0:
            wanted.append((f"{self.key_prefix}:cd:{line.community_id}:{name}", global_s))
        if user_s > 0:
            wanted.append((f"{self.key_prefix}:cd:{line.community_id}:{name}:{line.user_id}", user_s))
        taken: list[str] = []
        for key, ttl in wanted:
            # The value is the message id: a retry of this same line (a lost answer retried by redis-py,
            # or the pipeline resuming after a Redis outage) finds its own cooldown, not someone else's.
            mine = line.message_id.encode() or b"1"
            if await self.redis.set(key, mine, nx=True, ex=ttl) or (
                line.message_id and await self.redis.get(key) == mine
            ):
                taken.append(key)
            else:
                await self._release(taken)
                return None
        return taken

    async def _release(self, keys: list[str]) -> None:
        if keys:
            await self.redis.delete(*keys)
