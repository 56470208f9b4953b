"""The ticket ledger: sources award once, remainders carry, removals never go negative, frozen is frozen."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from kickbot.errors import InvalidInput
from kickbot.models import AuditLog
from raffle.errors import NoOpenPeriod
from raffle.models import RafflePeriod, ShuffleAccount, TicketBalance, TicketEntry, WatchWindow
from raffle.parsing import parse_ticket_amount
from raffle.services.periods import period_open, raffle_settings_update
from raffle.services.rollover import period_freeze
from raffle.services.shuffle import tickets_apply_wagers
from raffle.services.tickets import tickets_admin_adjust, tickets_award_gift, tickets_convert_watchtime
from tests.raffle.conftest import DEC, NOV, kick_user
from watchtime.models import WatchMonthly

pytestmark = pytest.mark.django_db

VIEWER = 4242


def balance(period: RafflePeriod, uid: int = VIEWER) -> TicketBalance:
    return TicketBalance.objects.get(period=period, kick_user_id=uid)


def watched(community: Any, minutes: int, uid: int = VIEWER, month: date = date(2026, 11, 1)) -> None:
    WatchMonthly.objects.update_or_create(
        community=community, kick_user_id=uid, month=month, defaults={"minutes": minutes}
    )


def assert_balances_match_ledger(period: RafflePeriod) -> None:
    for bal in TicketBalance.objects.filter(period=period):
        entries = TicketEntry.objects.filter(period=period, kick_user_id=bal.kick_user_id)
        assert bal.total == sum(e.amount for e in entries)
        for source in ("watchtime", "gift", "wager", "admin"):
            assert getattr(bal, source) == sum(e.amount for e in entries if e.source == source)


# --- watchtime ---------------------------------------------------------------------------------


def test_watchtime_59_minutes_give_9_and_one_more_minute_gives_10(
    community: Any, period: RafflePeriod
) -> None:
    watched(community, 59)
    assert tickets_convert_watchtime(community_id=community.pk) == 9
    watched(community, 60)
    assert tickets_convert_watchtime(community_id=community.pk) == 1
    assert balance(period).watchtime == 10
    assert list(TicketEntry.objects.values_list("source_key", flat=True).order_by("id")) == [
        f"{VIEWER}:9",
        f"{VIEWER}:10",
    ]


def test_watchtime_conversion_replayed_awards_once(community: Any, period: RafflePeriod) -> None:
    watched(community, 125)
    assert tickets_convert_watchtime(community_id=community.pk) == 20
    assert tickets_convert_watchtime(community_id=community.pk) == 0
    assert TicketEntry.objects.count() == 1
    assert balance(period).total == 20


def test_watchtime_uses_the_rate_committed_at_open(community: Any, period: RafflePeriod) -> None:
    raffle_settings_update(community_id=community.pk, actor_label="t", tickets_per_hour=100)
    watched(community, 60)
    assert tickets_convert_watchtime(community_id=community.pk) == 10


def test_watchtime_of_other_months_and_communities_does_not_count(
    community: Any, period: RafflePeriod
) -> None:
    from tests.factories import CommunityFactory

    watched(community, 600, month=date(2026, 10, 1))
    watched(CommunityFactory(), 600)
    assert tickets_convert_watchtime(community_id=community.pk) == 0


def test_period_opened_mid_month_does_not_count_earlier_minutes(community: Any, clock: Any) -> None:
    watched(community, 120)
    p = period_open(community=community, starts_at=timezone.now(), ends_at=DEC, actor_label="t")
    assert WatchWindow.objects.get(period=p).base_minutes == 120
    watched(community, 150)
    assert tickets_convert_watchtime(community_id=community.pk) == 5


# --- gifts ---------------------------------------------------------------------------------------


def test_gift_replayed_twice_awards_once(community: Any, period: RafflePeriod) -> None:
    for _ in range(2):
        tickets_award_gift(
            community_id=community.pk,
            gifter_id=VIEWER,
            gifter_username="gifter",
            quantity=5,
            event_key="evt-1",
        )
    assert balance(period).gift == 75
    assert TicketEntry.objects.count() == 1


def test_gift_replayed_in_the_next_period_is_not_counted_again(community: Any, period: RafflePeriod) -> None:
    tickets_award_gift(
        community_id=community.pk, gifter_id=VIEWER, gifter_username=None, quantity=1, event_key="evt-2"
    )
    period_freeze(community_id=community.pk, actor_label="t")
    nxt = period_open(community=community, starts_at=DEC, ends_at=DEC + timedelta(days=31), actor_label="t")
    assert (
        tickets_award_gift(
            community_id=community.pk, gifter_id=VIEWER, gifter_username=None, quantity=1, event_key="evt-2"
        )
        == 0
    )
    assert not TicketBalance.objects.filter(period=nxt).exists()


def test_pusher_gift_resolves_the_gifter_by_lowercase_name(community: Any, period: RafflePeriod) -> None:
    kick_user(VIEWER, "GiftKing")
    tickets_award_gift(
        community_id=community.pk,
        gifter_id=None,
        gifter_username="giftking",
        quantity=2,
        event_key="gift:giftking:a,b",
    )
    assert balance(period).gift == 30


@pytest.mark.parametrize("name", [None, "", "~anonymous", "nobody_known"])
def test_anonymous_or_unknown_gifter_is_logged_not_awarded(
    community: Any, period: RafflePeriod, name: str | None, caplog: Any
) -> None:
    caplog.set_level("INFO", logger="raffle.services.tickets")
    got = tickets_award_gift(
        community_id=community.pk, gifter_id=None, gifter_username=name, quantity=3, event_key="evt-anon"
    )
    assert got == 0
    assert TicketEntry.objects.count() == 0
    assert "not awarded" in caplog.text or "anonymous" in caplog.text


@pytest.mark.parametrize("quantity", [0, -1, 10_001, True])
def test_gift_with_absurd_quantity_awards_nothing(
    community: Any, period: RafflePeriod, quantity: Any
) -> None:
    tickets_award_gift(
        community_id=community.pk,
        gifter_id=VIEWER,
        gifter_username=None,
        quantity=quantity,
        event_key="evt-q",
    )
    assert TicketEntry.objects.count() == 0


# --- admin ---------------------------------------------------------------------------------------


def give(
    community: Any, amount: object, *, remove: bool = False, key: str | None = None, reason: str = ""
) -> int:
    return tickets_admin_adjust(
        community_id=community.pk,
        kick_user_id=VIEWER,
        amount=amount,
        remove=remove,
        reason=reason,
        actor_label="discord:1",
        request_key=key,
    )


def test_admin_give_is_audited_with_its_reason(community: Any, period: RafflePeriod) -> None:
    assert give(community, parse_ticket_amount("25"), reason="won the quiz") == 25
    audit = AuditLog.objects.get(action="raffle.tickets_give")
    assert audit.data == {"kick_user_id": VIEWER, "amount": 25, "reason": "won the quiz"}
    assert TicketEntry.objects.get().reason == "won the quiz"


def test_admin_give_replayed_with_the_same_request_awards_once(community: Any, period: RafflePeriod) -> None:
    give(community, 10, key="discord:555")
    give(community, 10, key="discord:555")
    assert balance(period).total == 10


def test_removal_below_zero_is_refused_and_changes_nothing(community: Any, period: RafflePeriod) -> None:
    give(community, 5)
    with pytest.raises(InvalidInput, match="only 5"):
        give(community, 6, remove=True)
    assert balance(period).total == 5
    assert TicketEntry.objects.count() == 1


def test_removal_to_exactly_zero_keeps_sources_consistent(community: Any, period: RafflePeriod) -> None:
    watched(community, 60)
    tickets_convert_watchtime(community_id=community.pk)
    assert give(community, 10, remove=True) == 0
    bal = balance(period)
    assert (bal.total, bal.watchtime, bal.admin) == (0, 10, -10)
    assert_balances_match_ledger(period)


@pytest.mark.parametrize(
    "amount",
    ["-5", "0", "nan", "inf", "1e3", "2.5", "", "abc", "１２", "@everyone", "9" * 50, "1000001", True, -1],
)
def test_admin_give_with_bad_amount_is_refused_and_changes_nothing(
    community: Any, period: RafflePeriod, amount: object
) -> None:
    """Text goes through the commands' parser first (as the cog does); the service refuses the rest."""
    with pytest.raises(InvalidInput):
        give(community, parse_ticket_amount(amount) if isinstance(amount, str) else amount)
    assert TicketEntry.objects.count() == 0
    assert not AuditLog.objects.filter(action__startswith="raffle.tickets").exists()


