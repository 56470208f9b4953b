"""A fake Discord on 127.0.0.1: the REST API and the gateway websocket the real discord.py speaks.

The real ``KickbotBot`` (in-process, or ``runbot`` as a process) logs in against it with
``DISCORD_API_BASE_URL`` pointing here: ``GET /gateway/bot`` hands it this server's websocket,
which says HELLO, answers IDENTIFY with READY and one GUILD_CREATE, and acknowledges heartbeats.
A test then types a message (``MESSAGE_CREATE`` built from gateway payload dicts, exactly what
Discord sends) and waits for what the bot does over REST: messages posted, roles given.

State is small and explicit: one guild with roles (with permission bits), text channels and
members. Role changes the bot makes are applied to the member and announced back with
GUILD_MEMBER_UPDATE, as Discord does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

TOKEN = "fake-discord-bot-token"
_ids = itertools.count(1_300_000_000_000_000_000)
NOW = "2026-12-01T12:00:00.000000+00:00"


def snowflake() -> int:
    return next(_ids)


@dataclass
class Role:
    id: int
    name: str
    position: int
    permissions: int = 0
    managed: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "hoist": False,
            "color": 0,
            "flags": 0,
        }


@dataclass
class Member:
    id: int
    name: str
    roles: list[int] = field(default_factory=list)
    bot: bool = False

    def user(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.name,
            "avatar": None,
            "bot": self.bot,
        }

    def member(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "joined_at": NOW,
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
        if with_user:
            data["user"] = self.user()
        return data


@dataclass
class Request:
    method: str
    path: str
    body: Any


def _json(data: Any, *, status: int = 200) -> web.Response:
    # Exactly "application/json": discord.py parses a body only under that exact content type.
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


class FakeDiscord:
    """The fake, served on this event loop. ``async with FakeDiscord() as fake:``."""

    def __init__(self, *, guild_id: int | None = None, token: str = TOKEN) -> None:
        self.token = token  # REST without ``Authorization: Bot <token>`` gets 401, IDENTIFY closes 4004
        self.guild_id = guild_id or snowflake()
        self.app_id = snowflake()
        self.bot = Member(id=snowflake(), name="kickbot", bot=True)
        self.owner = Member(id=snowflake(), name="owner")
        self.roles: dict[int, Role] = {self.guild_id: Role(self.guild_id, "@everyone", 0, permissions=0)}
        self.channels: dict[int, str] = {}
        self.forbidden_channels: set[int] = set()  # posting there answers 403 Missing Permissions
        self.members: dict[int, Member] = {}
        self.requests: list[Request] = []
        self.identified = 0
        self._sockets: set[web.WebSocketResponse] = set()
        self._seq = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        bot_role = self.add_role("kickbot", position=10, permissions=1 << 28)  # Manage Roles
        self.bot.roles.append(bot_role.id)
        self.members[self.bot.id] = self.bot
        self.members[self.owner.id] = self.owner
        self.channel_id = self.add_channel("general")

    # --- the world ----------------------------------------------------------------------

    def add_role(self, name: str, *, position: int, permissions: int = 0) -> Role:
        role = Role(snowflake(), name, position, permissions)
        self.roles[role.id] = role
        return role

    def add_channel(self, name: str) -> int:
        channel_id = snowflake()
        self.channels[channel_id] = name
        return channel_id

    def add_member(self, name: str, *, roles: tuple[int, ...] = ()) -> Member:
        member = Member(snowflake(), name, list(roles))
        self.members[member.id] = member
        return member

    def guild_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.guild_id),
            "name": "Streamer's server",
            "owner_id": str(self.owner.id),
            "icon": None,
            "roles": [r.payload() for r in self.roles.values()],
            "channels": [
                {
                    "id": str(cid),
                    "type": 0,
                    "name": name,
                    "position": i,
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                }
                for i, (cid, name) in enumerate(self.channels.items())
            ],
            "members": [m.member() for m in self.members.values()],
            # member_count == len(members): discord.py takes the guild as chunked, asks for nothing.
            "member_count": len(self.members),
            "emojis": [],
            "stickers": [],
            "features": [],
            "large": False,
            "unavailable": False,
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "voice_states": [],
            "presences": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "premium_tier": 0,
            "nsfw_level": 0,
            "preferred_locale": "en-US",
            "system_channel_flags": 0,
            "afk_timeout": 300,
            "joined_at": NOW,
        }

    # --- what a test does -----------------------------------------------------------------

    async def say(self, author: Member, content: str, *, channel_id: int | None = None) -> int:
        """``author`` types ``content`` in a channel (default #general); returns the message id."""
        message_id = snowflake()
        user_ids = [int(x) for x in re.findall(r"<@!?([0-9]{15,20})>", content)]
        role_ids = [int(x) for x in re.findall(r"<@&([0-9]{15,20})>", content)]
        await self.dispatch(
            "MESSAGE_CREATE",
            {
                "id": str(message_id),
                "channel_id": str(channel_id or self.channel_id),
                "guild_id": str(self.guild_id),
                "author": author.user(),
                "member": author.member(with_user=False),
                "content": content,
                "timestamp": datetime.now(UTC).isoformat(),
                "edited_timestamp": None,
                "tts": False,
                "mention_everyone": "@everyone" in content or "@here" in content,
                "mentions": [
                    {**self.members[u].user(), "member": self.members[u].member(with_user=False)}
                    for u in user_ids
                    if u in self.members
                ],
                "mention_roles": [str(r) for r in role_ids if r in self.roles],
                "attachments": [],
                "embeds": [],
                "pinned": False,
                "type": 0,
                "flags": 0,
                "components": [],
            },
        )
        return message_id

    async def set_role_permissions(self, role_id: int, permissions: int) -> None:
        """A Discord admin edits a role in Server Settings (GUILD_ROLE_UPDATE follows)."""
        role = self.roles[role_id]
        role.permissions = permissions
        await self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(self.guild_id), "role": role.payload()})

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self._seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": self._seq, "d": data})
        for ws in list(self._sockets):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(frame)

    async def wait(self, predicate: Callable[[], Any], within_s: float = 15) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every request); returns its value."""

        async def until() -> Any:
            async with self._changed:
                while not (value := predicate()):
                    await self._changed.wait()
                return value

        return await asyncio.wait_for(until(), within_s)

    def posted(self, channel_id: int | None = None) -> list[dict[str, Any]]:
        """Bodies of the messages the bot posted to a channel (default #general), oldest first."""
        path = f"/channels/{channel_id or self.channel_id}/messages"
        return [r.body for r in self.requests if r.method == "POST" and r.path.endswith(path)]

    def role_puts(self) -> list[tuple[int, int]]:
        """``(member id, role id)`` of every role the bot gave."""
        out = []
        for r in self.requests:
            m = re.search(r"/guilds/\d+/members/(\d+)/roles/(\d+)$", r.path)
            if r.method == "PUT" and m:
                out.append((int(m.group(1)), int(m.group(2))))
        return out

    async def answer(self, author: Member, content: str, *, channel_id: int | None = None) -> dict[str, Any]:
        """``author`` types ``content``; the next message the bot posts in that channel."""
        before = len(self.posted(channel_id))
        await self.say(author, content, channel_id=channel_id)
        return await self.wait(
            lambda: self.posted(channel_id)[before:][:1] and self.posted(channel_id)[before]
        )

    # --- REST -------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.path.split("/api/v10", 1)[-1]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
        if request.headers.get("Authorization") != f"Bot {self.token}":
            response: Any = _json({"message": "401: Unauthorized", "code": 0}, status=401)
        else:
            response = self._answer(request.method, path, body)
        self.requests.append(Request(request.method, path, body))
        async with self._changed:
            self._changed.notify_all()
        if m := re.fullmatch(r"/guilds/\d+/members/(\d+)/roles/\d+", path):
            await self._role_changed(self.members[int(m.group(1))])
        if isinstance(response, web.StreamResponse):
            return response
        return _json(response)

    def _answer(self, method: str, path: str, body: Any) -> Any:
        if path == "/users/@me":
            return self.bot.user()
        if path == "/oauth2/applications/@me":
            return {
                "id": str(self.app_id),
                "name": "kickbot",
                "icon": None,
                "description": "",
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.owner.user(),
                "verify_key": "0" * 64,
                "flags": 0,
            }
        if path == "/gateway/bot":
            return {
                "url": f"ws://127.0.0.1:{self.port}/gateway",
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        if re.fullmatch(r"/applications/\d+(/guilds/\d+)?/commands", path):
            return []
        if m := re.fullmatch(r"/channels/(\d+)/messages", path):
            if method == "POST" and int(m.group(1)) in self.forbidden_channels:
                return _json({"message": "Missing Permissions", "code": 50013}, status=403)
            if method == "POST":
                return self._message(int(m.group(1)), body or {})
        if re.fullmatch(r"/channels/\d+/messages/\d+", path) and method == "PATCH":
            cid = int(path.split("/")[2])
            return self._message(cid, body or {})
        if path == "/users/@me/channels" and method == "POST":
            return {
                "id": str(snowflake()),
                "type": 1,
                "recipients": [self.members[int(body["recipient_id"])].user()],
            }
        if m := re.fullmatch(r"/guilds/\d+/members/(\d+)/roles/(\d+)", path):
            member, role_id = self.members[int(m.group(1))], int(m.group(2))
            if method == "PUT" and role_id not in member.roles:
                member.roles.append(role_id)
            elif method == "DELETE" and role_id in member.roles:
                member.roles.remove(role_id)
            return web.Response(status=204)
        if m := re.fullmatch(r"/guilds/\d+/members/(\d+)", path):
            found = self.members.get(int(m.group(1)))
            if found is None:
                return _json({"message": "Unknown Member", "code": 10007}, status=404)
            return found.member()
        return _json({"message": f"fake discord: no route {method} {path}", "code": 0}, status=404)

    def _message(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(snowflake()),
            "channel_id": str(channel_id),
            "guild_id": str(self.guild_id),
            "author": self.bot.user(),
            "content": body.get("content") or "",
            "timestamp": NOW,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }

    # --- gateway ------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            if frame["op"] == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif frame["op"] == 8:  # REQUEST_GUILD_MEMBERS (a converter looking a name up)
                await self._members_chunk(frame["d"])
            elif frame["op"] == 2:
                if frame["d"]["token"] != self.token:
                    await ws.close(code=4004)
                    break
                self.identified += 1
                self._sockets.add(ws)
                await self.dispatch(
                    "READY",
                    {
                        "v": 10,
                        "user": self.bot.user(),
                        "guilds": [{"id": str(self.guild_id), "unavailable": True}],
                        "session_id": "fake-session",
                        "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                        "application": {"id": str(self.app_id), "flags": 0},
                    },
                )
                await self.dispatch("GUILD_CREATE", self.guild_payload())
        self._sockets.discard(ws)
        return ws

    async def _members_chunk(self, request: dict[str, Any]) -> None:
        query = (request.get("query") or "").lower()
        ids = {int(u) for u in request.get("user_ids") or []}
        found = [
            m.member()
            for m in self.members.values()
            if (ids and m.id in ids) or (not ids and m.name.lower().startswith(query))
        ][: request.get("limit") or 100]
        await self.dispatch(
            "GUILD_MEMBERS_CHUNK",
            {
                "guild_id": str(self.guild_id),
                "members": found,
                "chunk_index": 0,
                "chunk_count": 1,
                "nonce": request.get("nonce"),
                "not_found": [],
            },
        )

    async def _role_changed(self, member: Member) -> None:
        await self.dispatch(
            "GUILD_MEMBER_UPDATE", {"guild_id": str(self.guild_id), **member.member(), "user": member.user()}
        )

    # --- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway/", self._gateway)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"


class FakeDiscordThread:
    """``FakeDiscord`` on its own event loop in a thread, for sync tests that start ``runbot``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake: FakeDiscord = self.call(self._make())
        self.call(self.fake.__aenter__())

    @staticmethod
    async def _make() -> FakeDiscord:
        return FakeDiscord()  # built on the loop that serves it (its Condition belongs there)

    def call(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.call(self.fake.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)


@contextlib.asynccontextmanager
async def running_bot(fake: FakeDiscord, settings: Any) -> Any:
    """The real ``KickbotBot`` with its outbox sender, as ``runbot`` starts them, against ``fake``.

    ``settings`` is pytest-django's fixture; ``discord.http.Route.BASE`` is restored afterwards.
    """
    import discord

    from botworker.discord.bot import KickbotBot
    from botworker.discord.component import discord_component
    from botworker.runtime import BotRuntime

    settings.DISCORD_TOKEN = fake.token
    settings.DISCORD_API_BASE_URL = fake.api_url
    settings.DISCORD_GATEWAY_URL = fake.gateway_url
    settings.DISCORD_GUILD_ID = fake.guild_id
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    runtime = BotRuntime()
    bot = KickbotBot()
    task = asyncio.create_task(discord_component(runtime, bot=bot))
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not bot.is_ready():  # polled: wait_until_ready() needs a client that has logged in
            if task.done() or asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("the bot did not get ready against the fake Discord")
            await asyncio.sleep(0.05)
        yield bot
    finally:
        runtime.stop_event.set()
        await asyncio.wait_for(task, 30)
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
