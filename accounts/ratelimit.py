"""Per-IP rate limit for the link pages."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from kickbot.ratelimit import client_ip, rate_limit_exceeded


def link_rate_limited(request: HttpRequest) -> bool:
    return rate_limit_exceeded(
        scope="link",
        ident=client_ip(request),
        limit=int(getattr(settings, "LINK_RATE_LIMIT_PER_MINUTE", 20)),
        window_seconds=60,
    )
