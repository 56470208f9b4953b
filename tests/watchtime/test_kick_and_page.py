"""Kick chat commands through the registry, and the public leaderboard page."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import KickUser
from kickbot.commands import Invocation, Level, registry
from watchtime.models import WatchRole, WatchTotal

pytestmark = pytest.mark.django_db(transaction=True)


def inv(community: Any, name: str, user_id: int = 1, username: str = "alice") -> Invocation:
    return Invocation(
        community_id=community.pk,
        platform="kick",
        name=name,
        args=(),
        raw_args="",
        user_id=user_id,
        username=username,
        level=Level.EVERYONE,
    )


@pytest.fixture
def board(community: Any) -> Any:
    import watchtime.commands  # noqa: F401  (registers)

    for uid, name, minutes in ((1, "alice", 125), (2, "bob", 300), (3, "carol", 59)):
        KickUser.objects.create(user_id=uid, username=name)
        WatchTotal.objects.create(community=community, kick_user_id=uid, minutes=minutes)
    WatchRole.objects.create(community=community, discord_role_id=77, name="Regular", minutes_required=180)
    return community


async def test_kick_watchtime_reply(board: Any) -> None:
    cmd = registry.resolve("wt")
    assert cmd is not None and "kick" in cmd.platforms
    text = await cmd.handler(inv(board, "watchtime"))
    assert text == "@alice 2h 5m, rank #2 of 3. Next role: Regular in 55m"


async def test_kick_watchtime_for_a_newcomer(board: Any) -> None:
    text = await registry.resolve("watchtime").handler(inv(board, "watchtime", user_id=9, username="new"))
    assert text.startswith("@new no watchtime yet")


async def test_kick_leaderboard_is_a_short_top_five(board: Any) -> None:
    text = await registry.resolve("leaderboard").handler(inv(board, "leaderboard"))
    assert text == "Top watchtime: #1 bob 5h 0m | #2 alice 2h 5m | #3 carol 59m"


def test_public_page_shows_both_boards_escaped(client: Any, community: Any) -> None:
    KickUser.objects.create(user_id=1, username="<script>alert(1)</script>")
    WatchTotal.objects.create(community=community, kick_user_id=1, minutes=61)
    response = client.get(f"/leaderboard/{community.kick_channel_slug}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert" not in body
    assert "All time" in body and "1h 1m" in body


def test_public_page_of_an_unknown_community_is_404(client: Any, db: Any) -> None:
    assert client.get("/leaderboard/nobody/").status_code == 404
