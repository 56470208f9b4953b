"""Gift attribution through the real pipeline, handlers and database: no purchase is lost or doubled.

Frames are the recorded shapes of one 5-sub purchase by GenerousGary (tests/fixtures/kick): the
authoritative ``GiftedSubscriptionsEvent`` comes first and has no user id; the gifter's id is only in
the later ``ChatMessageSentEvent`` (``user.id``) and ``GiftsLeaderboardUpdated`` (``gifter_id``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import KickUser
from botworker.commands.router import CommandRouter
from botworker.kick.pipeline import CommunityConfig, CommunityPipeline
from gifts import services
from gifts.models import GiftPurchase
from kickbot.commands import registry
from kickbot.event_handlers import autodiscover, handlers
from kickbot.integrations.kick.parsers import parse_pusher_frame
from kickbot.redis_client import get_async_redis, key
from raffle.models import TicketEntry
from tests.botworker.kick.conftest import pusher_lines, pusher_raw, webhook
from tests.factories import CommunityFactory, raffle_open_now
from tests.fakes.kick_chat import chat_frame

pytestmark = pytest.mark.django_db(transaction=True)

GARY = 4455667
FRAMES = pusher_lines("gift_purchase_5.jsonl")
GIFTED, LUCKY, SENT, CHANNEL_SUB, LEADERBOARD = FRAMES
NO_ID_FRAMES = [GIFTED, LUCKY, CHANNEL_SUB]


@dataclass
class World:
    community_id: int
    redis: Any

    def pipeline(self) -> CommunityPipeline:
        """One process's ingestion of the community (a second call: another process)."""
        cfg = CommunityConfig(
            id=self.community_id,
            slug="streamer-sue",
            prefix="!",
            chatroom_id=2915314,
            channel_id=2938540,
            broadcaster_user_id=2984711,
            bot_user_id=None,
        )
        router = CommandRouter(
            registry=registry, redis=self.redis, key_prefix=f"kbtest-gifts-{self.community_id}"
        )

        async def no_reply(*_: Any) -> None:
            return None

        return CommunityPipeline(
            community=cfg, redis=self.redis, router=router, handlers=handlers, on_reply=no_reply
        )


@pytest.fixture
async def world() -> AsyncIterator[World]:
    autodiscover()

    def setup() -> int:
        community = CommunityFactory(kick_chatroom_id=2915314, kick_channel_id=2938540)
        raffle_open_now(community)
        return int(community.pk)

    redis = get_async_redis()
    yield World(community_id=await sync_to_async(setup)(), redis=redis)
    await redis.aclose()


async def frames(pipe: CommunityPipeline, *raws: str) -> None:
    """Frames delivered back to back: one batch, as the drain worker takes them under load."""
    await pipe.on_frames([parse_pusher_frame(raw) for raw in raws])


@sync_to_async
def gift_tickets(user_id: int = GARY) -> list[int]:
    return list(
        TicketEntry.objects.filter(kick_user_id=user_id, source="gift").values_list("amount", flat=True)
    )


@sync_to_async
def purchases() -> list[dict[str, Any]]:
    return list(
        GiftPurchase.objects.order_by("id").values("gifter_id", "quantity", "status", "tickets", "sources")
    )


@sync_to_async
def username_of(user_id: int) -> str | None:
    return KickUser.objects.filter(user_id=user_id).values_list("username", flat=True).first()


async def test_first_time_gifter_who_never_chatted_is_awarded_from_the_frame_with_the_id(
    world: World,
) -> None:
    pipe = world.pipeline()
    await frames(pipe, *FRAMES)
    assert await gift_tickets() == [75]
    assert await username_of(GARY) == "GenerousGary"  # the KickUser comes from the gift's own data
    [purchase] = await purchases()
    assert (purchase["status"], purchase["quantity"], purchase["tickets"]) == ("awarded", 5, 75)


async def test_first_time_gifter_whose_chat_line_came_5_ms_earlier_is_awarded_by_name(world: World) -> None:
    """No frame of the purchase carries the id: the chat line just before it names the gifter."""
    pipe = world.pipeline()
    await frames(pipe, json.dumps(chat_frame("c-1", GARY, "GenerousGary", "gifting!")), *NO_ID_FRAMES)
    assert await gift_tickets() == [75]


