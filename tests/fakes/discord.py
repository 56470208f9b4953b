"""Spec'd discord.py mocks (after python-discord/bot's tests/helpers.py).

Every mock uses ``spec_set``: reading or setting an attribute the real class doesn't have fails,
so a cog test can't pass by calling something discord.py doesn't offer. Coroutine methods of the
spec become ``AsyncMock`` automatically; ``isinstance(mock, discord.Member)`` holds.
"""

from __future__ import annotations

import itertools
import unittest.mock
from typing import Any

import discord
from discord.ext import commands

_ids = itertools.count(700_000_000_000_000_000)


def next_id() -> int:
    return next(_ids)


class CustomMockMixin:
    """Set ``spec_set`` on the subclass; keyword arguments become attributes (validated against it)."""

    spec_set: Any = None

    def __init__(self, **kwargs: Any) -> None:
        name = kwargs.pop("name", None)  # ``name`` is a Mock constructor argument: set it afterwards
        super().__init__(spec_set=self.spec_set, **kwargs)  # type: ignore[call-arg]
        if name is not None:
            self.name = name

    def _get_child_mock(self, **kw: Any) -> unittest.mock.Mock:
        # Children are plain mocks (not another Mock<Class>); coroutine methods of the spec are AsyncMock.
        if kw.get("_new_name") in self.__dict__["_spec_asyncs"]:
            return unittest.mock.AsyncMock(**kw)
        return unittest.mock.MagicMock(**kw)


def _names_and_avatar(user: Any, kwargs: dict[str, Any]) -> None:
    """A user's display name and avatar as Discord gives them (plain values, not child mocks)."""
    if "display_name" not in kwargs:
        user.display_name = user.name
    if "display_avatar" not in kwargs:
        user.display_avatar = unittest.mock.MagicMock(
            url=f"https://cdn.discordapp.com/avatars/{user.id}/a1b2c3.png?size=1024"
        )


class MockRole(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = discord.Role

    def __init__(self, **kwargs: Any) -> None:
        defaults = {"id": next_id(), "name": "role", "position": 1, "permissions": discord.Permissions.none()}
        super().__init__(**(defaults | kwargs))
        self.mention = f"<@&{self.id}>"


class MockGuild(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = discord.Guild

    def __init__(self, **kwargs: Any) -> None:
        defaults = {"id": next_id(), "name": "Guild", "roles": [], "text_channels": [], "members": []}
        super().__init__(**(defaults | kwargs))
        self.get_role.side_effect = lambda rid: next((r for r in self.roles if r.id == rid), None)
        self.get_member.side_effect = lambda mid: next((m for m in self.members if m.id == mid), None)
        self.get_channel.side_effect = lambda cid: next((c for c in self.text_channels if c.id == cid), None)


class MockUser(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = discord.User

    def __init__(self, **kwargs: Any) -> None:
        defaults = {"id": next_id(), "name": "user", "bot": False}
        super().__init__(**(defaults | kwargs))
        self.mention = f"<@{self.id}>"
        _names_and_avatar(self, kwargs)


class MockMember(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = discord.Member

    def __init__(self, **kwargs: Any) -> None:
        defaults = {
            "id": next_id(),
            "name": "member",
            "bot": False,
            "roles": [],
            "guild_permissions": discord.Permissions.none(),
        }
        super().__init__(**(defaults | kwargs))
        self.mention = f"<@{self.id}>"
        _names_and_avatar(self, kwargs)


class MockTextChannel(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = discord.TextChannel

    def __init__(self, **kwargs: Any) -> None:
        defaults = {"id": next_id(), "name": "channel", "guild": MockGuild()}
        super().__init__(**(defaults | kwargs))
        self.mention = f"<#{self.id}>"


class MockDMChannel(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = discord.DMChannel

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**({"id": next_id()} | kwargs))


class MockMessage(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = discord.Message

    def __init__(self, **kwargs: Any) -> None:
        defaults = {"id": next_id(), "content": "", "author": MockMember(), "channel": MockTextChannel()}
        super().__init__(**(defaults | kwargs))


class MockPartialMessage(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = discord.PartialMessage

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**({"id": next_id()} | kwargs))


def _bot_instance() -> commands.Bot:
    return commands.Bot(command_prefix="!", intents=discord.Intents.default())


class MockBot(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = _bot_instance()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.get_user.return_value = None
        self.get_channel.return_value = None
        self.get_guild.return_value = None
        self.is_ready.return_value = True


def _context_instance() -> commands.Context[Any]:
    return commands.Context(message=unittest.mock.MagicMock(), prefix="!", bot=_bot_instance(), view=None)  # type: ignore[arg-type]


class MockContext(CustomMockMixin, unittest.mock.MagicMock):
    """A command context: ``interaction=None`` is a prefix command, ``MockInteraction()`` a slash one."""

    spec_set = _context_instance()

    def __init__(self, **kwargs: Any) -> None:
        guild = kwargs.pop("guild", None) or MockGuild()
        defaults = {
            "bot": MockBot(),
            "guild": guild,
            "author": MockMember(),
            "channel": MockTextChannel(guild=guild),
            "message": MockMessage(),
            "interaction": None,
            "invoked_subcommand": None,
            "command": None,
        }
        super().__init__(**(defaults | kwargs))


class MockInteractionResponse(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = discord.InteractionResponse

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.is_done.return_value = False


class MockWebhook(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = discord.Webhook


class MockInteraction(CustomMockMixin, unittest.mock.MagicMock):
    spec_set = discord.Interaction

    def __init__(self, **kwargs: Any) -> None:
        guild = kwargs.pop("guild", None) or MockGuild()
        defaults = {
            "id": next_id(),
            "guild": guild,
            "guild_id": guild.id,
            "user": MockMember(),
            "response": MockInteractionResponse(),
            "followup": MockWebhook(),
            "client": MockBot(),
        }
        super().__init__(**(defaults | kwargs))


def no_mentions(allowed: Any) -> bool:
    """True when an ``allowed_mentions`` value pings nobody (everyone, roles, users, replied user)."""
    return (
        isinstance(allowed, discord.AllowedMentions)
        and allowed.to_dict() == {"parse": []}
        and not (allowed.replied_user)
    )


def sends_of(mock: Any) -> list[unittest.mock._Call]:
    """Every call to a send-like method anywhere under ``mock`` (send, reply, send_message, edit)."""
    names = {"send", "reply", "send_message", "edit", "edit_message", "edit_original_response"}
    return [c for c in mock.mock_calls if c[0].rsplit(".", 1)[-1] in names]
