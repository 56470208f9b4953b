"""Dashboard rules and the reads behind its pages: ticket limits, bad input, charts, rollup, forget_user."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import KickUser, Link
from dashboard import charts, services
from dashboard.models import TicketDay
from gtb.models import GtbGuess, GtbSession
from kickbot.errors import InvalidInput, NotAllowed
from kickbot.models import AuditLog
from raffle.models import RafflePeriod, RaffleWinner, TicketBalance, TicketEntry
from raffle.services.rollover import period_freeze
from raffle.services.tickets import tickets_admin_adjust
from slots.models import SlotRequest
from tests.dashboard.conftest import LINKED, PLAIN, World
from watchtime.models import WatchMonthly, WatchTick, WatchTotal

pytestmark = pytest.mark.django_db


def _balance(world: World, uid: int = LINKED) -> int:
    row = TicketBalance.objects.filter(period=world.period, kick_user_id=uid).first()
    return row.total if row else 0


# --- tickets from the dashboard -------------------------------------------------------------------


def test_moderator_gives_up_to_the_limit(world: World, moderator: Any) -> None:
    new = services.dashboard_tickets_adjust(
        community_id=world.community.pk,
        kick_user_id=LINKED,
        amount=services.MODERATOR_TICKET_LIMIT,
        remove=False,
        reason="raid",
        user=moderator,
    )
    assert new == 50 + services.MODERATOR_TICKET_LIMIT


def test_moderator_over_the_limit_is_refused_and_nothing_changes(world: World, moderator: Any) -> None:
    with pytest.raises(NotAllowed):
        services.dashboard_tickets_adjust(
            community_id=world.community.pk,
            kick_user_id=LINKED,
            amount=services.MODERATOR_TICKET_LIMIT + 1,
            remove=False,
            reason="raid",
            user=moderator,
        )
    assert _balance(world) == 50


def test_moderator_may_not_remove_tickets(world: World, moderator: Any) -> None:
    with pytest.raises(NotAllowed):
        services.dashboard_tickets_adjust(
            community_id=world.community.pk,
            kick_user_id=LINKED,
            amount=1,
            remove=True,
            reason="x",
            user=moderator,
        )
    assert _balance(world) == 50


def test_admin_gives_beyond_the_moderator_limit(world: World, admin_user: Any) -> None:
    services.dashboard_tickets_adjust(
        community_id=world.community.pk,
        kick_user_id=LINKED,
        amount=5000,
        remove=False,
        reason="prize",
        user=admin_user,
    )
    assert _balance(world) == 5050


def test_double_submitted_ticket_form_gives_once(world: World, admin_user: Any) -> None:
    for _ in range(2):
        services.dashboard_tickets_adjust(
            community_id=world.community.pk,
            kick_user_id=LINKED,
            amount=10,
            remove=False,
            reason="x",
            user=admin_user,
            request_key="form-1",
        )
    assert _balance(world) == 60


@pytest.mark.parametrize(
    "amount", ["", "abc", "-5", "0", "1.5", "nan", "inf", "1e3", "99999999999999999999999", "５", "@everyone"]
)
def test_bad_ticket_amounts_get_a_message_and_change_nothing(
    client: Client, world: World, admin_user: Any, amount: str
) -> None:
    client.force_login(admin_user)
    response = client.post(
        f"/dashboard/users/{LINKED}/tickets/", {"op": "give", "amount": amount, "reason": "x"}, follow=True
    )
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert errors and ("number" in errors[0].lower() or "between" in errors[0].lower()), errors
    assert _balance(world) == 50


def test_ticket_reason_is_required(client: Client, world: World, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = client.post(f"/dashboard/users/{LINKED}/tickets/", {"op": "give", "amount": "5"}, follow=True)
    assert any("reason" in str(m).lower() for m in response.context["messages"])
    assert _balance(world) == 50


def test_viewer_text_is_escaped_in_pages(client: Client, world: World, owner: Any) -> None:
    KickUser.objects.filter(user_id=PLAIN).update(username="<script>alert(1)</script>")
    client.force_login(owner)
    body = client.get(f"/dashboard/users/{PLAIN}/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_bad_settings_value_is_refused_with_its_field(client: Client, world: World, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = client.post(
        "/dashboard/settings/slots/",
        {"cooldown_s": "-1", "max_open_per_user": "2", "max_length": "150"},
        follow=True,
    )
    assert any("cooldown" in str(m).lower() for m in response.context["messages"])
    assert not AuditLog.objects.filter(action="slots.settings").exists()


def test_gtb_final_balance_junk_is_refused(client: Client, world: World, moderator: Any) -> None:
    from tests.dashboard.conftest import running_gtb

    running_gtb(world.community)
    client.force_login(moderator)
    for junk in ("nan", "inf", "-5", "1e3", "lots"):
        client.post("/dashboard/gtb/resolve/", {"final": junk})
    assert not GtbSession.objects.filter(status=GtbSession.Status.RESOLVED).exists()


def test_user_search_matches_kick_name_prefix_case_insensitively(
    client: Client, world: World, viewer: Any
) -> None:
    client.force_login(viewer)
    body = client.get("/dashboard/users/?q=SLOTf").content.decode()
    assert "SlotFan" in body and "lurker" not in body


def test_user_search_matches_discord_id(client: Client, world: World, viewer: Any) -> None:
    client.force_login(viewer)
    body = client.get("/dashboard/users/?q=555000000000000001").content.decode()
    assert "SlotFan" in body


# --- charts ------------------------------------------------------------------------------------


def test_watch_chart_sums_viewer_minutes_per_day(world: World) -> None:
    now = timezone.now()
    WatchTick.objects.create(
        community=world.community, bucket=now - timedelta(minutes=2), viewers=10, minutes=1
    )
    WatchTick.objects.create(
        community=world.community, bucket=now - timedelta(minutes=1), viewers=5, minutes=1
    )
    chart = charts.watch_minutes_per_day(community_id=world.community.pk)
    assert len(chart["labels"]) == charts.DAYS
    assert chart["datasets"][0]["data"][-1] == 15


def test_ticket_chart_splits_sources_and_counts_removals(world: World) -> None:
    tickets_admin_adjust(
        community_id=world.community.pk,
        kick_user_id=LINKED,
        amount=20,
        remove=True,
        reason="x",
        actor_label="t",
    )
    chart = charts.tickets_per_day(community_id=world.community.pk)
    by_label = {d["label"]: d["data"][-1] for d in chart["datasets"]}
    assert by_label["Admin"] == 30 and by_label["Watchtime"] == 0


def test_ticket_rollup_then_live_entries_count_once(world: World, clock: Any) -> None:
    clock.shift(timedelta(minutes=30))
    assert services.ticket_days_refresh(community_id=world.community.pk) == 1
    assert services.ticket_days_refresh(community_id=world.community.pk) == 0  # a rerun adds nothing
    tickets_admin_adjust(
        community_id=world.community.pk,
        kick_user_id=LINKED,
        amount=7,
        remove=False,
        reason="x",
        actor_label="t",
    )
    chart = charts.tickets_per_day(community_id=world.community.pk)
    assert {d["label"]: d["data"][-1] for d in chart["datasets"]}["Admin"] == 57
    assert TicketDay.objects.get(community=world.community, source="admin").amount == 50


def test_slot_request_chart_counts_the_hour(world: World) -> None:
    chart = charts.slot_requests_per_hour(community_id=world.community.pk)
    assert sum(chart["datasets"][0]["data"]) == 1 and chart["datasets"][0]["data"][-1] == 1


def test_link_chart_counts_link_created_audit_rows(world: World) -> None:
    AuditLog.objects.create(community=world.community, action="link.created", actor_label="discord:1")
    chart = charts.link_signups_per_day(community_id=world.community.pk)
    assert chart["datasets"][0]["data"][-1] == 1


def test_overview_embeds_chart_json(client: Client, world: World, viewer: Any) -> None:
    client.force_login(viewer)
    body = client.get("/dashboard/").content.decode()
    for chart_id in ("chart-watch", "chart-tickets", "chart-requests", "chart-links"):
        assert f'id="{chart_id}"' in body


# --- forget_user -------------------------------------------------------------------------------


def _viewer_data(world: World) -> None:
    WatchTotal.objects.create(community=world.community, kick_user_id=LINKED, minutes=90)
    WatchMonthly.objects.create(
        community=world.community, kick_user_id=LINKED, month="2026-11-01", minutes=90
    )
    session = GtbSession.objects.create(
        community=world.community, title="r", opened_by="t", opened_at=timezone.now()
    )
    GtbGuess.objects.create(
        session=session,
        kick_user_id=LINKED,
        username="SlotFan",
        amount_cents=100,
        first_guessed_at=timezone.now(),
        updated_at=timezone.now(),
    )
    SlotRequest.objects.create(
        community=world.community,
        kick_message_id="m2",
        kick_user_id=LINKED,
        kick_username="SlotFan",
        text="x",
        created_at=timezone.now(),
    )


def test_forget_user_dry_run_prints_and_changes_nothing(world: World) -> None:
    _viewer_data(world)
    out = StringIO()
    call_command("forget_user", "slotfan", "--dry-run", stdout=out)
    assert "delete 1 discord links" in out.getvalue() and "Dry run" in out.getvalue()
    assert (
        KickUser.objects.filter(user_id=LINKED).exists() and Link.objects.filter(kick_user_id=LINKED).exists()
    )
    assert not AuditLog.objects.filter(action="user.forget").exists()


def test_forget_user_deletes_the_viewers_data(world: World) -> None:
    _viewer_data(world)
    call_command("forget_user", str(LINKED), stdout=StringIO())
    assert not KickUser.objects.filter(user_id=LINKED).exists()
    assert not Link.objects.filter(kick_user_id=LINKED).exists()
    assert not WatchTotal.objects.filter(kick_user_id=LINKED).exists()
    assert not WatchMonthly.objects.filter(kick_user_id=LINKED).exists()
    assert not GtbGuess.objects.filter(kick_user_id=LINKED).exists()
    assert not SlotRequest.objects.filter(kick_user_id=LINKED).exists()
    # Open period: the append-only ledger keeps the id; a removal entry takes the tickets away.
    assert TicketBalance.objects.get(kick_user_id=LINKED, period=world.period).total == 0
    assert AuditLog.objects.filter(action="user.forget", data__kick_user_id=LINKED).exists()
    assert not AuditLog.objects.filter(data__kick_username="SlotFan").exists()


def test_forget_user_keeps_drawn_proof_rows_by_id_without_a_name(world: World) -> None:
    period_freeze(community_id=world.community.pk, actor_label="t")
    RaffleWinner.objects.create(
        period=world.period, k=0, kick_user_id=LINKED, username="SlotFan", ticket=1, total=50, tickets=50
    )
    call_command("forget_user", str(LINKED), stdout=StringIO())
    assert TicketEntry.objects.filter(kick_user_id=LINKED, period=world.period).exists()
    assert RafflePeriod.objects.get(pk=world.period.pk).snapshot_hash  # untouched
    assert RaffleWinner.objects.get(period=world.period).username == ""


def test_forget_unknown_name_is_an_error(world: World) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("forget_user", "nobody-here", stdout=StringIO())


# --- services added to other apps ------------------------------------------------------------


def test_watch_settings_update_validates_and_audits(world: World) -> None:
    from watchtime.credit import watch_settings_update

    with pytest.raises(InvalidInput):
        watch_settings_update(community_id=world.community.pk, actor_label="t", min_active_chatters=0)
    watch_settings_update(community_id=world.community.pk, actor_label="t", min_active_chatters=4)
    assert AuditLog.objects.filter(action="watchtime.settings").count() == 1


def test_timer_update_edits_and_audits(world: World) -> None:
    from timers.models import TimedMessage
    from timers.services import timed_message_update

    timed_message_update(
        community_id=world.community.pk,
        timer_id=world.timer_id,
        text="New",
        interval_minutes=5,
        min_chat_lines=1,
        live_only=False,
        enabled=False,
        actor_label="t",
    )
    row = TimedMessage.objects.get(pk=world.timer_id)
    assert (row.text, row.interval_minutes, row.enabled) == ("New", 5, False)
    assert AuditLog.objects.filter(action="timer.update").exists()


def test_timer_update_of_another_communitys_timer_is_not_found(world: World) -> None:
    from tests.factories import CommunityFactory
    from timers.services import timed_message_update

    other = CommunityFactory()
    with pytest.raises(InvalidInput):
        timed_message_update(
            community_id=other.pk,
            timer_id=world.timer_id,
            text="x",
            interval_minutes=5,
            min_chat_lines=0,
            live_only=True,
            enabled=True,
            actor_label="t",
        )


def test_rollup_task_is_scheduled_and_sums_each_community(world: World, clock: Any) -> None:
    from django.conf import settings

    from dashboard.tasks import dashboard_ticket_days_refresh

    assert settings.CELERY_BEAT_SCHEDULE["dashboard-ticket-days"]["task"] == (
        "dashboard.tasks.dashboard_ticket_days_refresh"
    )
    clock.shift(timedelta(minutes=30))
    assert dashboard_ticket_days_refresh.delay().get() == 1


@pytest.mark.django_db
def test_kick_name_prefix_search_can_use_an_index_on_postgres(world: World) -> None:
    """``lower(username) LIKE 'x%'`` needs a text_pattern_ops index outside the C collation."""
    from django.db import connection
    from django.db.models.functions import Lower

    if connection.vendor != "postgresql":
        pytest.skip("operator classes are a Postgres feature")
    query = KickUser.objects.annotate(name_lower=Lower("username")).filter(name_lower__startswith="slotf")
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cur.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "kickuser_username_prefix" in plan
