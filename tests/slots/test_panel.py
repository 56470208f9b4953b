"""The queue panel: fair picks, played/skipped, clear, panel edits; buttons and cog (spec'd mocks)."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from botworker.discord.cogs.slots import CUSTOM_IDS, ClearConfirmView, SlotPanelView, SlotsCog
from botworker.discord.common import AdminRequired, ensure_admin
from kickbot.errors import InvalidInput
from kickbot.models import AuditLog
from outbox.models import OutboxMessage
from raffle.draw import build_snapshot, draw_winners, seed_hash
from slots.models import SlotBlacklist, SlotPick, SlotRequest, SlotSettings
from slots.panel import slot_panel_posted, slot_pick_random, slot_queue_clear, slot_request_finish
from slots.services import slot_request_create
from tests.botworker.discord.conftest import all_sends
from tests.fakes.discord import (
    MockBot,
    MockContext,
    MockGuild,
    MockInteraction,
    MockMember,
    MockMessage,
    MockTextChannel,
    no_mentions,
)


def fill(community: Any, n: int) -> list[int]:
    SlotSettings.objects.update_or_create(community=community, defaults={"cooldown_s": 0})
    return [
        slot_request_create(
            community_id=community.pk,
            kick_user_id=100 + i,
            username=f"v{i}",
            text=f"slot {i}",
            message_id=f"m{i}",
        ).request_id
        for i in range(n)
    ]


# --- services ------------------------------------------------------------------------------


def test_pick_is_recorded_and_recomputable_from_its_proof(community: Any) -> None:
    ids = fill(community, 5)
    result = slot_pick_random(community_id=community.pk, actor_label="discord:1")

    pick = SlotPick.objects.get()
    assert pick.snapshot == "".join(f"{i},1\n" for i in sorted(ids))
    assert pick.server_seed_hash == seed_hash(pick.server_seed)
    entrants = [tuple(map(int, row.split(","))) for row in pick.snapshot.splitlines()]
    snapshot = build_snapshot(entrants)  # type: ignore[arg-type]
    assert snapshot.snapshot_hash == pick.snapshot_hash == pick.beacon
    [winner] = draw_winners(pick.server_seed, snapshot, pick.beacon, 1)
    assert winner.kick_user_id == pick.request_id == result.request_id
    assert SlotRequest.objects.get(pk=result.request_id).status == "picked"
    kick = OutboxMessage.objects.get(kind="kick_chat")
    assert kick.payload["text"].startswith("Next up: slot ")


def test_second_pick_waits_for_the_current_one(community: Any) -> None:
    fill(community, 3)
    slot_pick_random(community_id=community.pk, actor_label="t")
    with pytest.raises(InvalidInput, match="played or skipped first"):
        slot_pick_random(community_id=community.pk, actor_label="t")
    assert SlotPick.objects.count() == 1


def test_pick_from_an_empty_queue_is_refused(community: Any) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        slot_pick_random(community_id=community.pk, actor_label="t")
    assert not SlotPick.objects.exists()


def test_played_finishes_the_pick_and_numbers_continue(community: Any) -> None:
    fill(community, 3)
    first = slot_pick_random(community_id=community.pk, actor_label="t")
    assert (
        slot_request_finish(community_id=community.pk, status="played", actor_label="t") == first.request_id
    )
    second = slot_pick_random(community_id=community.pk, actor_label="t")
    assert (first.number, second.number) == (1, 2)
    assert second.request_id != first.request_id
    assert SlotRequest.objects.get(pk=first.request_id).status == "played"


def test_clear_closes_every_open_request(community: Any) -> None:
    fill(community, 4)
    slot_pick_random(community_id=community.pk, actor_label="t")
    assert slot_queue_clear(community_id=community.pk, actor_label="discord:9") == 4
    assert set(SlotRequest.objects.values_list("status", flat=True)) == {"cleared"}
    assert AuditLog.objects.get(action="slots.clear").data == {"cleared": 4}


def test_queue_changes_edit_the_panel_through_one_pending_outbox_row(community: Any) -> None:
    SlotSettings.objects.create(community=community, cooldown_s=0)
    slot_panel_posted(community_id=community.pk, channel_id=42, message_id=4242, actor_label="t")
    fill(community, 3)
    edits = OutboxMessage.objects.filter(kind="discord_edit")
    assert edits.count() == 1  # bursts coalesce into the pending edit
    edit = edits.get()
    assert edit.target == "42" and edit.payload["message_id"] == 4242
    assert "3 waiting" in edit.payload["embeds"][0]["description"]


# --- cog and buttons -----------------------------------------------------------------------


async def invoke(command: Any, cog: SlotsCog, *args: Any, **kwargs: Any) -> None:
    """Run a command's body as discord.py would after its checks passed."""
    await command.callback(cog, *args, **kwargs)


