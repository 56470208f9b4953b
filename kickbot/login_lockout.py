"""Login lockouts (django-axes): the page that says so, and the audit log.

Audit: one row per username, address and hour, counted. A locked-out pair keeps knocking (axes
signals every refused attempt), so the rows are counted (``audit_record_counted``), never one per
request.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import timedelta
from typing import Any

from axes.helpers import get_client_username
from axes.signals import user_locked_out
from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kickbot.ratelimit import client_ip
from kickbot.services import audit_record_counted

log = logging.getLogger(__name__)

LOCKOUT_AUDIT_WINDOW = timedelta(hours=1)


# Stands for "no address" (a unix socket peer, a test request): axes stores addresses in an IP
# column, and every such client shares this one bucket.
NO_ADDRESS = "0.0.0.0"  # noqa: S104  (a value stored, not an address bound)


def lockout_ip(request: HttpRequest) -> str:
    """The address axes locks out with: ``client_ip`` (the trusted proxy's view), always an IP."""
    address = client_ip(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return NO_ADDRESS
    return address


def login_lockout_record(*, username: str, ip_address: str, path: str) -> None:
    """Audit that ``username`` is locked out for ``ip_address`` (counted per hour)."""
    name = str(username or "")[:150]
    with transaction.atomic():
        row = audit_record_counted(
            action="auth.locked_out",
            key=f"{ip_address}:{name}",
            window=LOCKOUT_AUDIT_WINDOW,
            actor_label=f"login:{name}"[:120],
            data={"username": name, "ip": ip_address, "path": path[:200]},
        )
    if row.data.get("count") == 1:
        log.warning("login locked out for username %r from %s", name, ip_address)


@receiver(user_locked_out, dispatch_uid="kickbot.login_lockout.lockout")
def _on_lockout(sender: Any, request: Any, username: str | None, ip_address: str | None, **_: Any) -> None:
    login_lockout_record(
        username=username or "",
        ip_address=ip_address or "unknown",
        path=str(getattr(request, "path", "")),
    )


def login_locked_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The login page's answer while a username is locked out for this address (429, Retry-After)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = render(
        request,
        "dashboard/login_locked.html",
        {
            "username": get_client_username(request, credentials) or "",
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "minutes": minutes,
        },
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    return response
