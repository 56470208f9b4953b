"""The GTB panel, its modals and the gtb cog with spec'd Discord mocks."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from botworker.discord.bot import KickbotBot
from botworker.discord.cogs.gtb import (
    CANCEL_ID,
    CLOSE_ID,
    FINAL_ID,
    NOT_ADMIN,
    START_ID,
    GtbCancelConfirmView,
    GtbCog,
    GtbFinalModal,
    GtbPanelView,
    GtbStartModal,
)
from botworker.discord.common import AdminRequired, ensure_admin
from gtb.models import GtbGuess, GtbPanel, GtbSession
from gtb.services import gtb_guess_submit, gtb_panel_posted, gtb_session_start
from kickbot.models import AuditLog
from outbox.models import OutboxMessage
from tests.fakes.discord import (
    MockBot,
    MockContext,
    MockGuild,
    MockInteraction,
    MockMember,
    MockMessage,
    MockTextChannel,
    no_mentions,
    sends_of,
)
from tests.gtb.conftest import admin_member

pytestmark = pytest.mark.django_db(transaction=True)

MOD = "discord:1"


def button(view: discord.ui.View, custom_id: str) -> Any:
    [item] = [c for c in view.children if getattr(c, "custom_id", None) == custom_id]
    return item


def fill(text_input: discord.ui.TextInput[Any], value: str) -> None:
    """What discord.py does with a submitted modal's value."""
    text_input._refresh_state(None, {"value": value})  # type: ignore[arg-type,typeddict-item]


def private_text(interaction: MockInteraction) -> str:
    call = interaction.response.send_message.await_args
    assert call.kwargs["ephemeral"] is True
    assert no_mentions(call.kwargs["allowed_mentions"])
    return str(call.args[0])


async def open_session(community: Any) -> Any:
    from kickbot.bridge import run_sync

    return await run_sync(gtb_session_start)(
        community_id=community.pk, title="Hunt", prize_cents=0, actor_label=MOD
    )


async def add_guess(community: Any, user: int, cents: int) -> None:
    from kickbot.bridge import run_sync

    await run_sync(gtb_guess_submit)(
        community_id=community.pk, kick_user_id=user, username=f"v{user}", amount_cents=cents
    )


def snapshot() -> tuple[Any, ...]:
    return (
        list(GtbSession.objects.values_list("id", "status", "final_balance_cents")),
        GtbGuess.objects.count(),
        OutboxMessage.objects.count(),
        AuditLog.objects.count(),
    )


# --- the view ----------------------------------------------------------------------------


def test_panel_view_is_persistent_with_fixed_custom_ids() -> None:
    view = GtbPanelView()
    assert view.timeout is None and view.is_persistent()
    assert {c.custom_id for c in view.children} == {  # type: ignore[attr-defined]
        "kickbot:gtb:start",
        "kickbot:gtb:close",
        "kickbot:gtb:final",
        "kickbot:gtb:cancel",
    }


async def test_setup_hook_loads_the_cogs_and_registers_the_panel_view() -> None:
    bot = KickbotBot(sync_commands=False)
    await bot.setup_hook()
    # load_extension executes the module afresh, so compare by name and custom_ids, not by class.
    [panel] = [v for v in bot.persistent_views if type(v).__name__ == "GtbPanelView"]
    assert {c.custom_id for c in panel.children} == {START_ID, CLOSE_ID, FINAL_ID, CANCEL_ID}  # type: ignore[attr-defined]
    for name in ("gtbpanel", "gtbstats", "health", "dashboard", "timers"):
        assert bot.get_command(name) is not None, name
    for extension in list(bot.extensions):  # stop other cogs' background loops
        await bot.unload_extension(extension)


@pytest.mark.parametrize("custom_id", [START_ID, CLOSE_ID, FINAL_ID, CANCEL_ID])
async def test_non_admin_pressing_a_panel_button_is_refused_privately_and_nothing_changes(
    guild: MockGuild, community: Any, custom_id: str
) -> None:
    await open_session(community)
    await add_guess(community, 1, 100)
    before = await _snapshot()
    interaction = MockInteraction(guild=guild, user=MockMember(guild=guild))

    await button(GtbPanelView(), custom_id).callback(interaction)

    assert private_text(interaction) == NOT_ADMIN
    interaction.response.send_modal.assert_not_called()
    assert await _snapshot() == before


