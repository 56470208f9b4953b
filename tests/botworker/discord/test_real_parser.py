"""Discord commands driven the way Discord drives them: the real bot against a fake Discord.

The real ``KickbotBot`` (with its outbox sender, as ``runbot`` starts them) logs in to
``tests.fakes.discord_server`` over HTTP and its gateway websocket; a member types a message (a
MESSAGE_CREATE payload); discord.py's own parser and converters turn it into a command call; the
test asserts what the bot did over REST and in the database.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from accounts.models import DiscordConfig, KickUser, Link, LinkLogConfig
from botworker.models import OutboxMessage
from botworker.outbox import outbox_enqueue
from kickbot.models import AuditLog, Community
from tests.fakes.discord_server import FakeDiscord, Member, running_bot
from watchtime.models import WatchRole, WatchTotal
from watchtime.services import roles_sync

pytestmark = pytest.mark.django_db(transaction=True)

ADMINISTRATOR = 1 << 3
MANAGE_ROLES = 1 << 28
BAN_MEMBERS = 1 << 2


@pytest.fixture
async def fake(community: Any) -> Any:
    async with FakeDiscord(guild_id=community.discord_guild_id) as f:
        yield f


async def outbox_settled(within_s: float = 15) -> None:
    """Wait until the running sender has dealt with every queued Discord row (sent or failed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    open_ = OutboxMessage.objects.filter(
        status__in=[OutboxMessage.Status.PENDING, OutboxMessage.Status.SENDING]
    )
    while await open_.aexists():
        if loop.time() > deadline:
            raise TimeoutError("the outbox did not settle")
        await asyncio.sleep(0.05)


async def linked(community: Any, member: Member, kick_id: int, minutes: int) -> None:
    kick = await KickUser.objects.acreate(user_id=kick_id, username=f"{member.name}_kick")
    await Link.objects.acreate(discord_user_id=member.id, kick_user=kick)
    await WatchTotal.objects.acreate(community=community, kick_user_id=kick_id, minutes=minutes)


@pytest.fixture
async def staff(fake: FakeDiscord, community: Any) -> dict[str, Any]:
    """The community's admin role (no Discord powers) and a Discord staff role with Manage Roles."""
    bot_admins = fake.add_role("Bot admins", position=2)
    moderators = fake.add_role("Moderators", position=8, permissions=MANAGE_ROLES)
    await DiscordConfig.objects.acreate(community=community, admin_role_id=bot_admins.id)
    return {"bot_admins": bot_admins, "moderators": moderators}


# --- issue 16 item 11: a watchtime role can carry Administrator ---------------------------


async def test_the_community_admin_role_alone_cannot_add_a_watchtime_role(
    fake: FakeDiscord, community: Any, settings: Any, staff: dict[str, Any]
) -> None:
    power = fake.add_role("PowerRole", position=5, permissions=ADMINISTRATOR)
    mallory = fake.add_member("mallory", roles=(staff["bot_admins"].id,))
    await linked(community, mallory, 5, 10)

    async with running_bot(fake, settings):
        answer = await fake.answer(mallory, f"!roles add <@&{power.id}> 1")
        await outbox_settled()

    assert answer["content"] == "Watchtime roles also need Discord's Manage Roles permission."
    assert answer["allowed_mentions"] == {"parse": []}
    assert not await WatchRole.objects.filter(community=community).aexists()
    assert (mallory.id, power.id) not in fake.role_puts()
    assert power.id not in mallory.roles


async def test_a_role_with_a_dangerous_permission_is_refused_even_to_a_role_manager(
    fake: FakeDiscord, community: Any, settings: Any, staff: dict[str, Any]
) -> None:
    power = fake.add_role("PowerRole", position=5, permissions=ADMINISTRATOR | BAN_MEMBERS)
    alice = fake.add_member("alice", roles=(staff["bot_admins"].id, staff["moderators"].id))
    await linked(community, alice, 6, 10)

    async with running_bot(fake, settings):
        answer = await fake.answer(alice, f"!roles add <@&{power.id}> 1")
        await outbox_settled()

    assert "Administrator, Ban Members" in answer["content"]
    assert not await WatchRole.objects.filter(community=community).aexists()
    assert fake.role_puts() == []


async def test_a_role_above_the_invokers_own_is_refused(
    fake: FakeDiscord, community: Any, settings: Any, staff: dict[str, Any]
) -> None:
    high = fake.add_role("VIP", position=9)  # above Moderators (8), below the bot (10)
    alice = fake.add_member("alice", roles=(staff["bot_admins"].id, staff["moderators"].id))

    async with running_bot(fake, settings):
        answer = await fake.answer(alice, f"!roles add <@&{high.id}> 1")

    assert "above your highest role" in answer["content"]
    assert not await WatchRole.objects.filter(community=community).aexists()


async def test_a_safe_role_added_by_a_role_manager_is_given_by_sync(
    fake: FakeDiscord, community: Any, settings: Any, staff: dict[str, Any]
) -> None:
    regular = fake.add_role("Regular", position=3)
    alice = fake.add_member("alice", roles=(staff["bot_admins"].id, staff["moderators"].id))
    await linked(community, alice, 6, 10)

    async with running_bot(fake, settings):
        answer = await fake.answer(alice, f"!roles add <@&{regular.id}> 1")
        await fake.wait(lambda: (alice.id, regular.id) in fake.role_puts())

    assert answer["content"] == f"<@&{regular.id}> is now given at 1m of watchtime."


async def test_a_watchtime_role_that_gains_a_dangerous_permission_is_skipped_and_the_admins_told_once(
    fake: FakeDiscord, community: Any, settings: Any, staff: dict[str, Any]
) -> None:
    regular = fake.add_role("Regular", position=3)
    log_channel = fake.add_channel("mod-log")
    await LinkLogConfig.objects.acreate(community=community, enabled=True, channel_id=log_channel)
    await WatchRole.objects.acreate(community=community, discord_role_id=regular.id, minutes_required=5)
    bob = fake.add_member("bob")
    await linked(community, bob, 7, 10)
    sync = sync_to_async(roles_sync)

    async with running_bot(fake, settings):
        await fake.set_role_permissions(regular.id, ADMINISTRATOR)  # a Discord admin edits the role
        await fake.wait(lambda: fake.posted(log_channel))
        await fake.set_role_permissions(regular.id, ADMINISTRATOR)  # no change: no second notice
        await fake.set_role_permissions(regular.id, ADMINISTRATOR | BAN_MEMBERS)  # a change: told again
        await fake.wait(lambda: len(fake.posted(log_channel)) >= 2)
        assert await sync(community_id=community.pk) == []  # the beat's sync skips it
        await outbox_settled()
        assert fake.role_puts() == []

        await fake.set_role_permissions(regular.id, 0)  # safe again: used again
        await fake.wait(lambda: len(fake.posted(log_channel)) >= 3)
        await sync(community_id=community.pk)
        await fake.wait(lambda: (bob.id, regular.id) in fake.role_puts())

    texts = [m["content"] for m in fake.posted(log_channel)]
    assert len(texts) == 3, texts
    assert "now has Administrator. I stopped giving" in texts[0]
    assert "now has Administrator, Ban Members" in texts[1]
    assert "I use it again" in texts[2]
    actions = [
        a
        async for a in AuditLog.objects.filter(action__startswith="watchtime.role_").values_list(
            "action", flat=True
        )
    ]
    assert actions.count("watchtime.role_blocked") == 2
    assert actions.count("watchtime.role_unblocked") == 1


async def test_the_sender_never_gives_a_role_that_has_a_dangerous_permission_now(
    fake: FakeDiscord, community: Any, settings: Any
) -> None:
    """Whoever queued the grant (an old sync, a sync before the bot saw the change), the role's
    permissions as Discord shows them at send time decide."""
    power = fake.add_role("PowerRole", position=5, permissions=ADMINISTRATOR)
    await WatchRole.objects.acreate(community=community, discord_role_id=power.id, minutes_required=5)
    carol = fake.add_member("carol")

    async with running_bot(fake, settings):
        await sync_to_async(outbox_enqueue)(
            community=await Community.objects.aget(pk=community.pk),
            kind=OutboxMessage.Kind.DISCORD_ROLE_ADD,
            target=carol.id,
            payload={"guild_id": fake.guild_id, "role_id": power.id, "reason": "watchtime reached"},
        )
        await outbox_settled()

    assert fake.role_puts() == []
    row = await OutboxMessage.objects.aget(kind=OutboxMessage.Kind.DISCORD_ROLE_ADD)
    assert (row.status, row.last_error) == (OutboxMessage.Status.FAILED, "PermanentFailure")
    assert (await WatchRole.objects.aget(discord_role_id=power.id)).blocked_permissions == ADMINISTRATOR
