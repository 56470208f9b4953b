"""What an adversarial moderator does to the hunt pages: a loss in the CSV, two tabs entering one win."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from hunts.models import HuntBonus
from hunts.services import hunt_bonus_add, hunt_bonus_result, hunt_finish, hunt_opening_begin, hunt_start

pytestmark = pytest.mark.django_db


def test_a_loss_is_a_plain_negative_number_in_the_csv(client: Client, community: Any, viewer: Any) -> None:
    # Most hunts lose: profit -1.50 was written "'-2.50" (floor division of a negative, then the
    # formula guard quoting the minus sign), a wrong and non-numeric cell.
    hunt_start(community_id=community.pk, title="Loss", start_balance_cents=100_00, actor_label="t")
    hunt_bonus_add(community_id=community.pk, slot_name="-minus slot", bet_cents=1_00, actor_label="t")
    hunt_opening_begin(community_id=community.pk, actor_label="t")
    hunt_bonus_result(community_id=community.pk, win_cents=98_50, actor_label="t")
    hunt_finish(community_id=community.pk, actor_label="t")
    client.force_login(viewer)
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/hunts/export.csv").content.decode())))
    assert rows[1][6:10] == ["100.00", "100.00", "98.50", "-1.50"]
    assert rows[1][12] == "'-minus slot"  # text that starts like a formula is still quoted


def test_a_win_typed_in_a_stale_tab_does_not_land_on_the_next_bonus(
    client: Client, community: Any, moderator: Any
) -> None:
    hunt_start(community_id=community.pk, title="Tabs", start_balance_cents=100_00, actor_label="t")
    hunt_bonus_add(community_id=community.pk, slot_name="First", bet_cents=1_00, actor_label="t")
    hunt_bonus_add(community_id=community.pk, slot_name="Second", bet_cents=1_00, actor_label="t")
    hunt_opening_begin(community_id=community.pk, actor_label="t")
    client.force_login(moderator)
    page = client.get("/dashboard/hunts/").content.decode()
    assert "Win of #1 First" in page
    form = page[page.index('id="win-form"') : page.index("</form>", page.index('id="win-form"'))]
    expected = form.split('name="expected" value="')[1].split('"')[0]
    # Two tabs (or Enter pressed twice) send the win of #1 they both show.
    client.post("/dashboard/hunts/result/", {"win": "50", "expected": expected})
    response = client.post("/dashboard/hunts/result/", {"win": "120", "expected": expected}, follow=True)
    wins = dict(HuntBonus.objects.values_list("position", "win_cents"))
    assert wins == {1: 50_00, 2: None}
    assert [str(m) for m in response.context["messages"]][-1:] == [
        "Bonus #1 already has its win; the next is #2 Second. Check it and enter its win."
    ]


def test_a_break_even_still_owed_never_reads_as_zero_or_less_than_needed() -> None:
    from hunts.figures import BonusFigures, break_even_text, hunt_figures

    def bonus(position: int, bet: int, win: int | None = None) -> BonusFigures:
        return BonusFigures(position=position, slot_name="s", bet_cents=bet, cost_cents=None, win_cents=win)

    # 1 cent missing on a $10M bet still to open: half up said "0x", which reads as "already even".
    tiny = hunt_figures(start_balance_cents=1, bonuses=[bonus(1, 10_000_000_00)])
    assert break_even_text(tiny) == "0.01x"
    # $1,100 missing on $6 of bets: 183.33x pays $1,099.98, short; the target shown must be enough.
    short = hunt_figures(start_balance_cents=1100_00, bonuses=[bonus(1, 5_00), bonus(2, 1_00)])
    assert break_even_text(short) == "183.34x"