async def test_gift_via_webhook_only_awards_and_names_the_gifter(world: World) -> None:
    pipe = world.pipeline()
    await pipe.on_webhook(*webhook("channel_subscription_gifts"))
    assert await gift_tickets() == [75]
    assert await username_of(GARY) == "GenerousGary"


@pytest.mark.parametrize("webhook_first", [False, True])
async def test_same_purchase_via_pusher_and_webhook_in_one_process_awards_once(
    world: World, webhook_first: bool
) -> None:
    pipe = world.pipeline()
    if webhook_first:
        await pipe.on_webhook(*webhook("channel_subscription_gifts"))
    await frames(pipe, *FRAMES)
    if not webhook_first:
        await pipe.on_webhook(*webhook("channel_subscription_gifts"))
    await pipe.tick()
    assert await gift_tickets() == [75]
    [purchase] = await purchases()
    assert purchase["sources"] in ("pusher,webhook", "webhook,pusher", "webhook", "pusher")


@pytest.mark.parametrize("webhook_first", [False, True])
async def test_same_purchase_via_pusher_and_webhook_in_two_processes_awards_once(
    world: World, webhook_first: bool
) -> None:
    """The webhook consumer and the Pusher reader share no coalescer (two bots, or a replay)."""
    bot, other = world.pipeline(), world.pipeline()
    if webhook_first:
        await other.on_webhook(*webhook("channel_subscription_gifts"))
    await frames(bot, *NO_ID_FRAMES)  # the Pusher side never learns the id
    if not webhook_first:
        await other.on_webhook(*webhook("channel_subscription_gifts"))
    assert await gift_tickets() == [75]
    assert len(await purchases()) == 1


async def test_webhook_redelivered_after_its_dedupe_expired_awards_once(world: World) -> None:
    first = world.pipeline()
    await first.on_webhook(*webhook("channel_subscription_gifts"))
    # Redis restarted empty: only the database remembers
    stale = [k async for k in world.redis.scan_iter(match=f"{first._dedupe_prefix}:*")]
    assert stale
    await world.redis.delete(*stale)
    await world.pipeline().on_webhook(*webhook("channel_subscription_gifts"))
    assert await gift_tickets() == [75]


async def test_parked_purchase_is_completed_when_the_gifter_chats_later(world: World) -> None:
    pipe = world.pipeline()
    await frames(pipe, *NO_ID_FRAMES)
    assert await gift_tickets() == []
    assert [p["status"] for p in await purchases()] == ["pending"]  # parked, not dropped
    await frames(pipe, json.dumps(chat_frame("c-2", GARY, "GenerousGary", "ty for the subs chat")))
    await pipe.tick()  # writes the chat line's user, then looks at the parked gift again
    assert await gift_tickets() == [75]
    assert pipe.stats.errors == 0


async def test_parked_purchase_is_completed_by_the_retry_job(world: World) -> None:
    from gifts.tasks import gift_purchases_retry

    await frames(world.pipeline(), *NO_ID_FRAMES)
    await sync_to_async(KickUser.objects.create)(user_id=GARY, username="GenerousGary")
    assert await sync_to_async(gift_purchases_retry)() == 1
    assert await gift_tickets() == [75]


async def test_gift_nobody_can_attribute_within_the_window_is_an_ingestion_error(world: World) -> None:
    pipe = world.pipeline()
    await frames(pipe, *NO_ID_FRAMES)
    assert await pipe.settle_gifts(expire_before=datetime.now(UTC) - services.ATTRIBUTION_WINDOW) == 1
    assert pipe.stats.errors == 0  # still inside the window: waiting is not an error
    assert await pipe.settle_gifts(expire_before=datetime.now(UTC) + timedelta(seconds=1)) == 0
    assert pipe.stats.errors == 1
    assert [p["status"] for p in await purchases()] == ["unattributed"]
    await pipe.publish_stats()
    assert await world.redis.hget(key("ingest", world.community_id), "errors") == b"1"


async def test_anonymous_gift_is_no_error_and_awards_nobody(world: World) -> None:
    pipe = world.pipeline()
    await pipe.on_webhook(*webhook("channel_subscription_gifts_anonymous"))
    await pipe.settle_gifts(expire_before=datetime.now(UTC) + timedelta(seconds=1))
    assert [p["status"] for p in await purchases()] == ["anonymous"]
    assert pipe.stats.errors == 0
    assert not await sync_to_async(TicketEntry.objects.exists)()


