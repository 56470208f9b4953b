"""Racing writers on a real database: the lock on the running hunt and the constraints hold."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from hunts.models import Hunt, HuntBonus
from hunts.services import hunt_bonus_add, hunt_bonus_result, hunt_opening_begin, hunt_start
from kickbot.errors import InvalidInput

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls: list[Callable[[], Any]]) -> list[str]:
    if connection.vendor != "postgresql":
        # The in-memory SQLite test database locks whole tables across threads (no busy timeout).
        pytest.skip("needs a real concurrent database (CI runs it on Postgres)")
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            call()
            outcomes.append("done")
        except InvalidInput:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return sorted(outcomes)


def test_two_starts_at_once_make_one_hunt(community: Any) -> None:
    def start() -> None:
        hunt_start(community_id=community.pk, title="h", start_balance_cents=0, actor_label="t")

    assert race([start, start]) == ["done", "refused"]
    assert Hunt.objects.count() == 1


def test_adds_at_once_get_their_own_positions(community: Any) -> None:
    hunt_start(community_id=community.pk, title="h", start_balance_cents=0, actor_label="t")

    def add(n: int) -> Callable[[], None]:
        return lambda: hunt_bonus_add(
            community_id=community.pk, slot_name=f"s{n}", bet_cents=1, actor_label="t"
        )

    assert race([add(n) for n in range(4)]) == ["done"] * 4
    assert sorted(HuntBonus.objects.values_list("position", flat=True)) == [1, 2, 3, 4]


def test_two_wins_at_once_open_two_bonuses_in_order(community: Any) -> None:
    hunt_start(community_id=community.pk, title="h", start_balance_cents=0, actor_label="t")
    for n in range(2):
        hunt_bonus_add(community_id=community.pk, slot_name=f"s{n}", bet_cents=1, actor_label="t")
    hunt_opening_begin(community_id=community.pk, actor_label="t")

    def win() -> None:
        hunt_bonus_result(community_id=community.pk, win_cents=5, actor_label="t")

    assert race([win, win]) == ["done", "done"]
    assert list(HuntBonus.objects.order_by("position").values_list("win_cents", flat=True)) == [5, 5]