def button(view: discord.ui.View, key: str) -> Any:
    [b] = [c for c in view.children if getattr(c, "custom_id", None) == CUSTOM_IDS[key]]
    return b


def admin(guild: MockGuild) -> MockMember:
    return MockMember(guild=guild, guild_permissions=discord.Permissions(manage_guild=True))


def test_panel_view_is_persistent_with_fixed_custom_ids() -> None:
    view = SlotPanelView()
    assert view.timeout is None and view.is_persistent()
    assert {c.custom_id for c in view.children} == set(CUSTOM_IDS.values())  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key", list(CUSTOM_IDS))
async def test_non_admin_button_press_is_refused_privately_and_changes_nothing(
    community: Any, guild: MockGuild, key: str
) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(fill)(community, 2)
    before = [r async for r in SlotRequest.objects.values_list("id", "status")]
    audits = await AuditLog.objects.acount()
    view = SlotPanelView()
    interaction = MockInteraction(guild=guild, user=MockMember(guild=guild))

    item = button(view, key)
    try:
        await item.callback(interaction)
    except Exception as exc:  # the view's on_error answers it, as discord.py would
        await view.on_error(interaction, exc, item)

    kwargs = interaction.response.send_message.await_args.kwargs
    assert interaction.response.send_message.await_args.args[0] == "Only server admins can do that."
    assert kwargs["ephemeral"] is True and no_mentions(kwargs["allowed_mentions"])
    assert [r async for r in SlotRequest.objects.values_list("id", "status")] == before
    assert await AuditLog.objects.acount() == audits
    assert (await SlotSettings.objects.aget(community=community)).requests_open is True


@pytest.mark.django_db(transaction=True)
async def test_admin_closes_requests_from_the_panel(community: Any, guild: MockGuild) -> None:
    interaction = MockInteraction(guild=guild, user=admin(guild))
    await button(SlotPanelView(), "close").callback(interaction)
    assert (await SlotSettings.objects.aget(community=community)).requests_open is False
    assert await AuditLog.objects.filter(action="slots.close").aexists()
    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True


@pytest.mark.django_db(transaction=True)
async def test_admin_pick_answers_privately_with_escaped_text(community: Any, guild: MockGuild) -> None:
    await SlotSettings.objects.acreate(community=community)
    from asgiref.sync import sync_to_async

    await sync_to_async(slot_request_create)(
        community_id=community.pk, kick_user_id=5, username="x", text="@everyone hi", message_id="q"
    )
    interaction = MockInteraction(guild=guild, user=admin(guild))
    await button(SlotPanelView(), "pick").callback(interaction)
    text = interaction.response.send_message.await_args.args[0]
    assert "@\u200beveryone" in text and "ticket 0 of 1" in text
    assert no_mentions(interaction.response.send_message.await_args.kwargs["allowed_mentions"])


@pytest.mark.django_db(transaction=True)
async def test_clear_asks_for_confirmation_first(community: Any, guild: MockGuild) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(fill)(community, 2)
    user = admin(guild)
    interaction = MockInteraction(guild=guild, user=user)
    await button(SlotPanelView(), "clear").callback(interaction)
    confirm_view = interaction.response.send_message.await_args.kwargs["view"]
    assert isinstance(confirm_view, ClearConfirmView)
    assert await SlotRequest.objects.filter(status="open").acount() == 2  # nothing yet

    press = MockInteraction(guild=guild, user=user)
    await confirm_view.confirm.callback(press)
    assert await SlotRequest.objects.filter(status="cleared").acount() == 2
    assert press.response.edit_message.await_args.kwargs["content"] == "Cleared 2 requests."


