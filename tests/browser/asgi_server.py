"""An in-process Daphne server for browser tests that need the WebSocket live feed.

Why not ``live_server``: it is Django's WSGI thread and serves no WebSockets. Why not
``ChannelsLiveServerTestCase``: it forks Daphne into another process, which can't see the SQLite
test database (in memory). Daphne in a thread of the test process works on both databases: the
SQLite test database is a shared-cache in-memory database that every thread's connection sees, and
Postgres tests commit (``transaction=True``) so the server's connections see the rows.

Twisted's reactor runs once per process, so the server is started once per session and reused.
"""

from __future__ import annotations

import threading
import time
from typing import Any

_server: dict[str, Any] = {}


def start() -> str:
    """Start (once) and return the base URL, e.g. ``http://127.0.0.1:54321``."""
    if "url" in _server:
        return str(_server["url"])
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from dashboard.routing import websocket_urlpatterns

    application = ASGIStaticFilesHandler(
        ProtocolTypeRouter(
            {
                "http": get_asgi_application(),
                "websocket": AllowedHostsOriginValidator(
                    AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
                ),
            }
        )
    )
    ready = threading.Event()

    def run() -> None:
        from daphne.server import Server
        from twisted.internet import reactor

        server = Server(
            application=application, endpoints=["tcp:port=0:interface=127.0.0.1"], signal_handlers=False
        )
        _server["server"] = server

        def poll() -> None:
            if server.listening_addresses:
                _server["url"] = f"http://127.0.0.1:{server.listening_addresses[0][1]}"
                ready.set()
            else:
                reactor.callLater(0.05, poll)  # type: ignore[attr-defined]

        reactor.callLater(0.05, poll)  # type: ignore[attr-defined]
        server.run()

    thread = threading.Thread(target=run, name="daphne-test", daemon=True)
    thread.start()
    if not ready.wait(timeout=20):
        raise RuntimeError("Daphne did not start")
    time.sleep(0.05)
    return str(_server["url"])
