"""Raffle commands: Kick !tickets via the registry, the Discord cog with spec'd mocks; bad input for each."""

# discord.py types a hybrid command's ``callback`` without the cog as first argument: calling it
# the documented way (``cog.cmd.callback(cog, ctx, ...)``) is reported as arg-type.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import discord
import pytest
import time_machine
from asgiref.sync import sync_to_async

import raffle.commands  # noqa: F401  (registers !tickets)
from botworker.discord.cogs.raffle import RaffleCog
from botworker.discord.common import AdminRequired, ensure_admin
from kickbot.commands import Invocation, Level, registry
from kickbot.errors import InvalidInput, KickbotError, NotAllowed
from raffle.errors import BadDate
from raffle.models import RafflePeriod, ShuffleAccount, TicketBalance, TicketEntry
from raffle.services.periods import period_open
from raffle.services.rollover import period_freeze
from raffle.services.shuffle import shuffle_claim
from raffle.services.tickets import tickets_admin_adjust
from tests.fakes.discord import MockBot, MockContext, MockGuild, MockMember, no_mentions
from tests.raffle.conftest import DEC, NOV, NOW, kick_user

pytestmark = pytest.mark.django_db(transaction=True)

VIEWER_KICK, VIEWER_DISCORD = 4242, 111_111
ADMIN_DISCORD = 222_222


@pytest.fixture(autouse=True)
def frozen_clock() -> Any:
    with time_machine.travel(NOW, tick=False) as t:
        yield t


@pytest.fixture
def guild(community: Any) -> MockGuild:
    return MockGuild(id=community.discord_guild_id)


@pytest.fixture
def cog() -> RaffleCog:
    return RaffleCog(MockBot())


@pytest.fixture
def viewer_member(guild: MockGuild) -> MockMember:
    kick_user(VIEWER_KICK, "viewer_one", discord_id=VIEWER_DISCORD)
    return MockMember(id=VIEWER_DISCORD, guild=guild)


def admin_ctx(guild: MockGuild) -> MockContext:
    author = MockMember(
        id=ADMIN_DISCORD, guild=guild, guild_permissions=discord.Permissions(manage_guild=True)
    )
    return MockContext(guild=guild, author=author)


def open_period(community: Any) -> RafflePeriod:
    return period_open(community=community, starts_at=NOV, ends_at=DEC, actor_label="t")


def said(ctx: MockContext) -> str:
    call = ctx.send.await_args
    assert no_mentions(call.kwargs.get("allowed_mentions"))
    return str(call.args[0])


def tickets_cmd() -> Any:
    cmd = registry.resolve("tickets")
    assert cmd is not None and "kick" in cmd.platforms
    return cmd


def kick_inv(community: Any, *args: str) -> Invocation:
    return Invocation(
        community_id=community.pk,
        platform="kick",
        name="tickets",
        args=args,
        raw_args=" ".join(args),
        user_id=VIEWER_KICK,
        username="viewer_one",
        level=Level.EVERYONE,
    )


# --- Kick -------------------------------------------------------------------------------------------


async def test_kick_tickets_shows_balance_by_source_and_odds(community: Any) -> None:
    await sync_to_async(open_period)(community)
    await sync_to_async(tickets_admin_adjust)(
        community_id=community.pk,
        kick_user_id=VIEWER_KICK,
        amount=25,
        remove=False,
        reason="quiz",
        actor_label="t",
    )
    text = await tickets_cmd().handler(kick_inv(community))
    assert text is not None
    assert "25 tickets" in text and "admin 25" in text and "quiz" in text and "100.00%" in text


async def test_kick_tickets_refuses_arguments(community: Any) -> None:
    with pytest.raises(InvalidInput):
        await tickets_cmd().handler(kick_inv(community, "@everyone"))


async def test_kick_tickets_without_a_raffle_says_so(community: Any) -> None:
    assert await tickets_cmd().handler(kick_inv(community)) == "There is no raffle yet."


# --- Discord: viewers --------------------------------------------------------------------------------


async def test_discord_tickets_needs_a_linked_account(
    cog: RaffleCog, guild: MockGuild, community: Any
) -> None:
    ctx = MockContext(guild=guild)
    with pytest.raises(KickbotError, match="Link your Kick account"):
        await cog.tickets.callback(cog, ctx)


async def test_discord_tickets_shows_range_once_frozen(
    cog: RaffleCog, guild: MockGuild, community: Any, viewer_member: MockMember
) -> None:
    await sync_to_async(open_period)(community)
    for uid, n in ((1, 10), (VIEWER_KICK, 5)):
        await sync_to_async(tickets_admin_adjust)(
            community_id=community.pk, kick_user_id=uid, amount=n, remove=False, reason="", actor_label="t"
        )
    await sync_to_async(period_freeze)(community_id=community.pk, actor_label="t")
    ctx = MockContext(guild=guild, author=viewer_member)
    await cog.tickets.callback(cog, ctx)
    text = said(ctx)
    assert "#10-#14" in text and "frozen" in text


