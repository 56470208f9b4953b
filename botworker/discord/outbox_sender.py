"""Sends the outbox's Discord rows: claim (conditional UPDATE), send, mark sent or failed.

Kick chat rows are left for the Kick sender. A send that fails for good (missing channel,
no permission, bad payload) is not retried; transient errors back off (see ``outbox_mark_failed``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

import discord

from botworker.aio import wait_any
from botworker.discord.common import NO_MENTIONS, role_facts
from kickbot.bridge import run_sync
from outbox.models import OutboxMessage
from outbox.services import DISCORD_KINDS, OutboxItem, outbox_claim, outbox_mark_failed, outbox_mark_sent
from watchtime.roles import dangerous_permissions, watch_role_grant_refused

log = logging.getLogger(__name__)


_BAD_PAYLOAD = (LookupError, ValueError, TypeError)


class PermanentFailure(Exception):
    """The row can never be sent as it is."""


def default_worker_id() -> str:
    return f"discord:{socket.gethostname()}:{os.getpid()}"


class DiscordOutboxSender:
    def __init__(
        self, client: discord.Client, *, worker_id: str | None = None, interval: float = 1.0, batch: int = 20
    ) -> None:
        self.client = client
        self.worker_id = worker_id or default_worker_id()
        self.interval = interval
        self.batch = batch

    async def run(self, stop_event: asyncio.Event) -> None:
        """Poll every ``interval`` seconds until ``stop_event`` is set."""
        while not stop_event.is_set():
            if self.client.is_ready():
                try:
                    await self.run_once()
                except Exception:
                    log.exception("outbox pass failed")
            await wait_any(stop_event, seconds=self.interval)

    async def run_once(self) -> int:
        """Claim and deliver one batch; returns how many rows were sent."""
        items = await run_sync(outbox_claim)(worker_id=self.worker_id, limit=self.batch, kinds=DISCORD_KINDS)
        sent = 0
        for item in items:
            sent += await self.deliver(item)
        return sent

    async def deliver(self, item: OutboxItem) -> bool:
        try:
            await self.send(item)
        except (discord.Forbidden, discord.NotFound, PermanentFailure, *_BAD_PAYLOAD) as exc:
            await self._failed(item, exc, retry=False)
            return False
        except (discord.HTTPException, discord.GatewayNotFound, OSError, TimeoutError) as exc:
            await self._failed(item, exc, retry=True)
            return False
        if not await run_sync(outbox_mark_sent)(message_id=item.id, worker_id=self.worker_id):
            log.warning("outbox message %s was sent after its claim was lost", item.id)
        return True

    async def _failed(self, item: OutboxItem, exc: BaseException, *, retry: bool) -> None:
        status = getattr(exc, "status", "")
        error = f"{type(exc).__name__} {status}".strip()
        log.warning("outbox message %s (%s) failed: %s", item.id, item.kind, error)
        await run_sync(outbox_mark_failed)(
            message_id=item.id, worker_id=self.worker_id, error=error, retry=retry
        )

    async def send(self, item: OutboxItem) -> None:
        payload = item.payload
        target = int(item.target)
        if item.kind == OutboxMessage.Kind.DISCORD_MESSAGE:
            content, embeds = _message_parts(payload)
            if payload.get("dm"):
                user = self.client.get_user(target) or await self.client.fetch_user(target)
                await user.send(content=content, embeds=embeds, allowed_mentions=NO_MENTIONS)
            else:
                channel = await self._channel(item, target)
                await channel.send(content=content, embeds=embeds, allowed_mentions=NO_MENTIONS)
        elif item.kind == OutboxMessage.Kind.DISCORD_EDIT:
            channel = await self._channel(item, target)
            content, embeds = _message_parts(payload)
            message = channel.get_partial_message(int(payload["message_id"]))
            await message.edit(content=content, embeds=embeds, allowed_mentions=NO_MENTIONS)
        elif item.kind in (OutboxMessage.Kind.DISCORD_ROLE_ADD, OutboxMessage.Kind.DISCORD_ROLE_REMOVE):
            await self._role(item, user_id=target)
        else:
            raise PermanentFailure(f"not a Discord kind: {item.kind}")

    async def _channel(self, item: OutboxItem, channel_id: int) -> Any:
        channel = self.client.get_channel(channel_id) or await self.client.fetch_channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread | discord.VoiceChannel):
            raise PermanentFailure("target is not a text channel")
        # A community's messages only go to its own guild (docs/lessons.md #11).
        if item.guild_id is not None and channel.guild.id != item.guild_id:
            raise PermanentFailure("channel belongs to another guild")
        return channel

    async def _role(self, item: OutboxItem, *, user_id: int) -> None:
        guild_id = int(item.payload["guild_id"])
        if item.guild_id is not None and guild_id != item.guild_id:
            raise PermanentFailure("role change for another guild")
        guild = self.client.get_guild(guild_id)
        if guild is None:
            raise PermanentFailure("bot is not in that guild")
        role = guild.get_role(int(item.payload["role_id"]))
        if role is None:
            raise PermanentFailure("role not found")
        if item.kind == OutboxMessage.Kind.DISCORD_ROLE_ADD and dangerous_permissions(role.permissions.value):
            # The last gate, whoever queued the grant: the role's permissions as Discord has them now.
            if item.community_id is not None:
                await run_sync(watch_role_grant_refused)(
                    community_id=item.community_id,
                    role=role_facts(role, guild),
                    discord_user_id=user_id,
                    notify_user_id=guild.owner_id,
                )
            raise PermanentFailure("role has a dangerous permission")
        member = guild.get_member(user_id) or await guild.fetch_member(user_id)
        reason = str(item.payload.get("reason", "kickbot"))[:200]
        if item.kind == OutboxMessage.Kind.DISCORD_ROLE_ADD:
            await member.add_roles(role, reason=reason)
        else:
            await member.remove_roles(role, reason=reason)


def _message_parts(payload: dict[str, Any]) -> tuple[str | None, list[discord.Embed]]:
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        raise PermanentFailure("content is not text")
    embeds = [discord.Embed.from_dict(e) for e in payload.get("embeds", [])]
    if not content and not embeds:
        raise PermanentFailure("empty message")
    return (content[:2000] if content else None), embeds[:10]
