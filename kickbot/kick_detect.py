"""Find a Kick channel's chatroom id, channel id and broadcaster user id from Kick's website.

Used by ``manage.py kick_detect`` and the dashboard's setup page.
"""

from __future__ import annotations

import httpx
from django.conf import settings

from kickbot import kick
from kickbot.errors import KickbotError


class KickIdsNotFound(KickbotError):
    """Kick's website did not give the ids; the message says how to find them by hand."""


BROWSER_HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
    ),
    "Accept": "application/json",
}


def detect(slug: str) -> dict[str, int]:
    """Ask Kick's website (not its public API, which lacks the chatroom id).

    Raises :class:`KickIdsNotFound`, whose text says what to do by hand.
    """
    url = f"{settings.KICK_WEB_BASE_URL}/api/v2/channels/{slug}"
    manual = (
        f"Open {url} in a browser and copy chatroom.id (chatroom id), id (channel id) and user_id "
        "(broadcaster user id) into the dashboard's setup page."
    )
    try:
        with kick.http_client_factory() as client:
            response = client.get(url, headers=BROWSER_HEADERS, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise KickIdsNotFound(f"Kick's website did not answer ({type(exc).__name__}). {manual}") from exc
    if response.status_code == 404:
        raise KickIdsNotFound(f"Kick has no channel called {slug!r}.")
    if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
        raise KickIdsNotFound(
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
        raise KickIdsNotFound(f"Kick's answer did not have the ids. {manual}") from exc
