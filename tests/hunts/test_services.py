"""Hunt services: the state machine, refusals that change nothing, audit rows, database rules."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from hunts.models import Hunt, HuntBonus
from hunts.selectors import hunt_current, hunt_history, hunt_of_community, hunt_running
from hunts.services import (
    MSG_ALL_OPENED,
    MSG_ALREADY_OPENING,
    MSG_ALREADY_RUNNING,
    MSG_NO_BONUSES,
    MSG_NONE_RUNNING,
    MSG_NOT_OPENING,
    hunt_bonus_add,
    hunt_bonus_remove,
    hunt_bonus_result,
    hunt_finish,
    hunt_opening_begin,
    hunt_start,
)
from kickbot.errors import InvalidInput
from kickbot.models import AuditLog
from tests.factories import CommunityFactory

pytestmark = pytest.mark.django_db

MOD = "discord:42"


def start(community: Any, **kwargs: Any) -> Any:
    defaults = {"title": "Friday hunt", "start_balance_cents": 1000_00, "actor_label": MOD}
    return hunt_start(community_id=community.pk, **(defaults | kwargs))


def add(community: Any, slot: str, bet: int, **kwargs: Any) -> Any:
    return hunt_bonus_add(community_id=community.pk, slot_name=slot, bet_cents=bet, actor_label=MOD, **kwargs)


def result(community: Any, win: int, **kwargs: Any) -> Any:
    return hunt_bonus_result(community_id=community.pk, win_cents=win, actor_label=MOD, **kwargs)


def snapshot(community: Any) -> tuple[Any, ...]:
    hunts = list(Hunt.objects.filter(community=community).values().order_by("id"))
    bonuses = list(HuntBonus.objects.filter(hunt__community=community).values().order_by("id"))
    return (hunts, bonuses, AuditLog.objects.filter(action__startswith="hunt.").count())


def test_full_hunt_walk_and_figures(community: Any) -> None:
    start(community)
    add(community, "Sweet Bonanza", 2_00)
    add(community, "Wanted Dead or a Wild", 1_00, cost_cents=200_00, notes="buy")
    view = hunt_opening_begin(community_id=community.pk, actor_label=MOD)
    assert view.status == "opening"
    view = result(community, 500_00)  # next in order: #1
    assert [b.win_cents for b in view.bonuses] == [500_00, None]
    assert view.figures.break_even == (1200_00 - 500_00) / 1_00
    view = result(community, 900_00)
    view = hunt_finish(community_id=community.pk, actor_label=MOD)
    assert view.status == "finished" and view.finished_at is not None
    assert view.figures.profit_cents == 200_00
    assert hunt_running(community_id=community.pk) is None
    assert hunt_current(community_id=community.pk) == view
    assert [h.id for h in hunt_history(community_id=community.pk)] == [view.id]
    actions = list(AuditLog.objects.filter(action__startswith="hunt.").values_list("action", flat=True))
    assert sorted(actions) == sorted(
        [
            "hunt.start",
            "hunt.bonus_add",
            "hunt.bonus_add",
            "hunt.open",
            "hunt.result",
            "hunt.result",
            "hunt.finish",
        ]
    )


def test_one_running_hunt_per_community(community: Any) -> None:
    start(community)
    before = snapshot(community)
    with pytest.raises(InvalidInput, match=MSG_ALREADY_RUNNING):
        start(community, title="second")
    assert snapshot(community) == before
    start(CommunityFactory())  # another community is independent


def test_database_refuses_a_second_running_hunt(community: Any) -> None:
    start(community)
    with pytest.raises(IntegrityError), transaction.atomic():
        Hunt.objects.create(community=community, title="x", started_by="t", started_at=timezone.now())


@pytest.mark.parametrize(
    "field,value",
    [("bet_cents", -1), ("cost_cents", -1), ("win_cents", -1), ("position", 0)],
)
def test_database_refuses_negative_money_and_position(community: Any, field: str, value: int) -> None:
    view = start(community)
    row = {"hunt_id": view.id, "position": 1, "slot_name": "s", "bet_cents": 1, "added_at": timezone.now()}
    if field == "win_cents":
        row["opened_at"] = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        HuntBonus.objects.create(**(row | {field: value}))


def test_database_refuses_two_bonuses_at_one_position(community: Any) -> None:
    start(community)
    add(community, "a", 1_00)
    hunt = Hunt.objects.get(community=community)
    with pytest.raises(IntegrityError), transaction.atomic():
        HuntBonus.objects.create(hunt=hunt, position=1, slot_name="b", bet_cents=1, added_at=timezone.now())


def test_database_refuses_negative_start_balance(community: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Hunt.objects.create(
            community=community, title="x", start_balance_cents=-1, started_by="t", started_at=timezone.now()
        )


def test_remove_keeps_numbers_and_result_follows_order(community: Any) -> None:
    start(community)
    for slot in ("a", "b", "c"):
        add(community, slot, 1_00)
    view = hunt_bonus_remove(community_id=community.pk, position=2, actor_label=MOD)
    assert [(b.position, b.slot_name) for b in view.bonuses] == [(1, "a"), (3, "c")]
    assert add(community, "d", 1_00).bonuses[-1].position == 4
    hunt_opening_begin(community_id=community.pk, actor_label=MOD)
    result(community, 1_00)
    view = result(community, 2_00)
    assert [b.win_cents for b in view.bonuses] == [1_00, 2_00, None]
    view = result(community, 7_00, position=1)  # a correction
    assert view.bonuses[0].win_cents == 7_00


def test_zero_bet_and_zero_win_are_allowed(community: Any) -> None:
    start(community, start_balance_cents=0)
    add(community, "free spins", 0)
    hunt_opening_begin(community_id=community.pk, actor_label=MOD)
    view = result(community, 0)
    assert view.figures.total_won_cents == 0 and view.figures.average_multiplier is None
    assert hunt_finish(community_id=community.pk, actor_label=MOD).figures.profit_cents == 0


def test_state_refusals_change_nothing(community: Any) -> None:
    def refused(call: Any, message: str) -> None:
        before = snapshot(community)
        with pytest.raises(InvalidInput, match=message):
            call()
        assert snapshot(community) == before

    refused(lambda: add(community, "a", 1), MSG_NONE_RUNNING)
    refused(lambda: result(community, 1), MSG_NONE_RUNNING)
    refused(lambda: hunt_finish(community_id=community.pk, actor_label=MOD), MSG_NONE_RUNNING)
    start(community)
    refused(lambda: hunt_opening_begin(community_id=community.pk, actor_label=MOD), MSG_NO_BONUSES)
    add(community, "a", 1_00)
    refused(lambda: result(community, 1), MSG_NOT_OPENING)
    refused(lambda: hunt_bonus_remove(community_id=community.pk, position=9, actor_label=MOD), "no bonus #9")
    refused(lambda: hunt_finish(community_id=community.pk, actor_label=MOD), "1 bonus is still unopened")
    hunt_opening_begin(community_id=community.pk, actor_label=MOD)
    refused(lambda: hunt_opening_begin(community_id=community.pk, actor_label=MOD), MSG_ALREADY_OPENING)
    result(community, 1)
    refused(lambda: result(community, 1), MSG_ALL_OPENED)
    refused(lambda: result(community, 1, position=5), "no bonus #5")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"start_balance_cents": -1}, "out of range"),
        ({"start_balance_cents": 10**18}, "out of range"),
        ({"title": "x" * 101}, "under 100"),
        ({"title": "x" * 10_000}, "under 100"),
        ({"currency": "XXX"}, "Pick a currency"),
        ({"currency": "\u20ac\u20ac"}, "Pick a currency"),
    ],
)
def test_start_bad_input(community: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        start(community, **kwargs)
    assert snapshot(community) == ([], [], 0)


@pytest.mark.parametrize(
    "slot,bet,kwargs,message",
    [
        ("", 1_00, {}, "Name the slot"),
        ("\x00\x00", 1_00, {}, "Name the slot"),
        ("a" * 101, 1_00, {}, "under 100"),
        ("ok", -5, {}, "bet is out of range"),
        ("ok", 10**18, {}, "bet is out of range"),
        ("ok", 1_00, {"cost_cents": -1}, "cost is out of range"),
        ("ok", 1_00, {"notes": "n" * 201}, "under 200"),
    ],
)
def test_add_bad_input(community: Any, slot: str, bet: int, kwargs: dict[str, Any], message: str) -> None:
    start(community)
    before = snapshot(community)
    with pytest.raises(InvalidInput, match=message):
        add(community, slot, bet, **kwargs)
    assert snapshot(community) == before


def test_text_is_cleaned_not_trusted(community: Any) -> None:
    start(community, title="  Big\x00 hunt\n\u202e  ")
    view = add(community, "@everyone Le\u0301 Bandit\x00", 1_00, notes="<b>buy</b>")
    assert view.title == "Big hunt"
    bonus = view.bonuses[0]
    assert bonus.slot_name == "@everyone L\u00e9 Bandit"  # NFC, NUL dropped; the adapters neutralise pings
    assert bonus.notes == "<b>buy</b>"  # stored as typed; templates escape it


def test_win_out_of_range_changes_nothing(community: Any) -> None:
    start(community)
    add(community, "a", 1_00)
    hunt_opening_begin(community_id=community.pk, actor_label=MOD)
    before = snapshot(community)
    for bad in (-1, 10**18):
        with pytest.raises(InvalidInput, match="win is out of range"):
            result(community, bad)
    assert snapshot(community) == before


def test_hunt_of_community_does_not_cross_communities(community: Any) -> None:
    other = CommunityFactory()
    view = start(other)
    assert hunt_of_community(community_id=community.pk, hunt_id=view.id) is None
    assert hunt_of_community(community_id=other.pk, hunt_id=view.id) == view


def test_history_lists_finished_hunts_with_figures(community: Any) -> None:
    for n in range(3):
        start(community, title=f"h{n}", start_balance_cents=100_00)
        add(community, "a", 1_00)
        hunt_opening_begin(community_id=community.pk, actor_label=MOD)
        result(community, (n + 1) * 100_00)
        hunt_finish(community_id=community.pk, actor_label=MOD)
    start(community, title="running")
    history = hunt_history(community_id=community.pk)
    assert [h.title for h in history] == ["h2", "h1", "h0"]
    assert [h.figures.profit_cents for h in history] == [200_00, 100_00, 0]