@pytest.mark.parametrize(
    "name",
    [
        "slotpanel",
        "slotsettings",
        "callblacklist",
        "callblacklist_add",
        "callblacklist_remove",
        "callblacklist_list",
    ],
)
def test_every_cog_command_has_the_admin_check(name: str) -> None:
    assert ensure_admin in getattr(SlotsCog(MockBot()), name).checks


@pytest.mark.django_db(transaction=True)
async def test_non_admin_cannot_run_blacklist(community: Any, guild: MockGuild) -> None:
    cog = SlotsCog(MockBot())
    ctx = MockContext(guild=guild, author=MockMember(guild=guild))
    with pytest.raises(AdminRequired):
        await cog.callblacklist_add.can_run(ctx)
    assert not await SlotBlacklist.objects.aexists()


@pytest.mark.django_db(transaction=True)
async def test_blacklist_add_list_remove(community: Any, guild: MockGuild) -> None:
    cog = SlotsCog(MockBot())
    ctx = MockContext(guild=guild, author=admin(guild))
    await invoke(cog.callblacklist_add, cog, ctx, "@Spam_Bot", reason="@everyone spam")
    await invoke(cog.callblacklist_add, cog, ctx, "spam_bot")
    await invoke(cog.callblacklist_list, cog, ctx)
    await invoke(cog.callblacklist_remove, cog, ctx, "SPAM_BOT")
    texts = [c.args[0] for c in ctx.send.await_args_list]
    assert texts[0] == "**Spam\\_Bot** can no longer request slots."
    assert texts[1] == "**spam\\_bot** was already blacklisted."
    assert "spam\\_bot**: @\u200beveryone spam" in texts[2]
    assert texts[3] == "**SPAM\\_BOT** may request slots again."
    assert not await SlotBlacklist.objects.aexists()
    assert all(no_mentions(c.kwargs["allowed_mentions"]) for c in all_sends(ctx))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["", "@every one", "a b", "x" * 65, "<@123456789012345678>", "ünï"])
async def test_blacklist_refuses_what_is_not_a_kick_username(
    community: Any, guild: MockGuild, name: str
) -> None:
    cog = SlotsCog(MockBot())
    ctx = MockContext(guild=guild, author=admin(guild))
    with pytest.raises(InvalidInput, match="not a Kick username"):
        await invoke(cog.callblacklist_add, cog, ctx, name)
    assert not await SlotBlacklist.objects.aexists()


@pytest.mark.django_db(transaction=True)
async def test_slotpanel_posts_the_panel_and_remembers_it(community: Any, guild: MockGuild) -> None:
    cog = SlotsCog(MockBot())
    channel = MockTextChannel(guild=guild)
    channel.send.return_value = MockMessage(id=777, channel=channel)
    ctx = MockContext(guild=guild, author=admin(guild), channel=channel)

    await invoke(cog.slotpanel, cog, ctx)

    kwargs = channel.send.await_args.kwargs
    assert isinstance(kwargs["view"], SlotPanelView) and no_mentions(kwargs["allowed_mentions"])
    assert kwargs["embed"].title == "Slot requests"
    settings = await SlotSettings.objects.aget(community=community)
    assert (settings.panel_channel_id, settings.panel_message_id, settings.channel_id) == (
        channel.id,
        777,
        channel.id,
    )


async def test_setup_hook_loads_the_slots_cog_and_its_persistent_panel() -> None:
    from botworker.discord.bot import KickbotBot

    bot = KickbotBot(sync_commands=False)
    await bot.setup_hook()
    assert bot.get_cog("Slots") is not None
    # load_extension imports the module afresh, so compare by custom_id rather than by class.
    registered = {getattr(c, "custom_id", None) for v in bot.persistent_views for c in v.children}
    assert set(CUSTOM_IDS.values()) <= registered
    for name in ("slotpanel", "slotsettings", "callblacklist"):
        assert bot.get_command(name) is not None
