"""GTB services: guesses, winner selection, exactly-once resolve, announcements through the outbox."""

from __future__ import annotations

from typing import Any

import pytest

from gtb.models import GtbGuess, GtbPanel, GtbSession
from gtb.selectors import gtb_stats
from gtb.services import (
    gtb_guess_submit,
    gtb_panel_posted,
    gtb_session_cancel,
    gtb_session_close,
    gtb_session_resolve,
    gtb_session_start,
)
from kickbot.errors import InvalidInput
from kickbot.models import AuditLog
from outbox.models import OutboxMessage
from tests.factories import CommunityFactory

pytestmark = pytest.mark.django_db

MOD = "discord:42"


def start(community: Any, **kwargs: Any) -> Any:
    defaults = {"title": "Bonus hunt #12", "prize_cents": 50_00, "actor_label": MOD}
    return gtb_session_start(community_id=community.pk, **(defaults | kwargs))


def guess(community: Any, user_id: int, amount_cents: int, name: str | None = None) -> Any:
    return gtb_guess_submit(
        community_id=community.pk,
        kick_user_id=user_id,
        username=name or f"viewer{user_id}",
        amount_cents=amount_cents,
    )


def resolve(community: Any, final_cents: int) -> Any:
    return gtb_session_resolve(community_id=community.pk, final_balance_cents=final_cents, actor_label=MOD)


def kick_lines(community: Any) -> list[str]:
    return [
        m.payload["text"]
        for m in OutboxMessage.objects.filter(
            community=community, kind=OutboxMessage.Kind.KICK_CHAT
        ).order_by("id")
    ]


# --- starting ----------------------------------------------------------------------------


def test_start_opens_a_session_audits_and_announces_in_kick_chat(community: Any, clock: Any) -> None:
    view = start(community)

    session = GtbSession.objects.get(pk=view.id)
    assert (session.status, session.title, session.prize_cents, session.opened_by) == (
        "open",
        "Bonus hunt #12",
        50_00,
        MOD,
    )
    assert AuditLog.objects.filter(action="gtb.start", community=community, actor_label=MOD).count() == 1
    assert kick_lines(community) == [
        'Guess the Balance is open: "Bonus hunt #12". Prize: $50. Type !gtb <amount> to guess!'
    ]


def test_a_second_start_while_one_is_running_is_refused(community: Any) -> None:
    start(community)
    with pytest.raises(InvalidInput, match="already running"):
        start(community, title="another")
    assert GtbSession.objects.count() == 1


def test_the_database_allows_one_running_session_per_community(community: Any) -> None:
    from django.db import IntegrityError, transaction

    start(community)
    with pytest.raises(IntegrityError), transaction.atomic():
        GtbSession.objects.create(
            community=community, title="x", opened_by="x", opened_at="2026-01-01T00:00Z"
        )


def test_another_community_can_run_its_own_session(community: Any) -> None:
    start(community)
    start(CommunityFactory())
    assert GtbSession.objects.filter(status="open").count() == 2


@pytest.mark.parametrize("title", ["x" * 101, "@everyone " * 20])
def test_an_overlong_title_is_refused(community: Any, title: str) -> None:
    with pytest.raises(InvalidInput, match="under 100"):
        start(community, title=title)
    assert not GtbSession.objects.exists()


def test_a_blank_title_gets_the_default_and_control_characters_are_dropped(community: Any) -> None:
    assert start(community, title="  \u200b\n ").title == "Guess the Balance"
    gtb_session_cancel(community_id=community.pk, actor_label=MOD)
    assert start(community, title="Hunt\x00\n #2").title == "Hunt #2"


@pytest.mark.parametrize("prize", [-1, 10**15])
def test_a_prize_out_of_range_is_refused(community: Any, prize: int) -> None:
    with pytest.raises(InvalidInput, match="prize"):
        start(community, prize_cents=prize)
    assert not GtbSession.objects.exists()


# --- guessing ----------------------------------------------------------------------------


def test_a_guess_is_saved_and_confirmed_with_the_formatted_amount(community: Any, clock: Any) -> None:
    start(community)
    result = guess(community, 1, 1_500_50)
    assert result.reply() == "Guess saved: $1,500.50"
    g = GtbGuess.objects.get()
    assert (g.kick_user_id, g.username, g.amount_cents) == (1, "viewer1", 1_500_50)


def test_a_new_guess_replaces_the_amount_but_keeps_the_first_time(community: Any, clock: Any) -> None:
    start(community)
    guess(community, 1, 1_000_00)
    first_time = GtbGuess.objects.get().first_guessed_at
    clock.shift(60)

    result = guess(community, 1, 2_000_00, name="Renamed")

    g = GtbGuess.objects.get()
    assert (g.amount_cents, g.username, g.first_guessed_at) == (2_000_00, "Renamed", first_time)
    assert g.updated_at > first_time
    assert result.reply() == "Guess changed to $2,000 (was $1,000)"