async def test_raffleboard_escapes_names(cog: RaffleCog, guild: MockGuild, community: Any) -> None:
    await sync_to_async(open_period)(community)
    await sync_to_async(kick_user)(9, "**@everyone**")
    await sync_to_async(tickets_admin_adjust)(
        community_id=community.pk, kick_user_id=9, amount=3, remove=False, reason="", actor_label="t"
    )
    ctx = MockContext(guild=guild)
    await cog.raffleboard.callback(cog, ctx, None)
    text = said(ctx)
    assert "@everyone" not in text.replace("@\u200beveryone", "") and "\\*\\*" in text


@pytest.mark.parametrize("places", ["0", "26", "-1", "nan", "1e3", "abc", "@everyone", "9" * 40])
async def test_raffleboard_bad_size_is_refused(
    cog: RaffleCog, guild: MockGuild, community: Any, places: str
) -> None:
    with pytest.raises(InvalidInput):
        await cog.raffleboard.callback(cog, MockContext(guild=guild), places)


async def test_raffleinfo_shows_commitment(cog: RaffleCog, guild: MockGuild, community: Any) -> None:
    period = await sync_to_async(open_period)(community)
    ctx = MockContext(guild=guild)
    await cog.raffleinfo.callback(cog, ctx)
    text = said(ctx)
    assert period.server_seed_hash[:16] in text and str(period.drand_round) in text and "2026-11-30" in text


async def test_linkshuffle_stores_an_unverified_claim(
    cog: RaffleCog, guild: MockGuild, community: Any, viewer_member: MockMember
) -> None:
    ctx = MockContext(guild=guild, author=viewer_member)
    await cog.linkshuffle.callback(cog, ctx, "Alice_1")
    assert "claimed" in said(ctx)
    assert await ShuffleAccount.objects.filter(verified=False, username_key="alice_1").aexists()


@pytest.mark.parametrize("name", ["@everyone", "x" * 100, "a b", ""])
async def test_linkshuffle_bad_name_is_refused(
    cog: RaffleCog, guild: MockGuild, community: Any, viewer_member: MockMember, name: str
) -> None:
    with pytest.raises(InvalidInput):
        await cog.linkshuffle.callback(cog, MockContext(guild=guild, author=viewer_member), name)
    assert not await ShuffleAccount.objects.aexists()


# --- Discord: admins ---------------------------------------------------------------------------------


async def test_admin_commands_refuse_non_admins(guild: MockGuild, community: Any) -> None:
    with pytest.raises(AdminRequired):
        await ensure_admin(MockContext(guild=guild))


async def test_rafflegive_and_raffleremove(
    cog: RaffleCog, guild: MockGuild, community: Any, viewer_member: MockMember
) -> None:
    await sync_to_async(open_period)(community)
    ctx = admin_ctx(guild)
    await cog.rafflegive.callback(cog, ctx, viewer_member, "30", reason="giveaway")
    assert "now has 30" in said(ctx)
    ctx2 = admin_ctx(guild)
    await cog.raffleremove.callback(cog, ctx2, viewer_member, "10", reason="oops")
    assert "now has 20" in said(ctx2)
    with pytest.raises(InvalidInput, match="only 20"):
        await cog.raffleremove.callback(cog, admin_ctx(guild), viewer_member, "21", reason="")


@pytest.mark.parametrize("amount", ["-5", "0", "nan", "inf", "1e3", "2.5", "@everyone", "9" * 30])
async def test_rafflegive_bad_amount_changes_nothing(
    cog: RaffleCog, guild: MockGuild, community: Any, viewer_member: MockMember, amount: str
) -> None:
    await sync_to_async(open_period)(community)
    with pytest.raises(InvalidInput):
        await cog.rafflegive.callback(cog, admin_ctx(guild), viewer_member, amount, reason="")
    assert not await TicketEntry.objects.aexists()


async def test_rafflegive_to_an_unlinked_member_is_refused(
    cog: RaffleCog, guild: MockGuild, community: Any
) -> None:
    await sync_to_async(open_period)(community)
    with pytest.raises(KickbotError, match="hasn't linked"):
        await cog.rafflegive.callback(cog, admin_ctx(guild), MockMember(guild=guild), "5", reason="")


async def test_verifyshuffle_verifies_and_refuses_a_name_of_another_viewer(
    cog: RaffleCog, guild: MockGuild, community: Any, viewer_member: MockMember
) -> None:
    await sync_to_async(shuffle_claim)(community_id=community.pk, kick_user_id=1, username="taken")
    with pytest.raises(NotAllowed):
        await cog.verifyshuffle.callback(cog, admin_ctx(guild), viewer_member, "taken")
    ctx = admin_ctx(guild)
    await cog.verifyshuffle.callback(cog, ctx, viewer_member, "mine")
    assert "Only wagers from now on" in said(ctx)
    assert await ShuffleAccount.objects.filter(kick_user_id=VIEWER_KICK, verified=True).aexists()