async def test_a_plain_user_outside_a_guild_member_list_is_no_admin(guild: MockGuild, community: Any) -> None:
    from tests.fakes.discord import MockUser

    interaction = MockInteraction(guild=guild, user=MockUser())
    await button(GtbPanelView(), START_ID).callback(interaction)
    assert private_text(interaction) == NOT_ADMIN


async def test_start_opens_the_start_modal(guild: MockGuild) -> None:
    interaction = MockInteraction(guild=guild, user=admin_member(guild))
    await button(GtbPanelView(), START_ID).callback(interaction)
    modal = interaction.response.send_modal.await_args.args[0]
    assert isinstance(modal, GtbStartModal)


async def test_start_modal_opens_a_session_and_confirms_privately(guild: MockGuild, community: Any) -> None:
    admin = admin_member(guild)
    modal = GtbStartModal()
    fill(modal.title_input, "Bonus hunt @everyone")
    fill(modal.prize_input, "$50")
    interaction = MockInteraction(guild=guild, user=admin)

    await modal.on_submit(interaction)

    session = await GtbSession.objects.aget()
    assert (session.title, session.prize_cents, session.status, session.opened_by) == (
        "Bonus hunt @everyone",
        50_00,
        "open",
        f"discord:{admin.id}",
    )
    text = private_text(interaction)
    assert "Prize: $50" in text and "@\u200beveryone" in text


@pytest.mark.parametrize(
    ("prize", "message"),
    [
        ("-5", "Prize: The amount can't be negative."),
        ("nan", "Prize: That's not a number."),
        ("1e3", "no 1e3"),
    ],
)
async def test_start_modal_with_a_bad_prize_says_why_and_opens_nothing(
    guild: MockGuild, prize: str, message: str
) -> None:
    modal = GtbStartModal()
    fill(modal.title_input, "x")
    fill(modal.prize_input, prize)
    interaction = MockInteraction(guild=guild, user=admin_member(guild))

    with pytest.raises(Exception) as excinfo:
        await modal.on_submit(interaction)
    await modal.on_error(interaction, excinfo.value)

    assert message in private_text(interaction)
    assert not await GtbSession.objects.aexists()


async def test_start_modal_while_a_round_runs_is_refused(guild: MockGuild, community: Any) -> None:
    await open_session(community)
    modal = GtbStartModal()
    fill(modal.title_input, "second")
    fill(modal.prize_input, "")
    interaction = MockInteraction(guild=guild, user=admin_member(guild))
    with pytest.raises(Exception) as excinfo:
        await modal.on_submit(interaction)
    await modal.on_error(interaction, excinfo.value)
    assert "already running" in private_text(interaction)
    assert await GtbSession.objects.acount() == 1


async def test_start_modal_submitted_by_a_non_admin_changes_nothing(guild: MockGuild) -> None:
    modal = GtbStartModal()
    fill(modal.title_input, "x")
    fill(modal.prize_input, "")
    interaction = MockInteraction(guild=guild, user=MockMember(guild=guild))
    await modal.on_submit(interaction)
    assert private_text(interaction) == NOT_ADMIN
    assert not await GtbSession.objects.aexists()


async def test_close_button_closes_guessing(guild: MockGuild, community: Any) -> None:
    await open_session(community)
    await add_guess(community, 1, 100)
    interaction = MockInteraction(guild=guild, user=admin_member(guild))

    await button(GtbPanelView(), CLOSE_ID).callback(interaction)

    assert (await GtbSession.objects.aget()).status == "closed"
    assert "closed with 1 guesses" in private_text(interaction)


async def test_final_button_without_a_running_round_says_so_and_opens_no_modal(guild: MockGuild) -> None:
    view = GtbPanelView()
    interaction = MockInteraction(guild=guild, user=admin_member(guild))
    with pytest.raises(Exception) as excinfo:
        await button(view, FINAL_ID).callback(interaction)
    await view.on_error(interaction, excinfo.value, button(view, FINAL_ID))
    assert private_text(interaction) == "There is no running round."
    interaction.response.send_modal.assert_not_called()


