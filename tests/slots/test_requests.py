"""``slot_request_create``: acceptance, every refusal path (no write), idempotency, the per-user limit."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import OperationalError, connection

from kickbot.errors import InvalidInput, KickbotError, NotAllowed
from kickbot.models import AuditLog
from outbox.models import OutboxMessage
from slots.models import SlotBlacklist, SlotRequest, SlotRequester, SlotSettings
from slots.services import slot_request_create, slot_settings_update

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
CHANNEL = 555_000_000_000_000_001


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def rules(community: Any) -> SlotSettings:
    return SlotSettings.objects.create(community=community, channel_id=CHANNEL)


def request(
    community: Any, text: str = "gates of olympus", *, mid: str = "m1", user: int = 7, name: str = "viewer"
):  # type: ignore[no-untyped-def]
    return slot_request_create(
        community_id=community.pk, kick_user_id=user, username=name, text=text, message_id=mid
    )


def assert_nothing_written() -> None:
    assert not SlotRequest.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_accepted_request_is_stored_matched_and_posted(
    catalogue: None, community: Any, rules: Any, clock: Any
) -> None:
    result = request(community, "GATES OF OLYMPUS!!")

    assert result.created and result.position == 1
    assert result.slot is not None and result.slot.name == "Gates of Olympus"
    row = SlotRequest.objects.get()
    assert row.slot is not None
    assert (row.kick_message_id, row.kick_user_id, row.text, row.slot.name) == (
        "m1",
        7,
        "GATES OF OLYMPUS!!",
        "Gates of Olympus",
    )
    post = OutboxMessage.objects.get(kind="discord_message")
    assert post.target == str(CHANNEL)
    embed = post.payload["embeds"][0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Viewer"] == "viewer"
    assert (
        "Gates of Olympus" in fields["Slot"]
        and "Pragmatic Play" in fields["Slot"]
        and "96.50%" in fields["Slot"]
    )
    assert embed["timestamp"].startswith("2026-11-27T20:00:00")


def test_unknown_slot_is_accepted_as_free_text(catalogue: None, community: Any, rules: Any) -> None:
    result = request(community, "that new egyptian one with the cat")
    assert result.created and result.slot is None
    row = SlotRequest.objects.get()
    assert row.slot is None and row.text == "that new egyptian one with the cat"
    fields = {f["name"]: f["value"] for f in OutboxMessage.objects.get().payload["embeds"][0]["fields"]}
    assert fields["Slot"] == "Not in the catalogue"


def test_without_a_channel_the_request_is_stored_but_not_posted(catalogue: None, community: Any) -> None:
    assert request(community).created
    assert SlotRequest.objects.count() == 1
    assert not OutboxMessage.objects.exists()


def test_redelivered_chat_message_is_stored_once(catalogue: None, community: Any, rules: Any) -> None:
    first = request(community, mid="kick-msg-1")
    again = request(community, mid="kick-msg-1")
    assert first.created and not again.created
    assert again.request_id == first.request_id
    assert SlotRequest.objects.count() == 1
    assert OutboxMessage.objects.filter(kind="discord_message").count() == 1


def test_everyone_in_a_request_is_escaped_in_the_discord_payload(community: Any, rules: Any) -> None:
    request(community, "@everyone @here <@123456789012345678> **bold** play this", name="@everyone")
    payload = OutboxMessage.objects.get().payload
    assert payload["content"] is None
    text = json.dumps(payload["embeds"], ensure_ascii=False)
    assert "@everyone" not in text and "@here" not in text and "<@123456789012345678>" not in text
    fields = {f["name"]: f["value"] for f in payload["embeds"][0]["fields"]}
    assert fields["Request"].startswith("@\u200beveryone @\u200bhere")
    assert "\\*\\*bold\\*\\*" in fields["Request"]


# --- refusals: each has its own reply and writes nothing --------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "!!!", "\n\t", "\u200b", "@ # $"])
def test_empty_request_is_refused(community: Any, rules: Any, text: str) -> None:
    with pytest.raises(InvalidInput, match="Which slot"):
        request(community, text)
    assert_nothing_written()


def test_too_long_request_is_refused(community: Any, rules: Any) -> None:
    with pytest.raises(InvalidInput, match=r"too long \(max 200"):
        request(community, "x" * 201)
    assert_nothing_written()


def test_exactly_max_length_is_accepted(community: Any, rules: Any) -> None:
    assert request(community, "y" * 200).created


def test_huge_request_is_refused_without_matching_it(community: Any, rules: Any) -> None:
    with pytest.raises(InvalidInput, match="too long"):
        request(community, "🎰" * 100_000)
    assert_nothing_written()


def test_closed_requests_are_refused(community: Any, rules: Any) -> None:
    rules.requests_open = False
    rules.save()
    with pytest.raises(NotAllowed, match="closed"):
        request(community)
    assert_nothing_written()


def test_blacklisted_by_name_is_refused(community: Any, rules: Any) -> None:
    SlotBlacklist.objects.create(community=community, username="viewer")
    with pytest.raises(NotAllowed, match="can't request"):
        request(community, name="Viewer")
    assert_nothing_written()


def test_blacklisted_by_id_is_refused_after_a_rename(community: Any, rules: Any) -> None:
    SlotBlacklist.objects.create(community=community, username="oldname", kick_user_id=7)
    with pytest.raises(NotAllowed, match="can't request"):
        request(community, user=7, name="newname")
    assert_nothing_written()


def test_blacklist_is_per_community(community: Any, rules: Any) -> None:
    from tests.factories import CommunityFactory

    other: Any = CommunityFactory()
    SlotBlacklist.objects.create(community=other, username="viewer")
    assert request(community).created


def test_cooldown_refuses_and_says_how_long(community: Any, rules: Any, clock: Any) -> None:
    request(community, mid="a")
    slot_settings_update(community_id=community.pk, actor_label="t", max_open_per_user=5)
    clock.shift(timedelta(seconds=10))
    with pytest.raises(NotAllowed, match="again in 20 s"):
        request(community, mid="b")
    assert SlotRequest.objects.count() == 1
    clock.shift(timedelta(seconds=20))
    assert request(community, mid="c").created


def test_refused_request_does_not_start_the_cooldown(community: Any, rules: Any, clock: Any) -> None:
    with pytest.raises(KickbotError):
        request(community, "x" * 300, mid="a")
    with pytest.raises(KickbotError):
        request(community, "", mid="b")
    assert request(community, mid="c").created  # no cooldown from the refusals
    assert not SlotRequester.objects.exclude(last_accepted_at=NOW).exists()


def test_limit_refuses_a_second_open_request(community: Any, rules: Any, clock: Any) -> None:
    request(community, mid="a")
    clock.shift(timedelta(minutes=5))
    with pytest.raises(NotAllowed, match="already have a request"):
        request(community, "sweet bonanza", mid="b")
    assert SlotRequest.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_limit_frees_up_when_the_request_is_played(community: Any, rules: Any, clock: Any) -> None:
    from slots.panel import slot_request_finish

    request(community, mid="a")
    slot_request_finish(community_id=community.pk, status="played", actor_label="t")
    clock.shift(timedelta(minutes=5))
    assert request(community, mid="b").created


def test_limit_and_cooldown_are_per_viewer(community: Any, rules: Any) -> None:
    assert request(community, mid="a", user=1).created
    assert request(community, mid="b", user=2).created


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_cannot_exceed_the_limit(community: Any) -> None:
    SlotSettings.objects.create(community=community, cooldown_s=0, max_open_per_user=2)
    barrier = threading.Barrier(8)

    def attempt(i: int) -> str:
        barrier.wait()
        try:
            # The in-memory shared-cache SQLite test database answers a concurrent write with
            # SQLITE_LOCKED at once instead of waiting busy_timeout like the file database does;
            # the failed transaction rolled back, so retrying is exact. Postgres never retries.
            for _ in range(400):
                try:
                    request(community, f"slot number {i}", mid=f"m{i}")
                    return "ok"
                except NotAllowed:
                    return "refused"
                except OperationalError as exc:
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.005)
            raise AssertionError("database stayed locked")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))

    assert outcomes.count("ok") == 2
    assert outcomes.count("refused") == 6
    assert SlotRequest.objects.filter(kick_user_id=7).count() == 2


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cooldown_s", -1),
        ("cooldown_s", 10**9),
        ("max_open_per_user", 0),
        ("max_length", 201),
        ("max_length", float("nan")),
        ("max_length", "50"),
        ("max_open_per_user", True),
    ],
)
def test_bad_settings_are_refused(community: Any, field: str, value: Any) -> None:
    with pytest.raises(InvalidInput):
        slot_settings_update(community_id=community.pk, actor_label="t", **{field: value})
    assert not SlotSettings.objects.filter(community=community).exists()
    assert not AuditLog.objects.exists()


def test_settings_change_is_audited(community: Any) -> None:
    slot_settings_update(community_id=community.pk, actor_label="discord:1", cooldown_s=60)
    assert SlotSettings.objects.get(community=community).cooldown_s == 60
    assert AuditLog.objects.get(action="slots.settings").data == {"cooldown_s": [30, 60]}
