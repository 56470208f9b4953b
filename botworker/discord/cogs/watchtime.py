"""Watchtime on Discord: ``watchtime``, ``leaderboard``, ``tracking`` and ``roles`` (admins).

Thin: check permission → parse → ``await run_sync(service)(...)`` → reply. The rules (which
roles may be used, what minutes are sane) live in ``watchtime.roles``; this module only turns
Discord objects into plain facts. Role changes go out through the outbox (the Discord outbox
sender handles ``discord_role_add`` / ``discord_role_remove``). A daily loop reconciles
``AppliedRole`` with the guild's real member roles so the next sync repairs drift.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

import discord
from discord.ext import commands, tasks

from botworker.discord.common import (
    NO_MENTIONS,
    actor_label,
    community_admin,
    community_of,
    manage_roles_required,
    reply,
    role_facts,
)
from kickbot.bridge import run_sync
from kickbot.errors import InvalidInput, KickbotError, NotAllowed
from kickbot.text import discord_safe
from watchtime.commands import describe_rank
from watchtime.credit import tracking_set
from watchtime.models import WatchRole
from watchtime.roles import (
    roles_reconcile,
    roles_sync,
    watch_role_add,
    watch_role_remove,
    watch_role_set_enabled,
    watch_role_update,
    watch_roles_observe,
)
from watchtime.selectors import (
    format_minutes,
    kick_user_for_discord,
    leaderboard,
    rank_of,
    watch_roles,
    watch_settings,
)

log = logging.getLogger(__name__)

LEADERBOARD_DEFAULT = 10
LEADERBOARD_MAX = 25
ROLES_USAGE = (
    "Use `roles list`, `roles add <role> <minutes>`, `roles update <role> <minutes>`, "
    "`roles remove <role>`, `roles enable <role>`, `roles disable <role>` or `roles members <role>`."
)
TRACKING_USAGE = "Use `tracking on`, `tracking off` or `tracking status`."
_COUNT_RE = re.compile(r"^[0-9]{1,6}$")  # ASCII digits only: no "٣", no "1e3", no "nan"


def parse_count(text: str | None) -> int:
    """The ``n`` of ``leaderboard [n]``: 1..25, default 10; anything else is a clear refusal."""
    if text is None or not text.strip():
        return LEADERBOARD_DEFAULT
    cleaned = text.strip()
    if not _COUNT_RE.match(cleaned):
        raise InvalidInput(f"Give a whole number from 1 to {LEADERBOARD_MAX}, like `leaderboard 10`.")
    n = int(cleaned)
    if not 1 <= n <= LEADERBOARD_MAX:
        raise InvalidInput(f"The leaderboard shows 1 to {LEADERBOARD_MAX} viewers. Try `leaderboard 10`.")
    return n


def ensure_below_invoker(ctx: commands.Context[Any], role: discord.Role) -> None:
    """Discord's own rule: a member hands out only roles below their highest role (owners any)."""
    author = ctx.author
    if ctx.guild is not None and author.id == ctx.guild.owner_id:
        return
    if not isinstance(author, discord.Member) or role.position >= author.top_role.position:
        raise NotAllowed("That role is at or above your highest role, so you can't hand it out.")


async def resolve_role(ctx: commands.Context[Any], text: str) -> discord.Role:
    """A role of this guild by mention, id or exact name; a clear refusal otherwise."""
    if ctx.guild is None:
        raise InvalidInput("This only works in a server.")
    cleaned = text.strip()
    if cleaned in ("@everyone", "everyone", str(ctx.guild.id)):
        raise InvalidInput("@everyone can't be a watchtime role. Pick a normal role.")
    match = re.fullmatch(r"<@&([0-9]{15,20})>|([0-9]{15,20})", cleaned)
    role: discord.Role | None = None
    if match:
        role = ctx.guild.get_role(int(match.group(1) or match.group(2)))
    else:
        role = next((r for r in ctx.guild.roles if r.name == cleaned), None)
    if role is None:
        raise InvalidInput("I can't find that role in this server. Mention it like @Role or give its id.")
    return role


async def observe_roles(community_id: int, guild: discord.Guild, roles: Sequence[discord.Role]) -> None:
    """Record the watchtime roles' permissions as Discord shows them; the owner hears of a change."""
    await run_sync(watch_roles_observe)(
        community_id=community_id, roles=[role_facts(r, guild) for r in roles], notify_user_id=guild.owner_id
    )


