"""Container health check: ``python -m kickbot.healthcheck [url]``, exit 0 when /healthz answers 200.

It sends a Host header the web process accepts (the first of DJANGO_ALLOWED_HOSTS): a plain
request to 127.0.0.1 would be a 400 (DisallowedHost) in production, and the container unhealthy.
No Django import: it runs every 30 s.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/healthz"


def accepted_host() -> str:
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    return next((h.lstrip(".") for h in hosts if h != "*"), "localhost")


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else DEFAULT_URL
    request = urllib.request.Request(url, headers={"Host": accepted_host()})  # noqa: S310  (our own URL)
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
