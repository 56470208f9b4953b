"""``manage.py kick_detect <slug>``: find a channel's chatroom id, channel id and broadcaster id."""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kickbot import kick
from kickbot.models import Community
from kickbot.services import community_save

BROWSER_HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
    ),
    "Accept": "application/json",
}


def detect(slug: str) -> dict[str, int]:
    """Ask Kick's website (not its public API, which lacks the chatroom id). Raises CommandError."""
    url = f"{settings.KICK_WEB_BASE_URL}/api/v2/channels/{slug}"
    manual = (
        f"Open {url} in a browser and copy chatroom.id (chatroom id), id (channel id) and user_id "
        "(broadcaster user id) into the dashboard's setup page."
    )
    try:
        with kick.http_client_factory() as client:
            response = client.get(url, headers=BROWSER_HEADERS, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise CommandError(f"Kick's website did not answer ({type(exc).__name__}). {manual}") from exc
    if response.status_code == 404:
        raise CommandError(f"Kick has no channel called {slug!r}.")
    if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
        raise CommandError(
            f"Kick's website refused the request (HTTP {response.status_code}; usually its Cloudflare "
            f"protection). {manual}"
        )
    try:
        data = response.json()
        return {
            "kick_chatroom_id": int(data["chatroom"]["id"]),
            "kick_channel_id": int(data["id"]),
            "kick_broadcaster_user_id": int(data["user_id"]),
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"Kick's answer did not have the ids. {manual}") from exc


class Command(BaseCommand):
    help = "Detect a Kick channel's chatroom id, channel id and broadcaster user id (and --save them)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("--save", action="store_true", help="store them on the community with this slug")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = str(options["slug"]).strip().lower()
        ids = detect(slug)
        for name, value in ids.items():
            self.stdout.write(f"{name} = {value}")
        if options["save"]:
            community = Community.objects.filter(kick_channel_slug=slug).first()
            if community is None:
                raise CommandError(f"no community with the slug {slug!r}; create it on the setup page first")
            community_save(community=community, actor=None, **ids)
            self.stdout.write(f"saved on community {slug}")