def test_admin_reason_too_long_is_refused(community: Any, period: RafflePeriod) -> None:
    with pytest.raises(InvalidInput, match="reason"):
        give(community, 5, reason="x" * 201)
    assert TicketEntry.objects.count() == 0


def test_admin_give_without_open_period_is_a_clear_refusal(community: Any, clock: Any) -> None:
    with pytest.raises(NoOpenPeriod):
        give(community, 5)


# --- frozen periods -------------------------------------------------------------------------------


def test_no_source_writes_to_a_frozen_period(community: Any, period: RafflePeriod) -> None:
    give(community, 5)
    period_freeze(community_id=community.pk, actor_label="t")
    watched(community, 600)
    assert tickets_convert_watchtime(community_id=community.pk) == 0
    assert (
        tickets_award_gift(
            community_id=community.pk, gifter_id=VIEWER, gifter_username=None, quantity=1, event_key="late"
        )
        == 0
    )
    ShuffleAccount.objects.create(
        community=community,
        kick_user_id=VIEWER,
        username="s",
        username_key="s",
        verified=True,
        verified_at=NOV,
    )
    assert tickets_apply_wagers(period_id=period.pk, amounts={"s": 10**9}) == 0
    with pytest.raises(NoOpenPeriod):
        give(community, 5)
    assert TicketEntry.objects.count() == 1
    assert balance(period).total == 5


def test_database_refuses_a_ledger_insert_into_a_frozen_period(community: Any, period: RafflePeriod) -> None:
    period_freeze(community_id=community.pk, actor_label="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketEntry.objects.create(
            period=period, kick_user_id=1, source="admin", amount=5, source_key="sneaky"
        )


def test_database_refuses_a_balance_change_in_a_frozen_period(community: Any, period: RafflePeriod) -> None:
    give(community, 5)
    period_freeze(community_id=community.pk, actor_label="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketBalance.objects.filter(period=period).update(total=500, admin=500)
    assert balance(period).total == 5


def test_database_refuses_editing_a_ledger_entry(community: Any, period: RafflePeriod) -> None:
    give(community, 5)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketEntry.objects.update(amount=500)


def test_database_allows_only_one_open_period_per_community(community: Any, period: RafflePeriod) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        RafflePeriod.objects.create(
            community=community,
            starts_at=NOV,
            ends_at=DEC,
            server_seed="0" * 64,
            server_seed_hash="x",
            drand_round=1,
            committed_at=NOV,
        )