class WatchtimeCog(commands.Cog, name="Watchtime"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Started once the gateway is up (not at load: a bot that never logs in has no guilds).
        if not self.daily_reconcile.is_running():
            self.daily_reconcile.start()

    async def cog_unload(self) -> None:
        self.daily_reconcile.cancel()

    # --- viewers -------------------------------------------------------------------------

    @commands.hybrid_command(  # type: ignore[arg-type]  # discord.py#9788
        name="watchtime", description="Your watchtime (or a member's), rank and next role"
    )
    @commands.guild_only()
    async def watchtime(self, ctx: commands.Context[Any], member: discord.Member | None = None) -> None:
        community = await community_of(ctx.guild)
        who = member or ctx.author
        linked = await run_sync(kick_user_for_discord)(discord_user_id=who.id)
        if linked is None:
            if who.id == ctx.author.id:
                await reply(ctx, "Your Discord account isn't linked to Kick yet. Use `/link` first.")
            else:
                await reply(ctx, f"{discord_safe(who.display_name)} hasn't linked a Kick account.")
            return
        kick_user_id, kick_name = linked
        info = await run_sync(rank_of)(community_id=community.community_id, kick_user_id=kick_user_id)
        await reply(
            ctx,
            f"**{discord_safe(kick_name)}**: {describe_rank(info, escape=discord_safe)}.",
            ephemeral=False,
        )

    @commands.hybrid_command(  # type: ignore[arg-type]  # discord.py#9788
        name="leaderboard", description="Top viewers by watchtime (1-25, default 10)"
    )
    @commands.guild_only()
    async def leaderboard(self, ctx: commands.Context[Any], n: str | None = None) -> None:
        count = parse_count(n)
        community = await community_of(ctx.guild)
        rows = await run_sync(leaderboard)(community_id=community.community_id, limit=count)
        if not rows:
            await reply(ctx, "No watchtime yet.")
            return
        lines = [f"`#{r.rank}` **{discord_safe(r.username)}**: {format_minutes(r.minutes)}" for r in rows]
        embed = discord.Embed(title=f"Watchtime: top {len(rows)}", description="\n".join(lines)[:4000])
        await ctx.send(embed=embed, allowed_mentions=NO_MENTIONS)

    # --- tracking (admins) ---------------------------------------------------------------

    @commands.hybrid_group(
        name="tracking", description="Watchtime tracking (admins)", invoke_without_command=True
    )
    @commands.guild_only()
    @community_admin()
    async def tracking(self, ctx: commands.Context[Any]) -> None:
        await reply(ctx, TRACKING_USAGE)

    async def _tracking_set(self, ctx: commands.Context[Any], enabled: bool) -> None:
        community = await community_of(ctx.guild)
        await run_sync(tracking_set)(
            community_id=community.community_id, enabled=enabled, actor_label=actor_label(ctx.author)
        )
        await reply(ctx, "Watchtime tracking is on." if enabled else "Watchtime tracking is paused.")

    @tracking.command(name="on", description="Resume crediting watchtime")
    @commands.guild_only()
    @community_admin()
    async def tracking_on(self, ctx: commands.Context[Any]) -> None:
        await self._tracking_set(ctx, True)

    @tracking.command(name="off", description="Pause crediting watchtime")
    @commands.guild_only()
    @community_admin()
    async def tracking_off(self, ctx: commands.Context[Any]) -> None:
        await self._tracking_set(ctx, False)

    @tracking.command(name="status", description="Is watchtime being credited?")
    @commands.guild_only()
    @community_admin()
    async def tracking_status(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        s = await run_sync(watch_settings)(community_id=community.community_id)
        state = "on" if s.tracking_enabled else "paused"
        await reply(
            ctx,
            f"Watchtime tracking is {state}. Viewers seen in the last {s.active_window_s} s earn minutes "
            f"while live{' or offline' if s.count_offline_chat else ''}, when at least "
            f"{s.min_active_chatters} people chatted in the last 5 minutes. Roles: {s.role_mode}.",
        )

    # --- roles (admins) ------------------------------------------------------------------

    @commands.hybrid_group(name="roles", description="Watchtime roles (admins)", invoke_without_command=True)
    @commands.guild_only()
    @community_admin()
    async def roles(self, ctx: commands.Context[Any]) -> None:
        await reply(ctx, ROLES_USAGE)

    async def _sync(self, community_id: int, guild: discord.Guild | None) -> None:
        try:
            if guild is not None:
                await observe_roles(community_id, guild, guild.roles)
            await run_sync(roles_sync)(community_id=community_id)
        except Exception:  # the periodic sync will catch up; the change itself is saved
            log.exception("role sync after a roles command failed")

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        """A role edited on Discord: a watchtime role that gained a dangerous permission is skipped."""
        if before.permissions == after.permissions:
            return
        try:
            community = await community_of(after.guild)
        except KickbotError:
            return
        await observe_roles(community.community_id, after.guild, [after])

    @roles.command(name="list", description="List the watchtime roles")
    @commands.guild_only()
    @community_admin()
    async def roles_list(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        rows = await run_sync(watch_roles)(community_id=community.community_id)
        if not rows:
            await reply(ctx, "No watchtime roles yet. " + ROLES_USAGE)
            return
        s = await run_sync(watch_settings)(community_id=community.community_id)
        lines = [
            f"<@&{r.role_id}> at {format_minutes(r.minutes_required)}{'' if r.enabled else ' (disabled)'}"
            for r in rows
        ]
        mode = "every role reached" if s.role_mode == "all" else "highest role reached only"
        await reply(ctx, f"Watchtime roles ({mode}):\n" + "\n".join(lines))

    @roles.command(name="add", description="Grant a role at a watchtime (minutes, or like 10h)")
    @commands.guild_only()
    @community_admin()
    @manage_roles_required()
    async def roles_add(self, ctx: commands.Context[Any], role: str, minutes: str) -> None:
        target, row = await self._set_minutes(ctx, watch_role_add, role, minutes)
        await reply(
            ctx, f"{target.mention} is now given at {format_minutes(row.minutes_required)} of watchtime."
        )

    @roles.command(name="update", description="Change the watchtime a role needs")
    @commands.guild_only()
    @community_admin()
    @manage_roles_required()
    async def roles_update(self, ctx: commands.Context[Any], role: str, minutes: str) -> None:
        target, row = await self._set_minutes(ctx, watch_role_update, role, minutes)
        await reply(ctx, f"{target.mention} now needs {format_minutes(row.minutes_required)} of watchtime.")

    async def _set_minutes(
        self, ctx: commands.Context[Any], service: Callable[..., WatchRole], role: str, minutes: str
    ) -> tuple[discord.Role, WatchRole]:
        """Add or update a role's watchtime (a role below the invoker's), then sync the members' roles."""
        community = await community_of(ctx.guild)
        target = await resolve_role(ctx, role)
        ensure_below_invoker(ctx, target)
        assert ctx.guild is not None
        row = await run_sync(service)(
            community_id=community.community_id,
            role=role_facts(target, ctx.guild),
            minutes=minutes,
            actor_label=actor_label(ctx.author),
        )
        await self._sync(community.community_id, ctx.guild)
        return target, row

    @roles.command(name="remove", description="Stop using a role (members lose it)")
    @commands.guild_only()
    @community_admin()
    async def roles_remove(self, ctx: commands.Context[Any], role: str) -> None:
        community = await community_of(ctx.guild)
        target = await resolve_role(ctx, role)
        await run_sync(watch_role_remove)(
            community_id=community.community_id, role_id=target.id, actor_label=actor_label(ctx.author)
        )
        await self._sync(community.community_id, ctx.guild)
        await reply(ctx, f"{target.mention} is no longer a watchtime role; members who got it lose it.")

    async def _set_enabled(self, ctx: commands.Context[Any], role: str, enabled: bool) -> None:
        community = await community_of(ctx.guild)
        target = await resolve_role(ctx, role)
        if enabled:
            ensure_below_invoker(ctx, target)
        await run_sync(watch_role_set_enabled)(
            community_id=community.community_id,
            role_id=target.id,
            enabled=enabled,
            actor_label=actor_label(ctx.author),
        )
        await self._sync(community.community_id, ctx.guild)
        if enabled:
            await reply(ctx, f"{target.mention} is enabled again.")
        else:
            await reply(ctx, f"{target.mention} is disabled; members who got it lose it.")

    @roles.command(name="enable", description="Enable a watchtime role")
    @commands.guild_only()
    @community_admin()
    @manage_roles_required()
    async def roles_enable(self, ctx: commands.Context[Any], role: str) -> None:
        await self._set_enabled(ctx, role, True)

    @roles.command(name="disable", description="Disable a watchtime role (members lose it)")
    @commands.guild_only()
    @community_admin()
    async def roles_disable(self, ctx: commands.Context[Any], role: str) -> None:
        await self._set_enabled(ctx, role, False)

    @roles.command(name="members", description="Who holds a watchtime role")
    @commands.guild_only()
    @community_admin()
    async def roles_members(self, ctx: commands.Context[Any], role: str) -> None:
        await community_of(ctx.guild)
        target = await resolve_role(ctx, role)
        holders = list(target.members)
        if not holders:
            await reply(ctx, f"Nobody has {target.mention}.")
            return
        shown = ", ".join(m.mention for m in holders[:30])
        more = f" and {len(holders) - 30} more" if len(holders) > 30 else ""
        await reply(ctx, f"{len(holders)} with {target.mention}: {shown}{more}")

    # --- daily reconcile -----------------------------------------------------------------

    @tasks.loop(hours=24)
    async def daily_reconcile(self) -> None:
        for guild in list(self.bot.guilds):
            try:
                await self.reconcile_guild(guild)
            except Exception:
                log.exception("watchtime role reconcile failed for guild %s", guild.id)

    @daily_reconcile.before_loop
    async def _before_reconcile(self) -> None:
        await self.bot.wait_until_ready()

    async def reconcile_guild(self, guild: discord.Guild) -> int:
        """Record the guild's real watchtime roles as applied, then sync the difference."""
        try:
            community = await community_of(guild)
        except KickbotError:  # a guild without a community
            return 0
        member_roles = {m.id: [r.id for r in m.roles] for m in guild.members if not m.bot}
        await observe_roles(community.community_id, guild, guild.roles)
        rows = await run_sync(roles_reconcile)(community_id=community.community_id, member_roles=member_roles)
        await run_sync(roles_sync)(community_id=community.community_id)
        return int(rows)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(WatchtimeCog(bot))
