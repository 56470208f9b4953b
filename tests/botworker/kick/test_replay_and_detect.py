from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command

from gifts.models import GiftPurchase
from kickbot import kick
from kickbot.models import Community
from raffle.models import TicketEntry
from tests.factories import CommunityFactory, raffle_open_now

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kick"


def run_replay(path: Path, *extra: str) -> dict[str, int]:
    out = io.StringIO()
    call_command("kick_replay", "--file", str(path), "--max-speed", *extra, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_replay_of_one_gift_purchase_awards_its_gifter_once(tmp_path: Path) -> None:
    community = CommunityFactory(kick_chatroom_id=2915314, kick_channel_id=2930000)
    lines = [
        json.dumps({"frame": json.loads(line)})
        for line in (FIXTURES / "pusher" / "gift_purchase_5.jsonl").read_text().splitlines()
        if line.strip()
    ]
    chat = json.loads((FIXTURES / "pusher" / "chat_message.json").read_text())
    webhook = json.loads((FIXTURES / "webhooks" / "chat_message_sent.json").read_text())
    file = tmp_path / "traffic.jsonl"
    file.write_text(
        "\n".join(
            [
                "# a recorded session",
                *lines,
                json.dumps({"frame": chat}),
                json.dumps({"frame": chat}),  # duplicate delivery
                "",
                "not json",
                json.dumps(
                    {
                        "webhook": webhook["body"],
                        "type": "chat.message.sent",
                        "id": "01HWEBHOOK0000000000000000",
                    }
                ),
            ]
        )
    )
    raffle_open_now(community)
    summary = run_replay(file)
    assert summary["read"] == len(lines) + 4
    assert summary["errors"] == 1
    # the gift purchase (reported once without its gifter's id, once more with it from the later
    # ChatMessageSentEvent) + one chat line; the repeated frame and the webhook copy of the same
    # line are duplicates
    assert summary["events"] == 3
    assert summary["duplicates"] == 2
    assert summary["replies"] == 0
    purchase = GiftPurchase.objects.get()
    assert (purchase.gifter_id, purchase.quantity, purchase.status) == (4455667, 5, "awarded")
    assert list(TicketEntry.objects.values_list("kick_user_id", "amount")) == [(4455667, 75)]


@pytest.mark.django_db(transaction=True)
def test_replay_counts_a_gift_nobody_can_attribute_as_an_error(tmp_path: Path) -> None:
    """Only the frames without a user id: the gifter never chatted, no webhook came."""
    community = CommunityFactory(kick_chatroom_id=2915314, kick_channel_id=2930000)
    raffle_open_now(community)
    kept = ("GiftedSubscriptionsEvent", "LuckyUsersWhoGotGiftSubscriptionsEvent", "ChannelSubscriptionEvent")
    lines = [
        json.dumps({"frame": json.loads(line)})
        for line in (FIXTURES / "pusher" / "gift_purchase_5.jsonl").read_text().splitlines()
        if line.strip() and json.loads(line)["event"].endswith(kept)
    ]
    file = tmp_path / "traffic.jsonl"
    file.write_text("\n".join(lines))
    summary = run_replay(file)
    assert (summary["read"], summary["events"], summary["errors"]) == (3, 1, 1)
    assert GiftPurchase.objects.get().status == "unattributed"
    assert not TicketEntry.objects.exists()


@pytest.mark.django_db
def test_replay_needs_a_configured_community(tmp_path: Path) -> None:
    file = tmp_path / "x.jsonl"
    file.write_text("")
    with pytest.raises(CommandError, match="no community"):
        run_replay(file)


def _fake_web(monkeypatch: pytest.MonkeyPatch, handler: Any) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    monkeypatch.setattr(
        kick, "http_client_factory", lambda: httpx.Client(transport=httpx.MockTransport(respond))
    )
    return seen


@pytest.mark.django_db
def test_detect_saves_the_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    community = CommunityFactory(kick_channel_slug="xqc", kick_chatroom_id=None, kick_channel_id=None)
    seen = _fake_web(
        monkeypatch, lambda r: httpx.Response(200, json={"id": 668, "user_id": 676, "chatroom": {"id": 668}})
    )
    out = io.StringIO()
    call_command("kick_detect", "xqc", "--save", stdout=out)
    assert seen[0].url.path == "/api/v2/channels/xqc"
    community.refresh_from_db()
    assert (community.kick_chatroom_id, community.kick_channel_id, community.kick_broadcaster_user_id) == (
        668,
        668,
        676,
    )


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (
            httpx.Response(403, text="<html>Just a moment...</html>", headers={"content-type": "text/html"}),
            "Cloudflare",
        ),
        (httpx.Response(404, json={"message": "Not found"}), "no channel"),
        (httpx.Response(200, json={"unexpected": True}), "did not have the ids"),
    ],
)
@pytest.mark.django_db
def test_detect_says_plainly_what_went_wrong(
    monkeypatch: pytest.MonkeyPatch, response: httpx.Response, message: str
) -> None:
    _fake_web(monkeypatch, lambda r: response)
    with pytest.raises(CommandError, match=message):
        call_command("kick_detect", "somebody")
    assert not Community.objects.exists()