async def test_final_modal_resolves_and_names_the_winner(guild: MockGuild, community: Any) -> None:
    await open_session(community)
    await add_guess(community, 1, 1_000_00)
    await add_guess(community, 2, 1_500_00)
    interaction = MockInteraction(guild=guild, user=admin_member(guild))
    await button(GtbPanelView(), FINAL_ID).callback(interaction)
    modal = interaction.response.send_modal.await_args.args[0]
    assert isinstance(modal, GtbFinalModal)
    assert modal.session_id == (await GtbSession.objects.aget()).pk

    fill(modal.balance_input, "1.4k")
    submit = MockInteraction(guild=guild, user=interaction.user)
    await modal.on_submit(submit)

    session = await GtbSession.objects.select_related("winner").aget()
    assert (session.status, session.final_balance_cents, session.winner.kick_user_id) == (
        "resolved",
        1_400_00,
        2,
    )  # type: ignore[union-attr]
    assert private_text(submit) == "Final balance $1,400. Winner: **v2** with $1,500."


@pytest.mark.parametrize("value", ["nan", "-5", "1e3", "0", "x" * 200, "１,５0,0"])
async def test_final_modal_with_a_bad_balance_changes_nothing(
    guild: MockGuild, community: Any, value: str
) -> None:
    session = await open_session(community)
    before = await _snapshot()
    modal = GtbFinalModal(session.id)
    fill(modal.balance_input, value)
    interaction = MockInteraction(guild=guild, user=admin_member(guild))

    with pytest.raises(Exception) as excinfo:
        await modal.on_submit(interaction)
    await modal.on_error(interaction, excinfo.value)

    assert private_text(interaction)
    assert await _snapshot() == before


async def test_final_modal_submitted_twice_resolves_once(guild: MockGuild, community: Any) -> None:
    session = await open_session(community)
    await add_guess(community, 1, 100_00)
    admin = admin_member(guild)
    first, second = GtbFinalModal(session.id), GtbFinalModal(session.id)
    fill(first.balance_input, "100")
    fill(second.balance_input, "999")

    await first.on_submit(MockInteraction(guild=guild, user=admin))
    again = MockInteraction(guild=guild, user=admin)
    with pytest.raises(Exception) as excinfo:
        await second.on_submit(again)
    await second.on_error(again, excinfo.value)

    assert "already over" in private_text(again)
    assert (await GtbSession.objects.aget()).final_balance_cents == 100_00
    assert (
        await OutboxMessage.objects.filter(dedupe_key__contains=":result:").acount() == 1
    )  # no panel: Kick only


async def test_a_late_final_modal_never_resolves_a_newer_round(guild: MockGuild, community: Any) -> None:
    from gtb.services import gtb_session_cancel
    from kickbot.bridge import run_sync

    old = await open_session(community)
    modal = GtbFinalModal(old.id)
    await run_sync(gtb_session_cancel)(community_id=community.pk, actor_label=MOD)
    await open_session(community)
    fill(modal.balance_input, "100")
    interaction = MockInteraction(guild=guild, user=admin_member(guild))

    with pytest.raises(Exception) as excinfo:
        await modal.on_submit(interaction)
    await modal.on_error(interaction, excinfo.value)

    assert "already over" in private_text(interaction)
    assert await GtbSession.objects.filter(status="open").acount() == 1


async def test_cancel_asks_first_then_cancels(guild: MockGuild, community: Any) -> None:
    await open_session(community)
    admin = admin_member(guild)
    interaction = MockInteraction(guild=guild, user=admin)

    await button(GtbPanelView(), CANCEL_ID).callback(interaction)

    call = interaction.response.send_message.await_args
    assert call.kwargs["ephemeral"] is True and "can't be undone" in call.args[0]
    confirm_view = call.kwargs["view"]
    assert isinstance(confirm_view, GtbCancelConfirmView)
    assert (await GtbSession.objects.aget()).status == "open"  # nothing yet

    press = MockInteraction(guild=guild, user=admin)
    await confirm_view.children[0].callback(press)  # type: ignore[attr-defined]

    assert (await GtbSession.objects.aget()).status == "cancelled"
    assert press.response.edit_message.await_args.kwargs["view"] is None


async def test_cancel_confirm_by_a_non_admin_changes_nothing(guild: MockGuild, community: Any) -> None:
    await open_session(community)
    press = MockInteraction(guild=guild, user=MockMember(guild=guild))
    await GtbCancelConfirmView().children[0].callback(press)  # type: ignore[attr-defined]
    assert private_text(press) == NOT_ADMIN
    assert (await GtbSession.objects.aget()).status == "open"


