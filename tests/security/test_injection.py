"""SQL, HTML, markdown and mention injection in every typed text that reaches a page or an embed.

Each hostile string is stored through the real service (or model, for admin-typed data), read
back unchanged (the ORM binds parameters: the SQL never runs), and shown escaped: HTML-escaped
in pages, markdown- and mention-escaped in Discord embed payloads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from accounts.models import KickUser
from gtb import embeds as gtb_embeds
from gtb import services as gtb_services
from gtb.selectors import GtbStats, TopWinner
from kickbot.models import AuditLog, Community
from raffle.services.periods import period_open
from raffle.services.tickets import tickets_admin_adjust
from slots import embeds as slot_embeds
from slots.selectors import SlotInfo
from timers.models import TimedMessage
from watchtime.models import WatchTotal

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
SQL = "'; DROP TABLE kickbot_community; --"
HOSTILE = [
    SCRIPT,
    SQL,
    '"><img src=x onerror=alert(1)>',
    "@everyone @here",
    "<@123456789012345678> <@&987654321098765432>",
    "**bold** __under__ `code` ||spoiler||",  # usernames are at most 64 characters
    "\u202egnp.exe ünïcødé 💰",
]


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _strings(v)


def assert_embed_safe(embed: Any, hostile: str) -> None:
    """No live mention, no raw markdown of the hostile text, in any string of the embed payload."""
    payload = embed if isinstance(embed, dict) else embed.to_dict()
    for text in _strings(payload):
        assert not re.search(r"@(everyone|here)\b", text), text
        assert not re.search(r"<@[!&]?\d+>", text), text
        for token in ("**bold**", "__under__", "`code`", "||spoiler||"):
            assert token not in text, (token, text)


def assert_page_escaped(html: str, hostile: str, *, shown: bool = True) -> None:
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html
    if shown and hostile == SCRIPT:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def assert_tables_intact() -> None:
    assert Community.objects.exists()  # the DROP TABLE never ran


# --- Discord embeds --------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_slot_request_embeds_escape_viewer_text(hostile: str) -> None:
    slot = SlotInfo(
        **{
            f: None
            for f in SlotInfo.__dataclass_fields__  # type: ignore[attr-defined]
        }
        | {"id": 1, "name": "Gates", "slug": "gates", "provider": "Pragmatic"}
    )
    now = datetime(2026, 11, 1, tzinfo=UTC)
    for embed in (
        slot_embeds.request_embed(
            request_id=1, username=hostile, text=hostile, slot=None, created_at=now, position=1
        ),
        slot_embeds.pick_embed(number=1, username=hostile, text=hostile, slot=slot, proof="p"),
    ):
        assert_embed_safe(embed, hostile)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_gtb_embeds_escape_titles_and_winner_names(community: Community, hostile: str) -> None:
    kick = KickUser.objects.create(user_id=77, username=hostile)
    gtb_services.gtb_session_start(community_id=community.pk, title=hostile, prize_cents=100, actor_label="t")
    gtb_services.gtb_guess_submit(
        community_id=community.pk, kick_user_id=kick.pk, username=hostile, amount_cents=1000
    )
    view = gtb_services.gtb_session_resolve(
        community_id=community.pk, final_balance_cents=900, actor_label="t"
    )
    assert view.title  # stored through the real service
    for embed in (
        gtb_embeds.panel_embed(view),
        gtb_embeds.result_embed(view),
        gtb_embeds.stats_embed(GtbStats(1, 1, 100, [TopWinner(username=hostile, wins=1)])),
    ):
        assert_embed_safe(embed, hostile)
    assert_tables_intact()


def test_slot_request_embed_does_not_render_a_viewers_masked_link() -> None:
    embed = slot_embeds.request_embed(
        request_id=1,
        username="v",
        text="[free spins](https://evil.example)",
        slot=None,
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
        position=1,
    )
    assert not any("](https://evil.example)" in t for t in _strings(embed))


# --- pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_leaderboard_page_escapes_usernames(client: Client, community: Community, hostile: str) -> None:
    KickUser.objects.create(user_id=1, username=hostile)
    WatchTotal.objects.create(community=community, kick_user_id=1, minutes=61)
    response = client.get(f"/leaderboard/{community.kick_channel_slug}/")
    assert response.status_code == 200
    assert_page_escaped(response.content.decode(), hostile)
    assert KickUser.objects.get(pk=1).username == hostile


@pytest.mark.parametrize("hostile", HOSTILE)
def test_raffle_reason_and_username_are_escaped_on_the_audit_and_period_pages(
    client: Client, community: Community, admin_user: Any, hostile: str
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    period = period_open(
        community=community,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=9),
        actor_label="t",
    )
    KickUser.objects.create(user_id=5, username=hostile)
    tickets_admin_adjust(
        community_id=community.pk, kick_user_id=5, amount=3, remove=False, reason=hostile, actor_label=hostile
    )
    assert AuditLog.objects.filter(action__startswith="raffle").exists()
    client.force_login(admin_user)
    audit = client.get("/dashboard/audit/")
    assert audit.status_code == 200
    assert_page_escaped(audit.content.decode(), hostile)
    page = client.get(f"/raffle/{period.pk}/")
    assert page.status_code == 200
    assert_page_escaped(page.content.decode(), hostile, shown=False)  # open period: commitment only
    assert_tables_intact()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_timer_text_is_stored_verbatim_and_escaped_in_the_admin(
    client: Client, community: Community, owner: Any, hostile: str
) -> None:
    timer = TimedMessage.objects.create(community=community, text=hostile)
    client.force_login(owner)
    changelist = client.get("/admin/timers/timedmessage/")
    assert changelist.status_code == 200
    assert_page_escaped(changelist.content.decode(), hostile)
    change = client.get(f"/admin/timers/timedmessage/{timer.pk}/change/")
    assert_page_escaped(change.content.decode(), hostile)
    assert TimedMessage.objects.get(pk=timer.pk).text == hostile
    assert_tables_intact()
