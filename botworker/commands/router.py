"""Turns a Kick chat line into a command call and its reply.

Order: prefix → name (case-insensitive, aliases) → too old? → permission → cooldowns (Redis,
per user and global) → handler → reply. Unknown commands and lines without the prefix are
ignored silently; a refused or failed command gets one short reply.

Time is the message's time: cooldowns compare the messages' own ``created_at`` (clamped to
``[now - 2 min, now]``), not when the bot got to them, so two lines said 4 s apart and delivered
together (a burst, a backlog after an outage) are 4 s apart for a 3 s cooldown. A line refused by a
cooldown is counted (``cooldown_refusals``) and logged, and its sender is told once per window.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from kickbot.commands import Command, CommandRegistry, Invocation, Level, level_from_badges
from kickbot.errors import KickbotError

log = logging.getLogger(__name__)

MAX_LINE = 500  # Kick's own limit on a chat message
# How far a message's own time may lie behind ours and still count as its time (a sender clock ahead
# of ours counts as now): cooldowns and reply deadlines run on the clamped time.
MESSAGE_TIME_WINDOW = timedelta(minutes=2)
# Who a command above EVERYONE is for, by its level: the refusal a viewer below it gets.
_WHO = {
    Level.SUBSCRIBER: "subscribers",
    Level.VIP: "VIPs",
    Level.MODERATOR: "moderators",
    Level.BROADCASTER: "the broadcaster",
}
GENERIC_FAILURE = "Something went wrong there, please try again in a minute."

# KEYS: the cooldown keys; ARGV[1]: the message's time (ms), ARGV[2]: its id, ARGV[2+i]: key i's
# cooldown (ms). A key holds "<time ms>|<message id>" of the last line that took it. Refused (returns
# {i, time of the holder}) when a key's holder is another line said less than its cooldown before or
# after this one; else every key takes this line's time (unless a later line holds it) and 0 returns.
# The same line again (a retry, a redelivery) finds its own mark and passes.
_TAKE = """
local at, mine = tonumber(ARGV[1]), ARGV[2]
local held = {}
for i, k in ipairs(KEYS) do
  local cur = redis.call('GET', k)
  if cur then
    local sep = string.find(cur, '|', 1, true)
    local ts = tonumber(string.sub(cur, 1, sep - 1)) or 0
    held[i] = ts
    if mine == '' or string.sub(cur, sep + 1) ~= mine then
      if math.abs(at - ts) < tonumber(ARGV[2 + i]) then
        return {i, ts}
      end
    end
  end
end
for i, k in ipairs(KEYS) do
  if not held[i] or held[i] <= at then
    redis.call('SET', k, ARGV[1] .. '|' .. mine, 'PX', tonumber(ARGV[2 + i]) + tonumber(ARGV[2 + #KEYS + 1]))
  end
end
return 0
"""
# Frees the keys this line still holds (a refused call costs no cooldown), never another line's.
_RELEASE = """
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 0
"""


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
        self.cooldown_refusals: Counter[int] = Counter()  # per community, since start
        self._scripts: tuple[Any, Any] | None = None  # registered on first use

    def _script(self, which: int) -> Any:
        if self._scripts is None:
            self._scripts = (self.redis.register_script(_TAKE), self.redis.register_script(_RELEASE))
        return self._scripts[which]

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
            return reply(f"{prefix}{cmd.name} is for {_WHO[cmd.level]} only.")
        taken = await self._take_cooldowns(cmd.name, line, at, cmd.user_cooldown_s, cmd.global_cooldown_s)
        if isinstance(taken, float):
            return await self._on_cooldown(cmd, line, prefix, wait_s=taken, reply=reply)
        cooldown_keys, mark = taken
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
            created_at=at,
            prefix=prefix,
        )
        try:
            text = await cmd.handler(inv)
        except KickbotError as exc:
            await self._release(cooldown_keys, mark)  # a refused call does not cost the viewer a cooldown
            return reply(exc.message)
        except Exception:
            log.exception("command !%s failed", cmd.name)
            await self._release(cooldown_keys, mark)
            return reply(GENERIC_FAILURE)
        return reply(text) if text else None

    async def _take_cooldowns(
        self, name: str, line: ChatLine, at: datetime, user_s: int, global_s: int
    ) -> tuple[list[str], str] | float:
        """Take the cooldown keys for this line at its own time ``at``, all or none, in one script call.

        Returns the keys and the mark written in them, or the seconds left of the cooldown that holds.
        """
        wanted: list[tuple[str, int]] = []
        if global_s > 0:
            wanted.append((f"{self.key_prefix}:cd:{line.community_id}:{name}", global_s))
        if user_s > 0:
            wanted.append((f"{self.key_prefix}:cd:{line.community_id}:{name}:{line.user_id}", user_s))
        if not wanted:
            return [], ""
        at_ms = int(at.timestamp() * 1000)
        keys = [k for k, _ in wanted]
        # A key must outlive the latest line that could still be within its cooldown: lines up to
        # MESSAGE_TIME_WINDOW behind ours are still taken at their own time.
        window_ms = int(MESSAGE_TIME_WINDOW.total_seconds() * 1000)
        result = await self._script(0)(
            keys=keys, args=[at_ms, line.message_id, *(s * 1000 for _, s in wanted), window_ms]
        )
        if result == 0:
            return keys, f"{at_ms}|{line.message_id}"
        index, held_ms = int(result[0]), int(result[1])
        return max(0.0, (wanted[index - 1][1] * 1000 - abs(at_ms - held_ms)) / 1000)

    async def _on_cooldown(
        self, cmd: Command, line: ChatLine, prefix: str, *, wait_s: float, reply: Callable[[str], Reply]
    ) -> Reply | None:
        """Counted and logged always; the sender is told once per cooldown window (no reply spam)."""
        self.cooldown_refusals[line.community_id] += 1
        log.info(
            "!%s of user %s refused: on cooldown for %.1f s more (message %s)",
            cmd.name,
            line.user_id,
            wait_s,
            line.message_id[:64],
        )
        if cmd.cooldown_reply is None:
            return None
        window_s = max(cmd.user_cooldown_s, cmd.global_cooldown_s, 1)
        told = f"{self.key_prefix}:cdtold:{line.community_id}:{cmd.name}:{line.user_id}"
        if not await self.redis.set(told, line.message_id or "1", nx=True, ex=window_s):
            return None
        return reply(
            cmd.cooldown_reply.format(
                username=line.username, prefix=prefix, name=cmd.name, wait=max(1, int(wait_s + 0.999))
            )
        )

    async def _release(self, keys: list[str], mark: str) -> None:
        if keys:
            await self._script(1)(keys=keys, args=[mark])