async def test_a_panel_in_a_guild_without_community_refuses(community: Any) -> None:
    view = GtbPanelView()
    interaction = MockInteraction(guild=MockGuild(id=1), user=admin_member(MockGuild(id=1)))
    with pytest.raises(Exception) as excinfo:
        await button(view, START_ID).callback(interaction)
    await view.on_error(interaction, excinfo.value, button(view, START_ID))
    assert "not connected" in private_text(interaction)


async def test_an_unexpected_error_is_logged_and_the_reply_shows_no_internals(
    guild: MockGuild, caplog: Any
) -> None:
    view = GtbPanelView()
    interaction = MockInteraction(guild=guild)
    await view.on_error(interaction, RuntimeError("secret internals"), button(view, CLOSE_ID))
    assert "secret internals" not in private_text(interaction)
    assert "secret internals" in caplog.text


# --- the cog -----------------------------------------------------------------------------


@pytest.fixture
def cog() -> GtbCog:
    return GtbCog(MockBot())


@pytest.mark.parametrize("name", ["gtbpanel"])
async def test_gtbpanel_is_for_admins_only(cog: GtbCog, guild: MockGuild, name: str) -> None:
    assert ensure_admin in getattr(cog, name).checks
    with pytest.raises(AdminRequired):
        await getattr(cog, name).can_run(MockContext(guild=guild, author=MockMember(guild=guild)))
    assert not await GtbPanel.objects.aexists()


async def test_gtbpanel_posts_the_panel_and_remembers_it(
    cog: GtbCog, guild: MockGuild, community: Any
) -> None:
    channel = MockTextChannel(guild=guild)
    channel.send.return_value = MockMessage(id=4321, channel=channel)
    ctx = MockContext(guild=guild, author=admin_member(guild), channel=channel)

    await cog.gtbpanel.callback(cog, ctx, None)

    kwargs = channel.send.await_args.kwargs
    assert isinstance(kwargs["view"], GtbPanelView)
    assert kwargs["embed"].title == "Guess the Balance"
    assert no_mentions(kwargs["allowed_mentions"])
    panel = await GtbPanel.objects.aget(community=community)
    assert (panel.channel_id, panel.message_id) == (channel.id, 4321)
    assert f"<#{channel.id}>" in ctx.send.await_args.args[0]


async def test_gtbpanel_refuses_a_channel_of_another_server(cog: GtbCog, guild: MockGuild) -> None:
    from kickbot.errors import InvalidInput

    other = MockTextChannel(guild=MockGuild())
    ctx = MockContext(guild=guild, author=admin_member(guild))
    with pytest.raises(InvalidInput, match="this server"):
        await cog.gtbpanel.callback(cog, ctx, other)
    other.send.assert_not_called()
    assert not await GtbPanel.objects.aexists()


async def test_panel_refresh_goes_through_the_outbox_to_the_posted_panel(
    guild: MockGuild, community: Any
) -> None:
    from kickbot.bridge import run_sync

    await run_sync(gtb_panel_posted)(community_id=community.pk, channel_id=11, message_id=22, actor_label=MOD)
    interaction = MockInteraction(guild=guild, user=admin_member(guild))
    modal = GtbStartModal()
    fill(modal.title_input, "Hunt")
    fill(modal.prize_input, "")
    await modal.on_submit(interaction)

    edit = await OutboxMessage.objects.aget(kind="discord_edit")
    assert (edit.target, edit.payload["message_id"]) == ("11", 22)
    assert "Open" in edit.payload["embeds"][0]["description"]


async def test_gtbstats_replies_with_the_stats_embed(cog: GtbCog, guild: MockGuild, community: Any) -> None:
    ctx = MockContext(guild=guild)
    await cog.gtbstats.callback(cog, ctx)
    kwargs = ctx.send.await_args.kwargs
    assert kwargs["embed"].title == "Guess the Balance stats"
    assert no_mentions(kwargs["allowed_mentions"])
    for call in sends_of(ctx):
        assert no_mentions(call.kwargs.get("allowed_mentions"))


async def _snapshot() -> tuple[Any, ...]:
    from kickbot.bridge import run_sync

    return await run_sync(snapshot)()
