"""The whole link flow through the web views with a fake Kick: every outcome is a readable page."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.link_flow import link_request_create
from accounts.models import KickUser, Link, LinkRequest, OAuthState
from kickbot.models import AuditLog
from outbox.models import OutboxMessage
from tests.accounts.conftest import FakeKick, link_url, start

pytestmark = pytest.mark.django_db

ALICE_DISCORD = 111_000_000_000_000_001
BOB_DISCORD = 222_000_000_000_000_002
ALICE_KICK = (4_242, "Alice_On_Kick")


def refusals() -> list[str]:
    return [a.data["reason"] for a in AuditLog.objects.filter(action="link.refused").order_by("id")]


def link_log_rows() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(target="555000111").order_by("id"))


def test_link_success_writes_link_tells_user_and_link_log(
    client: Client, community: Any, fake_kick: FakeKick, link_logs: Any
) -> None:
    fake_kick.users_by_code["good-code"] = ALICE_KICK
    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))

    response = client.get("/link/callback/", {"code": "good-code", "state": state})

    assert response.status_code == 200
    assert b"Accounts linked" in response.content
    assert b"Alice_On_Kick" in response.content
    link = Link.objects.get(discord_user_id=ALICE_DISCORD)
    assert link.kick_user_id == 4_242
    assert KickUser.objects.get(pk=4_242).username == "Alice_On_Kick"
    assert AuditLog.objects.filter(action="link.created", community=community).count() == 1
    dm = OutboxMessage.objects.get(target=str(ALICE_DISCORD))
    assert dm.kind == "discord_message" and dm.payload["dm"] is True
    assert "Alice\\_On\\_Kick" in dm.payload["content"]  # markdown escaped
    [log_row] = link_log_rows()
    assert f"<@{ALICE_DISCORD}>" in log_row.payload["content"]
    assert log_row.community == community
    # The users call carried the token Kick issued for this code.
    users_call = fake_kick.requests[-1]
    assert users_call.headers["Authorization"] == "Bearer access-good-code"


def test_success_without_link_logs_enqueues_only_the_dm(
    client: Client, community: Any, fake_kick: FakeKick
) -> None:
    fake_kick.users_by_code["c"] = ALICE_KICK
    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))
    assert client.get("/link/callback/", {"code": "c", "state": state}).status_code == 200
    assert list(OutboxMessage.objects.values_list("target", flat=True)) == [str(ALICE_DISCORD)]


def test_tampered_signature_is_refused(client: Client, community: Any, fake_kick: FakeKick) -> None:
    path = link_url(community, ALICE_DISCORD)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")

    response = client.get(tampered)

    assert response.status_code == 400
    assert b"This link is not valid" in response.content
    assert not OAuthState.objects.exists()
    assert LinkRequest.objects.get().used_at is None  # the genuine link still works
    assert refusals() == ["bad_signature"]
    assert fake_kick.requests == []


def test_garbage_token_is_refused(client: Client, community: Any) -> None:
    response = client.get("/link/start/", {"t": "@everyone <script>"})
    assert response.status_code == 400
    assert b"This link is not valid" in response.content
    assert b"<script>" not in response.content


def test_expired_link_is_refused_and_logged(
    client: Client, community: Any, fake_kick: FakeKick, link_logs: Any
) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        path = link_url(community, ALICE_DISCORD)
        clock.shift(timedelta(minutes=11))
        response = client.get(path)

    assert response.status_code == 410
    assert b"expired" in response.content
    assert not OAuthState.objects.exists()
    assert refusals() == ["expired"]
    [row] = link_log_rows()
    assert "refused: expired" in row.payload["content"]


def test_reused_link_is_refused(client: Client, community: Any, fake_kick: FakeKick) -> None:
    path = link_url(community, ALICE_DISCORD)
    start(client, fake_kick, path)

    response = client.get(path)

    assert response.status_code == 410
    assert b"already used" in response.content
    assert OAuthState.objects.count() == 1
    assert refusals() == ["used"]


def test_a_new_link_voids_the_older_unused_one(client: Client, community: Any) -> None:
    old = link_url(community, ALICE_DISCORD)
    link_url(community, ALICE_DISCORD)
    response = client.get(old)
    assert response.status_code == 410


def test_reused_state_is_refused(client: Client, community: Any, fake_kick: FakeKick) -> None:
    fake_kick.users_by_code["c"] = ALICE_KICK
    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))
    assert client.get("/link/callback/", {"code": "c", "state": state}).status_code == 200
    calls = len(fake_kick.requests)

    response = client.get("/link/callback/", {"code": "c", "state": state})

    assert response.status_code == 410
    assert b"already finished" in response.content
    assert len(fake_kick.requests) == calls  # the code is never sent twice
    assert Link.objects.count() == 1
    assert refusals() == ["state_used"]


def test_unknown_state_is_refused(client: Client, community: Any, fake_kick: FakeKick) -> None:
    response = client.get("/link/callback/", {"code": "c", "state": "made-up"})
    assert response.status_code == 400
    assert b"not known" in response.content
    assert fake_kick.requests == []
    assert refusals() == ["unknown_state"]


def test_missing_state_is_refused(client: Client, db: Any) -> None:
    response = client.get("/link/callback/", {"code": "c"})
    assert response.status_code == 400
    assert refusals() == ["missing_state"]


def test_state_of_another_provider_is_unknown_here(
    client: Client, community: Any, fake_kick: FakeKick
) -> None:
    request = LinkRequest.objects.create(
        nonce="n1", community=community, discord_user_id=ALICE_DISCORD, expires_at=timezone.now()
    )
    OAuthState.objects.create(
        state="shuffle-state",
        provider="shuffle",
        link_request=request,
        code_verifier="v",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    response = client.get("/link/callback/", {"code": "c", "state": "shuffle-state"})
    assert response.status_code == 400
    assert OAuthState.objects.get().used_at is None
    assert fake_kick.requests == []


def test_expired_state_is_refused(client: Client, community: Any, fake_kick: FakeKick) -> None:
    fake_kick.users_by_code["c"] = ALICE_KICK
    with time_machine.travel(timezone.now(), tick=False) as clock:
        state = start(client, fake_kick, link_url(community, ALICE_DISCORD))
        clock.shift(timedelta(minutes=11))
        response = client.get("/link/callback/", {"code": "c", "state": state})
    assert response.status_code == 410
    assert b"longer than 10 minutes" in response.content
    assert not Link.objects.exists()
    assert fake_kick.requests == []


def test_kick_error_on_code_exchange_renders_a_page(
    client: Client, community: Any, fake_kick: FakeKick, link_logs: Any, caplog: Any
) -> None:
    fake_kick.token_status = 400
    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))

    with caplog.at_level(logging.DEBUG):
        response = client.get("/link/callback/", {"code": "secret-code-123", "state": state})

    assert response.status_code == 502
    assert b"Kick did not confirm the login" in response.content
    assert b"invalid_grant" not in response.content  # no exception text in the page
    assert not Link.objects.exists()
    assert refusals() == ["kick_error"]
    assert "refused: kick error" in link_log_rows()[0].payload["content"]
    assert "secret-code-123" not in caplog.text
    assert state not in caplog.text


def test_kick_down_on_code_exchange_says_unreachable(
    client: Client, community: Any, fake_kick: FakeKick
) -> None:
    fake_kick.token_status = 503
    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))
    response = client.get("/link/callback/", {"code": "c", "state": state})
    assert response.status_code == 502
    assert b"could not be reached" in response.content
    assert refusals() == ["kick_unreachable"]


def test_access_denied_renders_a_page(
    client: Client, community: Any, fake_kick: FakeKick, link_logs: Any
) -> None:
    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))

    response = client.get("/link/callback/", {"error": "access_denied", "state": state})

    assert response.status_code == 400
    assert b"You cancelled the login on Kick" in response.content
    assert fake_kick.requests == []
    assert not Link.objects.exists()
    assert refusals() == ["denied"]
    assert OAuthState.objects.get().used_at is not None
    assert len(link_log_rows()) == 1


def test_kick_account_linked_elsewhere_is_refused(
    client: Client, community: Any, fake_kick: FakeKick, link_logs: Any
) -> None:
    fake_kick.users_by_code["alice"] = ALICE_KICK
    fake_kick.users_by_code["bob-logs-in-as-alice"] = ALICE_KICK
    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))
    assert client.get("/link/callback/", {"code": "alice", "state": state}).status_code == 200

    state = start(client, fake_kick, link_url(community, BOB_DISCORD))
    response = client.get("/link/callback/", {"code": "bob-logs-in-as-alice", "state": state})

    assert response.status_code == 409
    assert b"already linked to another Discord account" in response.content
    assert list(Link.objects.values_list("discord_user_id", "kick_user_id")) == [(ALICE_DISCORD, 4_242)]
    assert refusals() == ["kick_account_taken"]
    assert not OutboxMessage.objects.filter(target=str(BOB_DISCORD)).exists()
    assert "kick account taken" in link_log_rows()[-1].payload["content"]


def test_same_user_relinking_the_same_account_is_fine(
    client: Client, community: Any, fake_kick: FakeKick
) -> None:
    fake_kick.users_by_code["c1"] = ALICE_KICK
    fake_kick.users_by_code["c2"] = (4_242, "Alice_Renamed")
    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))
    client.get("/link/callback/", {"code": "c1", "state": state})

    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))
    response = client.get("/link/callback/", {"code": "c2", "state": state})

    assert response.status_code == 200
    assert b"already linked to your Discord account" in response.content
    assert Link.objects.count() == 1
    assert KickUser.objects.get(pk=4_242).username == "Alice_Renamed"  # usernames change, ids do not


def test_linking_another_kick_account_replaces_the_old_link(
    client: Client, community: Any, fake_kick: FakeKick
) -> None:
    fake_kick.users_by_code["c1"] = ALICE_KICK
    fake_kick.users_by_code["c2"] = (5_555, "AliceAlt")
    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))
    client.get("/link/callback/", {"code": "c1", "state": state})
    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))

    assert client.get("/link/callback/", {"code": "c2", "state": state}).status_code == 200

    assert list(Link.objects.values_list("discord_user_id", "kick_user_id")) == [(ALICE_DISCORD, 5_555)]
    assert AuditLog.objects.filter(action="link.replaced").count() == 1


def test_no_secret_reaches_the_logs(client: Client, community: Any, fake_kick: FakeKick, caplog: Any) -> None:
    fake_kick.users_by_code["the-code"] = ALICE_KICK
    with caplog.at_level(logging.DEBUG):
        path = link_url(community, ALICE_DISCORD)
        state = start(client, fake_kick, path)
        client.get("/link/callback/", {"code": "the-code", "state": state})
    token = path.split("t=", 1)[1]
    for secret in (token, "the-code", state, "access-the-code", "refresh-the-code"):
        assert secret not in caplog.text
    verifier = OAuthState.objects.get().code_verifier
    assert verifier not in caplog.text


def test_verifier_is_encrypted_at_rest(client: Client, community: Any, fake_kick: FakeKick) -> None:
    from django.db import connection

    start(client, fake_kick, link_url(community, ALICE_DISCORD))
    verifier = OAuthState.objects.get().code_verifier
    with connection.cursor() as cursor:
        cursor.execute("SELECT code_verifier FROM accounts_oauthstate")
        [(raw,)] = cursor.fetchall()
    assert verifier and raw != verifier and verifier not in raw


def test_link_pages_are_rate_limited_per_ip(client: Client, community: Any, settings: Any) -> None:
    settings.LINK_RATE_LIMIT_PER_MINUTE = 3
    for _ in range(3):
        assert client.get("/link/start/", {"t": "x"}).status_code == 400
    response = client.get("/link/callback/", {"state": "x"})
    assert response.status_code == 429
    assert b"Too many link attempts" in response.content
    # Another address is not affected.
    assert client.get("/link/start/", {"t": "x"}, REMOTE_ADDR="10.0.0.9").status_code == 400


def test_linking_disabled_without_kick_app(community: Any, settings: Any) -> None:
    from accounts.errors import LinkingDisabled

    settings.KICK_CLIENT_ID = ""
    with pytest.raises(LinkingDisabled):
        link_request_create(community_id=community.id, discord_user_id=ALICE_DISCORD)


def _member_link(community: Any, **member: str) -> str:
    offer = link_request_create(community_id=community.id, discord_user_id=ALICE_DISCORD, **member)
    return offer.url.removeprefix("https://bot.example.test")


def test_link_page_names_the_discord_member_and_uses_nothing_until_confirmed(
    client: Client, community: Any, fake_kick: FakeKick
) -> None:
    path = _member_link(
        community,
        discord_username="alice",
        discord_display_name="Alice A",
        discord_avatar_url="https://cdn.discordapp.com/avatars/1/a.png",
    )

    for _ in range(2):  # opening it twice is fine: nothing is used yet
        page = client.get(path)
        assert page.status_code == 200
        assert b"Alice A" in page.content and b"@alice" in page.content
        assert b'<img class="avatar" src="https://cdn.discordapp.com/avatars/1/a.png"' in page.content
        assert b'method="post"' in page.content

    assert LinkRequest.objects.get().used_at is None
    assert not OAuthState.objects.exists()
    assert fake_kick.requests == []


def test_success_page_names_both_accounts(client: Client, community: Any, fake_kick: FakeKick) -> None:
    fake_kick.users_by_code["c"] = ALICE_KICK
    path = _member_link(community, discord_username="alice", discord_display_name="Alice A")
    state = start(client, fake_kick, path)

    page = client.get("/link/callback/", {"code": "c", "state": state})

    assert page.status_code == 200
    text = page.content.decode()
    assert "Alice A" in text and "@alice" in text and "Alice_On_Kick" in text
    assert str(ALICE_DISCORD) in text


def test_member_name_is_escaped_and_a_foreign_avatar_is_not_stored(
    client: Client, community: Any, fake_kick: FakeKick
) -> None:
    path = _member_link(
        community,
        discord_username="x\x00y",
        discord_display_name='<script>alert(1)</script><img src=x onerror="alert(2)">',
        discord_avatar_url="https://evil.example/pixel.png",
    )
    request = LinkRequest.objects.get()
    assert request.discord_avatar_url == ""
    assert request.discord_username == "xy"

    page = client.get(path)

    assert b"<script>alert(1)" not in page.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content
    assert b"evil.example" not in page.content
    assert b'<img class="avatar"' not in page.content


@pytest.mark.parametrize(
    "avatar",
    [
        "javascript:alert(1)",
        'https://cdn.discordapp.com/a.png" onerror="alert(1)',
        "http://cdn.discordapp.com/a.png",
        "https://cdn.discordapp.com.evil.example/a.png",
        "https://cdn.discordapp.com/" + "a" * 600,
    ],
)
def test_only_discord_cdn_avatars_are_kept(community: Any, avatar: str) -> None:
    link_request_create(community_id=community.id, discord_user_id=ALICE_DISCORD, discord_avatar_url=avatar)
    assert LinkRequest.objects.get().discord_avatar_url == ""


def test_thousand_refused_anonymous_attempts_write_bounded_audit_rows(
    client: Client, community: Any, fake_kick: FakeKick, settings: Any
) -> None:
    """Attack: an anonymous client sends 1,000 refused link attempts (made-up states, forged links,
    a replayed callback). The audit log gets one row per reason (and link request) per hour, each
    counting its repeats, not 1,000 rows."""
    settings.LINK_RATE_LIMIT_PER_MINUTE = 10_000
    fake_kick.users_by_code["c"] = ALICE_KICK
    state = start(client, fake_kick, link_url(community, ALICE_DISCORD))
    assert client.get("/link/callback/", {"code": "c", "state": state}).status_code == 200
    before = AuditLog.objects.count()

    attacker = Client()
    for i in range(400):
        assert attacker.get("/link/callback/", {"code": "c", "state": f"made-up-{i}"}).status_code == 400
    for i in range(300):
        assert attacker.get("/link/start/", {"t": f"forged-{i}"}).status_code == 400
    for _ in range(300):
        assert attacker.get("/link/callback/", {"code": "c", "state": state}).status_code == 410

    rows = list(AuditLog.objects.filter(action="link.refused").order_by("id"))
    assert AuditLog.objects.count() - before == len(rows) == 3
    counts = {row.data["reason"]: row.data["count"] for row in rows}
    assert counts == {"unknown_state": 400, "bad_signature": 300, "state_used": 300}
    assert Link.objects.count() == 1


def test_refusal_rows_start_again_in_the_next_hour(client: Client, community: Any, settings: Any) -> None:
    settings.LINK_RATE_LIMIT_PER_MINUTE = 10_000
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.get("/link/start/", {"t": "forged"})
        client.get("/link/start/", {"t": "forged"})
        clock.shift(timedelta(hours=1))
        client.get("/link/start/", {"t": "forged"})
    assert sorted(a.data["count"] for a in AuditLog.objects.filter(action="link.refused")) == [1, 2]
