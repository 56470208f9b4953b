"""Shuffle wagers: claims, verification without lifetime conversion, baseline and deltas, failed polls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.utils import timezone

from kickbot.errors import InvalidInput, NotAllowed
from kickbot.integrations.shuffle import ShuffleClient
from kickbot.redis_client import get_redis, key
from raffle import tasks
from raffle.models import RafflePeriod, ShuffleAccount, ShuffleWager, TicketBalance, TicketEntry
from raffle.services.periods import period_open, raffle_settings_update
from raffle.services.rollover import period_freeze
from raffle.services.shuffle import shuffle_claim, shuffle_verify

pytestmark = pytest.mark.django_db

AFFILIATE = "aff-secret-1234-5678"
VIEWER, OTHER = 4242, 777


@pytest.fixture(autouse=True)
def affiliate(settings: Any) -> None:
    settings.SHUFFLE_AFFILIATE_ID = AFFILIATE


class FakeShuffle:
    def __init__(self) -> None:
        self.answer: Callable[[httpx.Request], httpx.Response] = lambda r: httpx.Response(200, json=[])
        self.calls: list[httpx.Request] = []

    def wagers(self, **usd: float) -> None:
        body = [{"username": name, "campaignCode": "c", "wagerAmount": v} for name, v in usd.items()]
        self.answer = lambda r: httpx.Response(200, json=body)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        return self.answer(request)

    def client(self) -> ShuffleClient:
        return ShuffleClient(
            "https://shuffle.test", client=httpx.Client(transport=httpx.MockTransport(self.handler))
        )


@pytest.fixture
def shuffle(monkeypatch: pytest.MonkeyPatch) -> FakeShuffle:
    fake = FakeShuffle()
    monkeypatch.setattr(tasks, "shuffle_client_factory", fake.client)
    return fake


def poll() -> tasks.PollOutcome:
    get_redis().delete(key("shuffle", "slot"))  # each test poll is "a minute later"
    return tasks.shuffle_poll_once()


def verified(community: Any, name: str = "Alice", uid: int = VIEWER) -> ShuffleAccount:
    return shuffle_verify(community_id=community.pk, kick_user_id=uid, username=name, actor_label="mod")


def wager_tickets(period: RafflePeriod, uid: int = VIEWER) -> int:
    bal = TicketBalance.objects.filter(period=period, kick_user_id=uid).first()
    return bal.wager if bal else 0


# --- claims --------------------------------------------------------------------------------------


def test_claim_is_unverified(community: Any) -> None:
    account = shuffle_claim(community_id=community.pk, kick_user_id=VIEWER, username="Alice")
    assert (account.username_key, account.verified) == ("alice", False)


def test_claim_of_a_name_claimed_by_someone_else_is_refused(community: Any) -> None:
    shuffle_claim(community_id=community.pk, kick_user_id=OTHER, username="alice")
    with pytest.raises(NotAllowed):
        shuffle_claim(community_id=community.pk, kick_user_id=VIEWER, username="ALICE")
    assert ShuffleAccount.objects.get().kick_user_id == OTHER


def test_a_new_claim_replaces_the_viewers_unverified_claim(community: Any) -> None:
    shuffle_claim(community_id=community.pk, kick_user_id=VIEWER, username="first")
    shuffle_claim(community_id=community.pk, kick_user_id=VIEWER, username="second")
    assert list(ShuffleAccount.objects.values_list("username_key", flat=True)) == ["second"]


def test_the_same_name_in_another_community_is_independent(community: Any) -> None:
    from tests.factories import CommunityFactory

    shuffle_claim(community_id=community.pk, kick_user_id=OTHER, username="alice")
    shuffle_claim(community_id=CommunityFactory().pk, kick_user_id=VIEWER, username="alice")
    assert ShuffleAccount.objects.count() == 2


@pytest.mark.parametrize("name", ["", "a", "@everyone", "x" * 33, "bad name", "naïve", "<@123>"])
def test_claim_with_a_bad_name_is_refused(community: Any, name: str) -> None:
    with pytest.raises(InvalidInput):
        shuffle_claim(community_id=community.pk, kick_user_id=VIEWER, username=name)
    assert not ShuffleAccount.objects.exists()


def test_verify_never_moves_a_name_from_another_viewer(community: Any) -> None:
    verified(community, "alice", OTHER)
    with pytest.raises(NotAllowed):
        verified(community, "alice", VIEWER)
    assert ShuffleAccount.objects.get().kick_user_id == OTHER


# --- wagers ----------------------------------------------------------------------------------------


def test_first_sight_sets_the_baseline_and_awards_nothing(
    community: Any, period: RafflePeriod, shuffle: FakeShuffle
) -> None:
    verified(community)
    shuffle.wagers(Alice=50_000)
    assert poll().status == "ok"
    row = ShuffleWager.objects.get()
    assert (row.baseline_cents, row.awarded) == (5_000_000, 0)
    assert wager_tickets(period) == 0


def test_deltas_after_the_baseline_earn_and_the_remainder_carries(
    community: Any, period: RafflePeriod, shuffle: FakeShuffle
) -> None:
    verified(community)
    shuffle.wagers(Alice=100)
    poll()
    shuffle.wagers(Alice=100 + 999.99)
    poll()
    assert wager_tickets(period) == 19
    shuffle.wagers(Alice=100 + 1000.00)
    poll()
    assert wager_tickets(period) == 20


def test_a_replayed_poll_awards_once(community: Any, period: RafflePeriod, shuffle: FakeShuffle) -> None:
    verified(community)
    shuffle.wagers(Alice=0)
    poll()
    shuffle.wagers(Alice=5000)
    poll()
    poll()
    assert wager_tickets(period) == 100
    assert TicketEntry.objects.count() == 1


def test_verification_uses_the_last_seen_amount_as_baseline_not_lifetime(
    community: Any, period: RafflePeriod, shuffle: FakeShuffle
) -> None:
    verified(community, "bob", OTHER)  # someone verified, so the poller runs
    shuffle.wagers(bob=0, Alice=250_000)  # Alice wagered a lot before she was verified
    poll()
    verified(community)
    assert ShuffleWager.objects.get(username_key="alice").baseline_cents == 25_000_000
    shuffle.wagers(bob=0, Alice=251_000)
    poll()
    assert wager_tickets(period) == 20


def test_unverified_names_earn_nothing(community: Any, period: RafflePeriod, shuffle: FakeShuffle) -> None:
    verified(community, "bob", OTHER)
    shuffle_claim(community_id=community.pk, kick_user_id=VIEWER, username="Alice")
    shuffle.wagers(Alice=0)
    poll()
    shuffle.wagers(Alice=10_000)
    poll()
    assert wager_tickets(period) == 0
    assert not ShuffleWager.objects.filter(username_key="alice").exists()


def test_a_new_period_starts_with_a_fresh_baseline(
    community: Any, period: RafflePeriod, shuffle: FakeShuffle, clock: Any
) -> None:
    from tests.raffle.conftest import DEC

    verified(community)
    shuffle.wagers(Alice=0)
    poll()
    shuffle.wagers(Alice=1000)
    poll()
    period_freeze(community_id=community.pk, actor_label="t")
    nxt = period_open(community=community, starts_at=timezone.now(), ends_at=DEC, actor_label="t")
    clock.shift(60)
    shuffle.wagers(Alice=0)
    poll()
    shuffle.wagers(Alice=1000)
    poll()
    assert wager_tickets(nxt) == 20


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: httpx.Response(200, json={"statusCode": 400, "message": "TOO_MANY_REQUEST"}),
        lambda r: httpx.Response(200, json={"data": [{"username": "Alice", "wagerAmount": 0}]}),
        lambda r: httpx.Response(200, text="oops"),
        lambda r: httpx.Response(502, text="bad gateway"),
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)),
    ],
    ids=["too-many-request-200", "non-list", "non-json", "http-502", "timeout"],
)
def test_a_failed_poll_leaves_the_ledger_untouched_and_backs_off(
    community: Any, period: RafflePeriod, shuffle: FakeShuffle, answer: Any, caplog: Any
) -> None:
    verified(community)
    shuffle.wagers(Alice=0)
    poll()
    shuffle.answer = answer
    before = list(ShuffleWager.objects.values_list("baseline_cents", "last_cents", "awarded"))
    assert poll().status == "error"
    assert TicketEntry.objects.count() == 0
    assert list(ShuffleWager.objects.values_list("baseline_cents", "last_cents", "awarded")) == before
    assert poll().status == "backoff"
    assert AFFILIATE not in caplog.text


def test_polls_at_most_once_a_minute(community: Any, period: RafflePeriod, shuffle: FakeShuffle) -> None:
    verified(community)
    assert poll().status == "ok"
    assert tasks.shuffle_poll_once().status == "too_soon"
    assert len(shuffle.calls) == 1


def test_no_affiliate_id_means_no_poll(
    community: Any, period: RafflePeriod, shuffle: FakeShuffle, settings: Any
) -> None:
    settings.SHUFFLE_AFFILIATE_ID = ""
    verified(community)
    assert poll().status == "skipped"
    assert shuffle.calls == []


def test_weighted_mode_uses_the_weighted_amount(community: Any, clock: Any, shuffle: FakeShuffle) -> None:
    from tests.raffle.conftest import DEC, NOV

    raffle_settings_update(community_id=community.pk, actor_label="t", wager_mode="weighted")
    period = period_open(community=community, starts_at=NOV, ends_at=DEC, actor_label="t")
    verified(community)
    body = [{"username": "Alice", "wagerAmount": 0, "weightedWagerAmount": 0}]
    shuffle.answer = lambda r: httpx.Response(200, json=body)
    poll()
    body2 = [{"username": "Alice", "wagerAmount": 10_000, "weightedWagerAmount": 1000}]
    shuffle.answer = lambda r: httpx.Response(200, json=body2)
    poll()
    assert wager_tickets(period) == 20


# --- campaign codes (issue 15, item 7) -------------------------------------------------------------


def test_only_the_committed_campaign_codes_count(community: Any, clock: Any, shuffle: FakeShuffle) -> None:
    """The affiliate answers one row per user and campaign code; a community counts only its codes."""
    from tests.raffle.conftest import DEC, NOV

    raffle_settings_update(
        community_id=community.pk, actor_label="t", shuffle_campaign_codes=" Streamer ,vip"
    )
    period = period_open(community=community, starts_at=NOV, ends_at=DEC, actor_label="t")
    assert period.rules["shuffle_campaign_codes"] == ["streamer", "vip"]
    verified(community)

    def answer(streamer: float, vip: float, other: float) -> None:
        body = [
            {"username": "Alice", "campaignCode": "STREAMER", "wagerAmount": streamer},
            {"username": "alice", "campaignCode": "vip", "wagerAmount": vip},
            {"username": "Alice", "campaignCode": "someone-else", "wagerAmount": other},
        ]
        shuffle.answer = lambda r: httpx.Response(200, json=body)

    answer(0, 0, 0)
    poll()  # first sight: the baseline
    answer(600, 400, 50_000)  # $1,000 under the community's codes, $50,000 under another streamer's
    assert poll().status == "ok"
    assert wager_tickets(period) == 20  # 20 per $1,000: the other code's wager is not counted


def test_no_campaign_codes_count_every_code(
    community: Any, period: RafflePeriod, shuffle: FakeShuffle
) -> None:
    verified(community)
    body = [
        {"username": "Alice", "campaignCode": "a", "wagerAmount": 0},
        {"username": "Alice", "campaignCode": "b", "wagerAmount": 0},
    ]
    shuffle.answer = lambda r: httpx.Response(200, json=body)
    poll()
    body = [
        {"username": "Alice", "campaignCode": "a", "wagerAmount": 500},
        {"username": "Alice", "campaignCode": "b", "wagerAmount": 500},
    ]
    shuffle.answer = lambda r: httpx.Response(200, json=body)
    poll()
    assert wager_tickets(period) == 20


def test_a_bad_campaign_code_setting_is_refused(community: Any) -> None:
    with pytest.raises(InvalidInput):
        raffle_settings_update(
            community_id=community.pk, actor_label="t", shuffle_campaign_codes="ok, @everyone"
        )
