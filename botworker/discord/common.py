"""Helpers shared by cogs and views: replies that never ping, the errors of buttons and modals, how
an audit row names a Discord user, the community of a guild, admin checks."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from accounts.selectors import GuildContext, guild_context
from botworker.discord.arguments import RefusedCheck
from kickbot.bridge import run_sync
from kickbot.errors import KickbotError, NotAllowed
from watchtime.roles import RoleFacts

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
# What a button or modal answers when it fails on our side (the traceback goes to the log).
INTERACTION_BUG = "Something went wrong on our side. Please try again in a minute."


class AdminRequired(RefusedCheck):
    """Raised by the admin check; a CommandError so discord.py routes it to on_command_error."""

    def __init__(self, message: str = "Only server admins can do that.") -> None:
        super().__init__(message)


async def reply(ctx: commands.Context[Any], text: str, **kwargs: Any) -> None:
    """Answer a command; ephemeral when it came as a slash command, never pinging anyone."""
    kwargs.setdefault("ephemeral", True)
    await ctx.send(text, allowed_mentions=NO_MENTIONS, **kwargs)


def actor_label(user: discord.abc.User) -> str:
    """How an audit row (``actor_label``) names the Discord user who did something."""
    return f"discord:{user.id}"


async def reply_private(interaction: discord.Interaction, text: str) -> None:
    """Answer an interaction privately and without pinging, whether or not it was answered already."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def reply_interaction_error(interaction: discord.Interaction, error: Exception, *, where: str) -> None:
    """The ``on_error`` of a view or modal: a ``KickbotError`` is the reply; anything else is a bug,
    logged as "<where> failed" with its traceback, and the presser gets ``INTERACTION_BUG``."""
    if isinstance(error, KickbotError):
        text = error.message
    else:
        log.error("%s failed", where, exc_info=error)
        text = INTERACTION_BUG
    await reply_private(interaction, text)


class ReplyingView(discord.ui.View):
    """A view whose failing button answers the presser privately (``reply_interaction_error``);
    ``failure_label`` names it in the log."""

    failure_label = "button"

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await reply_interaction_error(interaction, error, where=self.failure_label)


class ReplyingModal(discord.ui.Modal):
    """A modal whose failing submit answers privately, as ``ReplyingView``."""

    failure_label = "modal"

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        await reply_interaction_error(interaction, error, where=self.failure_label)


async def community_of(guild: discord.Guild | None) -> GuildContext:
    """The community bound to this guild, or a friendly refusal (never another guild's data)."""
    if guild is None:
        raise NotAllowed("This only works in a server.")
    context = await run_sync(guild_context)(guild_id=guild.id)
    if context is None:
        raise KickbotError(
            "This server is not connected to a Kick channel yet. An admin can do that on the dashboard."
        )
    return context


def member_is_admin(member: discord.Member | discord.User, context: GuildContext) -> bool:
    """Manage Server permission, or the community's admin role."""
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild:
        return True
    return context.admin_role_id is not None and any(r.id == context.admin_role_id for r in member.roles)


async def ensure_admin(ctx: commands.Context[Any]) -> bool:
    """Check for admin commands: runs before argument parsing, so a refusal changes nothing."""
    context = await community_of(ctx.guild)
    if not member_is_admin(ctx.author, context):
        raise AdminRequired()
    return True


def community_admin() -> Any:
    """``@community_admin()`` on a command: Manage Server or the community's admin role."""
    return commands.check(ensure_admin)


async def ensure_manage_roles(ctx: commands.Context[Any]) -> bool:
    """Check for commands that make a role given out automatically: Discord's own Manage Roles too.

    The community admin role alone is not enough: it is not a Discord permission over roles, and a
    watchtime role is handed to whoever watches long enough (issue 16).
    """
    author = ctx.author
    if not isinstance(author, discord.Member) or not author.guild_permissions.manage_roles:
        raise AdminRequired("Watchtime roles also need Discord's Manage Roles permission.")
    return True


def manage_roles_required() -> Any:
    """``@manage_roles_required()`` on a command: the invoker holds Manage Roles in Discord."""
    return commands.check(ensure_manage_roles)


def role_facts(role: discord.Role, guild: discord.Guild) -> RoleFacts:
    """What the watchtime rules need to know about a Discord role."""
    me = guild.me
    return RoleFacts(
        id=role.id,
        name=role.name,
        position=role.position,
        managed=bool(role.managed),
        is_default=bool(role.is_default()),
        bot_top_position=me.top_role.position if me is not None else 0,
        permissions=int(role.permissions.value),
    )