def test_a_guess_without_an_open_session_is_refused(community: Any) -> None:
    with pytest.raises(InvalidInput, match="No Guess the Balance is open"):
        guess(community, 1, 100)
    assert not GtbGuess.objects.exists()


def test_a_guess_after_closing_is_refused_and_changes_nothing(community: Any) -> None:
    start(community)
    guess(community, 1, 100_00)
    gtb_session_close(community_id=community.pk, actor_label=MOD)
    with pytest.raises(InvalidInput, match="closed"):
        guess(community, 1, 200_00)
    with pytest.raises(InvalidInput, match="closed"):
        guess(community, 2, 200_00)
    assert list(GtbGuess.objects.values_list("kick_user_id", "amount_cents")) == [(1, 100_00)]


@pytest.mark.parametrize("amount", [0, -5, 10**15])
def test_a_guess_amount_out_of_range_is_refused_by_the_service_too(community: Any, amount: int) -> None:
    start(community)
    with pytest.raises(InvalidInput, match="out of range"):
        guess(community, 1, amount)
    assert not GtbGuess.objects.exists()


# --- resolving ---------------------------------------------------------------------------


def test_an_exact_hit_wins(community: Any, clock: Any) -> None:
    start(community)
    guess(community, 1, 900_00)
    clock.shift(1)
    guess(community, 2, 1_000_00)
    clock.shift(1)
    guess(community, 3, 1_100_00)

    view = resolve(community, 1_000_00)

    assert (view.winner_username, view.winner_amount_cents) == ("viewer2", 1_000_00)
    assert view.status == "resolved"


def test_a_tie_goes_to_the_earliest_first_guess(community: Any, clock: Any) -> None:
    start(community)
    guess(community, 1, 1_100_00)  # 100 over, first
    clock.shift(5)
    guess(community, 2, 900_00)  # 100 under, later
    assert resolve(community, 1_000_00).winner_username == "viewer1"


def test_an_overwritten_guess_keeps_its_first_time_for_ties_but_counts_its_latest_amount(
    community: Any, clock: Any
) -> None:
    start(community)
    guess(community, 1, 5_000_00)  # first in, far off
    clock.shift(10)
    guess(community, 2, 900_00)  # 100 under
    clock.shift(10)
    guess(community, 1, 1_100_00)  # viewer1 changes to 100 over: tie, but they were first

    view = resolve(community, 1_000_00)

    assert (view.winner_username, view.winner_amount_cents) == ("viewer1", 1_100_00)


def test_the_latest_amount_counts_not_the_first(community: Any, clock: Any) -> None:
    start(community)
    guess(community, 1, 1_000_00)  # would be exact...
    clock.shift(1)
    guess(community, 2, 1_050_00)
    clock.shift(1)
    guess(community, 1, 3_000_00)  # ...but was changed
    assert resolve(community, 1_000_00).winner_username == "viewer2"


def test_no_guesses_means_no_winner(community: Any) -> None:
    start(community)
    view = resolve(community, 1_000_00)
    assert view.winner_username is None
    assert GtbSession.objects.get().winner is None
    assert kick_lines(community)[-1] == 'GTB "Bonus hunt #12" ended at $1,000. No guesses, no winner.'


def test_final_balance_entered_twice_resolves_once(community: Any, clock: Any) -> None:
    gtb_panel_posted(community_id=community.pk, channel_id=555, message_id=777, actor_label=MOD)
    start(community)
    guess(community, 1, 1_000_00)
    guess(community, 2, 2_000_00)
    resolve(community, 1_000_00)

    with pytest.raises(InvalidInput):
        resolve(community, 2_000_00)

    session = GtbSession.objects.get()
    assert (session.final_balance_cents, session.winner.kick_user_id) == (1_000_00, 1)  # type: ignore[union-attr]
    assert AuditLog.objects.filter(action="gtb.resolve").count() == 1
    results = OutboxMessage.objects.filter(dedupe_key__startswith=f"gtb:{session.pk}:result:")
    assert sorted(results.values_list("kind", flat=True)) == ["discord_message", "kick_chat"]


def test_resolving_a_session_by_id_twice_resolves_once(community: Any) -> None:
    view = start(community)
    resolve(community, 500_00)
    with pytest.raises(InvalidInput, match="already over"):
        gtb_session_resolve(
            community_id=community.pk, final_balance_cents=600_00, actor_label=MOD, session_id=view.id
        )
    assert GtbSession.objects.get().final_balance_cents == 500_00


