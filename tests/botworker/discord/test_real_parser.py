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
from kickbot.models import AuditLog, Community
from outbox.models import OutboxMessage
from outbox.services import outbox_enqueue
from tests.fakes.discord_server import FakeDiscord, Member, running_bot
from watchtime.models import WatchRole, WatchTotal
from watchtime.roles import roles_sync

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


# --- issue 16 item 12: mistyped optional arguments were silently ignored -------------------


@pytest.fixture
def admin(fake: FakeDiscord) -> Member:
    """A Discord admin of the guild (Manage Server and Manage Roles through a high staff role)."""
    staff = fake.add_role("Staff", position=9, permissions=(1 << 5) | MANAGE_ROLES)
    return fake.add_member("admin", roles=(staff.id,))


async def test_a_mistyped_channel_is_an_error_naming_it_and_nothing_is_posted(
    fake: FakeDiscord, community: Any, settings: Any, admin: Member
) -> None:
    async with running_bot(fake, settings):
        panel = await fake.answer(admin, "!gtbpanel #nowhere")
        logs_on = await fake.answer(admin, "!linklogs on #nowhere")
        slots = await fake.answer(admin, "!slotsettings #nowhere 5")
        link_panel = await fake.answer(admin, "!setup_link_panel <#123456789012345678>")

    for answer in (panel, logs_on, slots, link_panel):
        assert answer["content"].startswith("`channel`: I can't find that channel"), answer
        assert answer["allowed_mentions"] == {"parse": []}
        assert not answer.get("embeds") and not answer.get("components")  # no panel posted "here"
    assert len(fake.posted()) == 4  # the four refusals, nothing else
    assert not await LinkLogConfig.objects.filter(community=community, enabled=True).aexists()
    assert not await AuditLog.objects.aexists()


async def test_extra_words_are_refused(
    fake: FakeDiscord, community: Any, settings: Any, admin: Member
) -> None:
    async with running_bot(fake, settings):
        board = await fake.answer(admin, "!leaderboard 5 6")
        off = await fake.answer(admin, "!linklogs off now")
        nothing_extra = await fake.answer(admin, "!leaderboard 5")

    assert board["content"] == "Too many options. Usage: `!leaderboard [n]`"
    assert off["content"] == "Too many options. Usage: `!linklogs off`"
    assert nothing_extra["content"] == "No watchtime yet."


async def test_a_mistyped_member_is_an_error_not_your_own_stats(
    fake: FakeDiscord, community: Any, settings: Any, admin: Member
) -> None:
    await linked(community, admin, 9, 120)
    async with running_bot(fake, settings):
        answer = await fake.answer(admin, "!watchtime @nobody")
        own = await fake.answer(admin, "!watchtime")

    assert answer["content"].startswith("`member`: I can't find that member"), answer
    assert own["content"].startswith("**admin\\_kick**: 2h")


@pytest.mark.parametrize("number", ["٣", "1_000", "1e3", "nan", "9" * 40, "3.5", "0x10"])
async def test_whole_numbers_are_ascii_digits_of_sane_length(
    fake: FakeDiscord, community: Any, settings: Any, admin: Member, number: str
) -> None:
    async with running_bot(fake, settings):
        answer = await fake.answer(admin, f"!timers add {number} hello")

    assert answer["content"] == (
        "`minutes`: Give a whole number, like 30. Usage: `!timers add <minutes> <text>`"
    ), answer
    assert not await AuditLog.objects.aexists()


# --- every command, every kind of bad argument ------------------------------------------

BAD_ARGUMENTS = [
    "junk",
    "9" * 400,  # huge
    "-5",
    "nan",
    "ünïcødé٣💰\u202e",
    "a\x00b",  # NUL
    "@everyone",
    "<@&123456789012345678>",
]


async def test_every_command_answers_every_bad_argument_clearly_without_a_ping(
    fake: FakeDiscord, community: Any, settings: Any, admin: Member
) -> None:
    """Each command, typed by a Discord admin with each bad argument (alone, and twice), gets a
    reply: never the "something went wrong" of a crash, never a live mention, nothing ignored."""
    from botworker.discord.bot import BUG_REPLY

    await linked(community, admin, 9, 120)
    answers: list[tuple[str, dict[str, Any]]] = []
    async with running_bot(fake, settings) as bot:
        names = sorted(c.qualified_name for c in bot.walk_commands() if c.qualified_name not in ("link",))
        for name in names:
            for bad in BAD_ARGUMENTS:
                for typed in (f"!{name} {bad}", f"!{name} {bad} {bad}"):
                    answers.append((typed, await fake.answer(admin, typed)))

    assert len(names) > 30
    wrong = []
    for typed, answer in answers:
        content = answer.get("content") or ""
        # Our own refusal names @everyone; a member's text shows it escaped (@\u200beveryone).
        echoed = content.replace("@everyone can't be a watchtime role", "")
        if (
            not content
            or content == BUG_REPLY
            or answer["allowed_mentions"] != {"parse": []}
            or "@everyone" in echoed
            or "\x00" in content
        ):
            wrong.append((typed, content))
    assert wrong == []
    # Only commands whose argument is free text (a Kick username) act on one of these words.
    changed = {a async for a in AuditLog.objects.values_list("action", flat=True)}
    assert changed <= {"slots.blacklist.add", "slots.blacklist.remove"}


# --- issue 16 item 13: admin-written text shown unescaped ----------------------------------

HOSTILE_REASON = "**bold** [prize](https://evil.example) <@&123456789012345678> @everyone `code`"


async def test_an_admins_ticket_reason_is_shown_escaped_in_tickets(
    fake: FakeDiscord, community: Any, settings: Any, admin: Member
) -> None:
    viewer = fake.add_member("viewer")
    await linked(community, viewer, 11, 0)
    async with running_bot(fake, settings):
        opened = await fake.answer(admin, "!rafflestart")
        given = await fake.answer(admin, f"!rafflegive <@{viewer.id}> 5 {HOSTILE_REASON}")
        mine = await fake.answer(viewer, "!tickets")
        theirs = await fake.answer(admin, f"!tickets <@{viewer.id}>")

    assert opened["content"].startswith("Raffle #"), opened
    assert given["content"] == "Gave tickets: **viewer\\_kick** now has 5.", given
    for answer in (mine, theirs):
        text = answer["content"]
        assert "(\\*\\*bold\\*\\* \\[prize]\u200b(https://evil.example) <@\u200b&123456789012345678> " in text
        assert "@\u200beveryone \\`code\\`)" in text
        assert answer["allowed_mentions"] == {"parse": []}


async def test_a_role_name_is_shown_escaped_in_watchtime(
    fake: FakeDiscord, community: Any, settings: Any
) -> None:
    viewer = fake.add_member("viewer")
    await linked(community, viewer, 11, 30)
    await WatchRole.objects.acreate(
        community=community,
        discord_role_id=1,
        name="[VIP](https://evil.example) @everyone",
        minutes_required=90,
    )
    async with running_bot(fake, settings):
        answer = await fake.answer(viewer, "!watchtime")

    assert answer["content"] == (
        "**viewer\\_kick**: 30m, rank #1 of 1. "
        "Next role: \\[VIP]\u200b(https://evil.example) @\u200beveryone in 1h 0m."
    )