async def test_rafflestart_opens_a_period_to_the_end_of_the_month(
    cog: RaffleCog, guild: MockGuild, community: Any
) -> None:
    ctx = admin_ctx(guild)
    await cog.rafflestart.callback(cog, ctx, "2026-11-01", None)
    period = await RafflePeriod.objects.aget(status="open")
    assert (period.starts_at, period.ends_at) == (NOV, DEC)
    assert period.server_seed_hash in said(ctx)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-13-01", None),
        ("2026-02-30", None),
        ("01/11/2026", None),
        ("2026-11-01", "2026-10-01"),
        ("2026-11-01", "2026-11-10"),  # ends in the past
        ("2030-01-01", None),  # starts in the future
        ("2026-11-01", "2028-01-01"),  # more than a year
        ("@everyone", None),
        ("9" * 60, None),
        ("２０２６-11-01", None),
    ],
)
async def test_rafflestart_bad_dates_get_a_clear_reply_and_change_nothing(
    cog: RaffleCog, guild: MockGuild, community: Any, start: str, end: str | None
) -> None:
    with pytest.raises(BadDate):
        await cog.rafflestart.callback(cog, admin_ctx(guild), start, end)
    assert not await RafflePeriod.objects.aexists()


async def test_rafflestart_while_open_is_refused(cog: RaffleCog, guild: MockGuild, community: Any) -> None:
    await sync_to_async(open_period)(community)
    with pytest.raises(NotAllowed, match="already open"):
        await cog.rafflestart.callback(cog, admin_ctx(guild), None, None)


async def test_raffleend_freezes_and_publishes_the_snapshot(
    cog: RaffleCog, guild: MockGuild, community: Any
) -> None:
    await sync_to_async(open_period)(community)
    ctx = admin_ctx(guild)
    await cog.raffleend.callback(cog, ctx)
    period = await RafflePeriod.objects.aget()
    assert period.status == "frozen" and period.snapshot_hash in said(ctx)


async def test_raffleend_without_a_raffle_is_refused(
    cog: RaffleCog, guild: MockGuild, community: Any
) -> None:
    with pytest.raises(KickbotError, match="no open raffle"):
        await cog.raffleend.callback(cog, admin_ctx(guild))


async def test_rafflerestart_freezes_and_opens_a_fresh_period(
    cog: RaffleCog, guild: MockGuild, community: Any, viewer_member: MockMember
) -> None:
    await sync_to_async(open_period)(community)
    await cog.rafflegive.callback(cog, admin_ctx(guild), viewer_member, "5", reason="")
    await cog.rafflerestart.callback(cog, admin_ctx(guild))
    assert await RafflePeriod.objects.filter(status="frozen").acount() == 1
    new = await RafflePeriod.objects.aget(status="open")
    assert not await TicketBalance.objects.filter(period=new).aexists()


async def test_rafflesetdate_recommits_the_round(cog: RaffleCog, guild: MockGuild, community: Any) -> None:
    period = await sync_to_async(open_period)(community)
    ctx = admin_ctx(guild)
    await cog.rafflesetdate.callback(cog, ctx, "2026-11-01", "2026-12-15")
    await period.arefresh_from_db()
    assert period.ends_at == datetime(2026, 12, 16, tzinfo=UTC)
    assert len(period.amendments) == 1 and str(period.drand_round) in said(ctx)


@pytest.mark.parametrize(
    ("start", "end"), [("2026-11-01", "junk"), ("x", "2026-12-01"), ("2026-11-01", "2026-11-02")]
)
async def test_rafflesetdate_bad_dates_change_nothing(
    cog: RaffleCog, guild: MockGuild, community: Any, start: str, end: str
) -> None:
    period = await sync_to_async(open_period)(community)
    with pytest.raises(BadDate):
        await cog.rafflesetdate.callback(cog, admin_ctx(guild), start, end)
    await period.arefresh_from_db()
    assert period.ends_at == DEC and period.amendments == []


async def test_raffledraw_on_an_open_raffle_is_refused(
    cog: RaffleCog, guild: MockGuild, community: Any
) -> None:
    await sync_to_async(open_period)(community)
    with pytest.raises(NotAllowed, match="still open"):
        await cog.raffledraw.callback(cog, admin_ctx(guild), action="")


async def test_raffledraw_before_the_beacon_says_why(
    cog: RaffleCog, guild: MockGuild, community: Any
) -> None:
    await sync_to_async(open_period)(community)
    await sync_to_async(period_freeze)(community_id=community.pk, actor_label="t")
    with pytest.raises(KickbotError, match="waiting for drand"):
        await cog.raffledraw.callback(cog, admin_ctx(guild), action="")


@pytest.mark.parametrize("action", ["junk", "@everyone", "reroll"])
async def test_raffledraw_bad_action_is_refused(
    cog: RaffleCog, guild: MockGuild, community: Any, action: str
) -> None:
    await sync_to_async(open_period)(community)
    await sync_to_async(period_freeze)(community_id=community.pk, actor_label="t")
    with pytest.raises(KickbotError):
        await cog.raffledraw.callback(cog, admin_ctx(guild), action=action)