def test_resolve_posts_the_result_embed_to_the_panel_channel_and_a_kick_line(community: Any) -> None:
    gtb_panel_posted(community_id=community.pk, channel_id=555, message_id=777, actor_label=MOD)
    start(community)
    guess(community, 1, 1_234_56, name="Lucky_One")

    resolve(community, 1_200_00)

    [result] = OutboxMessage.objects.filter(kind="discord_message")
    assert result.target == "555"
    embed = result.payload["embeds"][0]
    winner = next(f for f in embed["fields"] if f["name"] == "Winner")["value"]
    assert winner == "**Lucky\\_One** with $1,234.56 (off by $34.56)"
    assert kick_lines(community)[-1] == (
        'GTB "Bonus hunt #12" ended at $1,200. Winner: @Lucky_One with $1,234.56 (off by $34.56)'
    )


def test_a_resolved_session_allows_a_new_start(community: Any) -> None:
    start(community)
    resolve(community, 100)
    assert start(community, title="next").status == "open"


def test_cancel_ends_the_round_without_a_winner(community: Any) -> None:
    start(community)
    guess(community, 1, 100)
    view = gtb_session_cancel(community_id=community.pk, actor_label=MOD)
    assert view.status == "cancelled"
    with pytest.raises(InvalidInput):
        resolve(community, 100)
    assert AuditLog.objects.filter(action="gtb.cancel").count() == 1


def test_closing_twice_says_so_and_changes_nothing(community: Any) -> None:
    start(community)
    gtb_session_close(community_id=community.pk, actor_label=MOD)
    with pytest.raises(InvalidInput, match="already closed"):
        gtb_session_close(community_id=community.pk, actor_label="discord:99")
    session = GtbSession.objects.get()
    assert session.closed_by == MOD
    assert AuditLog.objects.filter(action="gtb.close").count() == 1


def test_actions_never_touch_another_communitys_session(community: Any) -> None:
    other = CommunityFactory()
    start(other)
    with pytest.raises(InvalidInput, match="no running round"):
        gtb_session_close(community_id=community.pk, actor_label=MOD)
    with pytest.raises(InvalidInput):
        gtb_session_resolve(
            community_id=community.pk,
            final_balance_cents=100,
            actor_label=MOD,
            session_id=GtbSession.objects.get(community=other).pk,
        )
    assert GtbSession.objects.get(community=other).status == "open"


# --- the panel ---------------------------------------------------------------------------


def test_panel_edits_follow_each_admin_action(community: Any) -> None:
    gtb_panel_posted(community_id=community.pk, channel_id=555, message_id=777, actor_label=MOD)
    start(community)
    gtb_session_close(community_id=community.pk, actor_label=MOD)

    edits = list(OutboxMessage.objects.filter(kind="discord_edit").order_by("id"))
    assert [e.payload["message_id"] for e in edits] == [777, 777]
    assert all(e.target == "555" for e in edits)
    assert "Guessing closed" in edits[-1].payload["embeds"][0]["description"]


def test_guesses_share_one_pending_panel_edit_per_bucket_with_the_newest_count(
    community: Any, clock: Any
) -> None:
    gtb_panel_posted(community_id=community.pk, channel_id=555, message_id=777, actor_label=MOD)
    start(community)
    for user in (1, 2, 3):
        guess(community, user, 100)

    throttled = OutboxMessage.objects.filter(kind="discord_edit", dedupe_key__startswith="gtb:panel:")
    assert throttled.count() == 1
    fields = throttled.get().payload["embeds"][0]["fields"]
    assert {"name": "Guesses", "value": "3", "inline": True} in fields


def test_no_panel_means_no_discord_rows(community: Any) -> None:
    start(community)
    guess(community, 1, 100)
    resolve(community, 100)
    assert not OutboxMessage.objects.exclude(kind="kick_chat").exists()


def test_reposting_the_panel_replaces_the_old_one(community: Any) -> None:
    gtb_panel_posted(community_id=community.pk, channel_id=1, message_id=2, actor_label=MOD)
    gtb_panel_posted(community_id=community.pk, channel_id=3, message_id=4, actor_label=MOD)
    assert list(GtbPanel.objects.values_list("channel_id", "message_id")) == [(3, 4)]


# --- stats -------------------------------------------------------------------------------


def test_stats_count_resolved_rounds_guesses_average_error_and_top_winners(
    community: Any, clock: Any
) -> None:
    for final in (1_000_00, 2_000_00):
        start(community)
        guess(community, 1, final)  # viewer1 exact each time
        clock.shift(1)
        guess(community, 2, final + 100_00)  # 100 off
        clock.shift(1)
        resolve(community, final)
    start(community)  # a running round does not count
    guess(community, 3, 5)

    stats = gtb_stats(community_id=community.pk)

    assert (stats.sessions_resolved, stats.guesses, stats.average_error_cents) == (2, 4, 50_00)
    assert [(w.username, w.wins) for w in stats.top_winners] == [("viewer1", 2)]


def test_stats_of_an_empty_community(community: Any) -> None:
    stats = gtb_stats(community_id=community.pk)
    assert (stats.sessions_resolved, stats.guesses, stats.average_error_cents, stats.top_winners) == (
        0,
        0,
        None,
        [],
    )
