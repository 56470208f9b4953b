"""System checks for a production deployment (``manage.py check``, ``check --deploy``, web start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.files.storage import storages

IGNORED_STATIC = ["CVS", ".*", "*~"]


def static_manifest_problem() -> str | None:
    """Why production pages could not render their static URLs (None: the manifest is complete).

    Manifest storage turns a missing manifest into a 500 on every page, not an error at start.
    """
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return None
    try:
        manifest, _hash = storage.load_manifest()
    except ValueError as exc:  # unreadable JSON or an unknown manifest version
        return f"{exc}: run `python manage.py collectstatic`"
    if not manifest:
        return (
            f"no static files manifest in {settings.STATIC_ROOT}: run `python manage.py collectstatic` "
            "(without it every page answers 500)"
        )
    missing = sorted(
        {path for finder in get_finders() for path, _ in finder.list(IGNORED_STATIC)} - set(manifest)
    )
    if missing:
        return (
            f"{len(missing)} static file(s) are not in the manifest (first: {missing[0]}): "
            "run `python manage.py collectstatic` again"
        )
    return None


# A deploy check (and web start, kickbot/asgi.py): the bot and Celery need no static files, and
# collectstatic itself runs the "staticfiles" checks, before the manifest exists.
@register("kickbot", deploy=True)
def check_static_manifest(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problem = static_manifest_problem()
    return [Error(problem, id="kickbot.E001")] if problem else []


@register(Tags.security, deploy=True)
def check_allowed_hosts(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if "*" in settings.ALLOWED_HOSTS:
        return [
            Warning(
                "DJANGO_ALLOWED_HOSTS contains '*': any Host header is accepted, so absolute URLs "
                "built from a request (redirects, links) can point at an attacker's host.",
                hint="List the site's host names, e.g. DJANGO_ALLOWED_HOSTS=bot.example.com",
                id="kickbot.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_trusted_proxy_hops(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.IS_PRODUCTION and settings.TRUSTED_PROXY_HOPS == 0:
        return [
            Warning(
                "TRUSTED_PROXY_HOPS is 0 in production: behind a proxy every client has the proxy's "
                "address (one rate limit for everyone), and daphne's --proxy-headers takes the "
                "client-written left end of X-Forwarded-For.",
                hint="Set TRUSTED_PROXY_HOPS to the number of proxies in front of daphne (compose: 1).",
                id="kickbot.W002",
            )
        ]
    return []
