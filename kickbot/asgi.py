"""ASGI entry point: HTTP through Django, WebSockets through Channels with session auth."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kickbot.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from dashboard.routing import websocket_urlpatterns  # noqa: E402
from kickbot.checks import static_manifest_problem  # noqa: E402
from kickbot.edge import (  # noqa: E402
    BodyLimitMiddleware,
    ForwardedClientMiddleware,
    install_daphne_body_limit,
)

# daphne runs no system checks: a web process that would answer 500 on every page must not start.
if settings.IS_PRODUCTION and (problem := static_manifest_problem()):
    raise ImproperlyConfigured(problem)

install_daphne_body_limit()  # daphne buffers whole bodies before calling us: refuse while reading

application = ForwardedClientMiddleware(
    ProtocolTypeRouter(
        {
            "http": BodyLimitMiddleware(django_asgi_app),
            "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
)