async def test_same_gifter_and_giftees_a_month_later_is_another_purchase(world: World) -> None:
    def record(at: datetime) -> services.GiftOutcome:
        return services.gift_purchase_record(
            community_id=world.community_id,
            gifter_username="GenerousGary",
            gifter_id=GARY,
            giftee_usernames=["alpha_fan"],
            quantity=1,
            purchased_at=at,
            source="webhook",
            ref=f"01J{at:%m}",
        )

    now = timezone.now()
    with time_machine.travel(now - timedelta(days=31), tick=False):
        first = await sync_to_async(record)(now - timedelta(days=31))
    second = await sync_to_async(record)(now)
    again = await sync_to_async(record)(now + timedelta(seconds=3))  # the same purchase, another report
    assert (first.merged, second.merged, again.merged) == (False, False, True)
    assert again.purchase_id == second.purchase_id and again.tickets == 0
    assert await gift_tickets() == [15, 15]


async def test_the_database_refuses_a_second_row_for_one_purchase(world: World) -> None:
    def twice() -> None:
        fields = {
            "community_id": world.community_id,
            "gifter_key": "generousgary",
            "giftees_key": "alpha_fan",
            "seq": 1,
            "quantity": 1,
            "purchased_at": timezone.now(),
        }
        GiftPurchase.objects.create(**fields)
        with transaction.atomic():
            GiftPurchase.objects.create(**fields)

    with pytest.raises(IntegrityError):
        await sync_to_async(twice)()


async def test_leaderboard_frame_completes_a_purchase_emitted_without_the_id(world: World) -> None:
    pipe = world.pipeline()
    await frames(pipe, GIFTED, LUCKY)
    assert await gift_tickets() == []
    await frames(pipe, pusher_raw("gifts_leaderboard_updated"))
    assert await gift_tickets() == [75]


async def test_gifter_known_only_by_id_is_awarded_and_named_through_the_kick_api(
    streamer: Any, fake: Any
) -> None:
    """A webhook whose gifter has an id but no name (not anonymous): awarded by id at once; the
    retry job asks ``GET /public/v1/users`` for the name, so the board shows a name, not a number."""
    from gifts.tasks import gift_purchases_retry

    autodiscover()
    world = World(community_id=streamer.pk, redis=get_async_redis())

    await sync_to_async(raffle_open_now)(streamer, days=9)
    fake.users[GARY] = "GenerousGary"
    event_type, message_id, raw = webhook("channel_subscription_gifts")
    body = json.loads(raw)
    body["gifter"].update(username=None, channel_slug=None)
    try:
        await world.pipeline().on_webhook(event_type, message_id, json.dumps(body).encode())
        assert await gift_tickets() == [75]
        assert await username_of(GARY) is None
        await sync_to_async(gift_purchases_retry)()
        assert await username_of(GARY) == "GenerousGary"
        assert [r.url.path for r in fake.requests if r.url.path.endswith("/users")] == ["/public/v1/users"]
    finally:
        await world.redis.aclose()


@pytest.mark.parametrize("quantity", [0, -5, 10_001, 10**9])
async def test_a_report_of_an_impossible_quantity_changes_nothing(world: World, quantity: int) -> None:
    outcome = await sync_to_async(services.gift_purchase_record)(
        community_id=world.community_id,
        gifter_username="GenerousGary",
        gifter_id=GARY,
        giftee_usernames=[],
        quantity=quantity,
        purchased_at=timezone.now(),
        source="pusher",
        ref="frame:junk",
    )
    assert outcome.status == "refused"
    assert await purchases() == [] and await gift_tickets() == []


async def test_a_report_with_the_id_but_no_name_joins_the_named_purchase(world: World) -> None:
    pipe = world.pipeline()
    await frames(pipe, *FRAMES)  # named, and the id from ChatMessageSentEvent
    event_type, message_id, raw = webhook("channel_subscription_gifts")
    body = json.loads(raw)
    body["gifter"].update(username=None, channel_slug=None)
    await world.pipeline().on_webhook(event_type, message_id, json.dumps(body).encode())  # another process
    assert await gift_tickets() == [75]
    assert len(await purchases()) == 1
