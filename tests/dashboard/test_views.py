from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from dashboard.services import owner_setup_token_create
from kickbot.models import AuditLog, Community
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/", "/dashboard/setup/", "/dashboard/health/", "/dashboard/audit/"]
# Which role may open which page (True) or gets 403 (False).
ACCESS = {
    "viewer": {
        "/dashboard/": True,
        "/dashboard/setup/": False,
        "/dashboard/health/": True,
        "/dashboard/audit/": False,
    },
    "moderator": {
        "/dashboard/": True,
        "/dashboard/setup/": False,
        "/dashboard/health/": True,
        "/dashboard/audit/": False,
    },
    "admin_user": {p: True for p in PAGES},
    "owner": {p: True for p in PAGES},
}


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_is_sent_to_login(client: Client, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith("/dashboard/login/?next=")


@pytest.mark.parametrize("role", list(ACCESS))
def test_each_role_sees_only_its_pages(
    request: pytest.FixtureRequest, client: Client, community: Community, role: str
) -> None:
    client.force_login(request.getfixturevalue(role))
    for page, allowed in ACCESS[role].items():
        status = client.get(page).status_code
        assert status == (200 if allowed else 403), (role, page, status)


def test_login_with_password_reaches_overview(client: Client, viewer: Any, community: Community) -> None:
    response = client.post(
        "/dashboard/login/", {"username": viewer.username, "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert b"Overview" in response.content
    assert community.kick_channel_slug.encode() in response.content


def test_setup_post_updates_community_and_audits(
    client: Client, admin_user: Any, community: Community
) -> None:
    client.force_login(admin_user)
    data = {
        "name": community.name,
        "kick_channel_slug": "NewSlug",
        "kick_chatroom_id": "777",
        "timezone": "Europe/Berlin",
        "command_prefix": "!",
        "discord_guild_id": str(community.discord_guild_id),
        "kick_channel_id": str(community.kick_channel_id),
        "kick_broadcaster_user_id": str(community.kick_broadcaster_user_id),
    }
    response = client.post("/dashboard/setup/", data)
    assert response.status_code == 302
    community.refresh_from_db()
    assert (community.kick_channel_slug, community.kick_chatroom_id, community.timezone) == (
        "newslug",
        777,
        "Europe/Berlin",
    )
    entry = AuditLog.objects.get(action="community.update")
    assert entry.actor == admin_user
    assert set(entry.data) == {"kick_channel_slug", "kick_chatroom_id", "timezone"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Nowhere/Land"),
        ("kick_chatroom_id", "nan"),
        ("kick_chatroom_id", "-5"),
        ("kick_chatroom_id", "9" * 40),
        ("kick_channel_slug", "@everyone"),
        ("kick_channel_slug", "ストリーマー"),
        ("command_prefix", "<@&123>"),
    ],
)
def test_setup_rejects_bad_input_and_changes_nothing(
    client: Client, admin_user: Any, community: Community, field: str, value: str
) -> None:
    client.force_login(admin_user)
    before = Community.objects.values().get(pk=community.pk)
    data = {
        "kick_channel_slug": community.kick_channel_slug,
        "timezone": "UTC",
        "command_prefix": "!",
        field: value,
    }
    response = client.post("/dashboard/setup/", data)
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert Community.objects.values().get(pk=community.pk) == before
    assert not AuditLog.objects.exists()


def test_setup_creates_first_community(client: Client, owner: Any) -> None:
    client.force_login(owner)
    assert client.get("/dashboard/").status_code == 302  # no community yet → setup
    response = client.post(
        "/dashboard/setup/", {"kick_channel_slug": "xposed", "timezone": "UTC", "command_prefix": "!"}
    )
    assert response.status_code == 302
    assert Community.objects.get().kick_channel_slug == "xposed"
    assert AuditLog.objects.get().action == "community.create"


def test_setup_requires_csrf(owner: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(
        "/dashboard/setup/", {"kick_channel_slug": "x", "timezone": "UTC", "command_prefix": "!"}
    )
    assert response.status_code == 403
    assert not Community.objects.exists()


def test_setup_page_never_shows_secret_values(
    client: Client, owner: Any, community: Community, settings: Any
) -> None:
    settings.DISCORD_TOKEN = "discord-secret-token-value"
    client.force_login(owner)
    body = client.get("/dashboard/setup/").content.decode()
    assert "configured" in body
    assert "discord-secret-token-value" not in body


def test_owner_setup_link_creates_owner_once(client: Client) -> None:
    token = owner_setup_token_create()
    assert token is not None
    url = f"/dashboard/setup/owner/{token}/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {"username": "streamer", "password1": "a-long-unique-pass-42", "password2": "a-long-unique-pass-42"},
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="streamer")
    assert user.groups.filter(name="owner").exists() and user.is_superuser
    assert AuditLog.objects.filter(action="owner.create").count() == 1
    # the link is spent, and no second link is issued once an owner exists
    again = Client().post(
        url,
        {"username": "intruder", "password1": "a-long-unique-pass-42", "password2": "a-long-unique-pass-42"},
    )
    assert again.status_code == 400
    assert not get_user_model().objects.filter(username="intruder").exists()
    assert owner_setup_token_create() is None


@pytest.mark.parametrize(
    "token", ["forged", "eyJuIjoiYWJjIn0:1xWkLI:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
)
def test_owner_setup_rejects_forged_links(client: Client, token: str) -> None:
    response = client.get(f"/dashboard/setup/owner/{token}/")
    assert response.status_code == 400
    assert b"not valid" in response.content


def test_owner_setup_rejects_weak_password_and_keeps_link(client: Client) -> None:
    token = owner_setup_token_create()
    url = f"/dashboard/setup/owner/{token}/"
    response = client.post(url, {"username": "streamer", "password1": "123", "password2": "123"})
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="streamer").exists()
    assert client.get(url).status_code == 200  # still usable


def test_audit_page_lists_and_filters(client: Client, owner: Any, community: Community) -> None:
    from kickbot.services import audit_record

    audit_record(action="tickets.give", community=community, actor=owner, data={"amount": 5})
    audit_record(action="community.update", community=community, actor=owner)
    client.force_login(owner)
    body = client.get("/dashboard/audit/?action=tickets.").content.decode()
    assert "tickets.give" in body and "community.update" not in body


def test_admin_change_writes_audit_row(client: Client, owner: Any, community: Community) -> None:
    client.force_login(owner)
    url = f"/admin/kickbot/community/{community.pk}/change/"
    form = client.get(url)
    assert form.status_code == 200
    data = {
        "name": "Renamed",
        "kick_channel_slug": community.kick_channel_slug,
        "timezone": "UTC",
        "command_prefix": "!",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    entry = AuditLog.objects.get(action="admin.change")
    assert entry.actor == owner and entry.target_id == str(community.pk)
    assert "name" in entry.data["fields"]


def test_error_pages_do_not_leak_exception_text(client: Client, owner: Any, settings: Any) -> None:
    settings.DEBUG = False
    client.force_login(owner)
    response = client.get("/dashboard/nope/")
    assert response.status_code == 404
    assert b"There is nothing here" in response.content
