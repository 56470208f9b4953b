"""Request guards that run before anything reads the request.

``RejectUndecodableInput``: a NUL byte or bytes that are not UTF-8 in the path, the query string
or a form field is a 400 here, before a view, a form or the database sees it. Django
would otherwise decode them to U+FFFD or pass the NUL on, and Postgres refuses NUL in text
(``A string literal cannot contain NUL``), which was a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

log = logging.getLogger(__name__)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def _clean(raw: bytes) -> bool:
    """True when ``raw`` (already percent-decoded) is UTF-8 without a NUL."""
    if b"\x00" in raw:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _clean_urlencoded(data: bytes) -> bool:
    """Every name and value of ``a=1&b=2`` data percent-decodes to clean UTF-8."""
    for part in data.split(b"&"):
        for piece in part.split(b"=", 1):
            if not _clean(unquote_to_bytes(piece.replace(b"+", b" "))):
                return False
    return True


def _raw_path(request: HttpRequest) -> bytes:
    """The path as the client sent it, percent-decoded to bytes."""
    scope = getattr(request, "scope", None)
    if scope is not None:  # ASGI: daphne keeps the raw path; its decoded ``path`` replaced bad bytes
        raw = scope.get("raw_path")
        if raw:
            return unquote_to_bytes(raw.split(b"?", 1)[0])
        return str(scope.get("path", "")).encode("utf-8", "surrogatepass")
    # WSGI: Django re-percent-encodes the bytes of the path that were not UTF-8 ("%FF").
    return unquote_to_bytes(request.path_info)


def _fits_in_memory(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is None or length <= limit


def input_problem(request: HttpRequest) -> str | None:
    """What is undecodable about the request (``path``, ``query``, ``form``), or None."""
    if not _clean(_raw_path(request)):
        return "path"
    query = str(request.META.get("QUERY_STRING", ""))
    if query and not _clean_urlencoded(query.encode("latin-1", "replace")):
        return "query"
    content_type = str(request.META.get("CONTENT_TYPE", "")).split(";", 1)[0].strip().lower()
    if content_type == FORM_CONTENT_TYPE and request.method not in {"GET", "HEAD", "OPTIONS"}:
        # Django caches the body: the view and CSRF read the same bytes; its size limit applies here.
        if not _clean_urlencoded(request.body):
            return "form"
    if content_type == "multipart/form-data" and request.method == "POST" and _fits_in_memory(request):
        # Django decodes multipart fields with errors="replace": a U+FFFD marks bytes that were not
        # UTF-8. The body is read first so a view may still read it; uploads over the in-memory
        # limit (catalogue files) are left to their view, whose text fields are short choices.
        request.body  # noqa: B018
        for name, values in request.POST.lists():
            if any("\x00" in text or "\ufffd" in text for text in (name, *values)):
                return "form"
    return None


class RejectUndecodableInputMiddleware:
    """400 for a NUL byte or non-UTF-8 bytes in the path, query string or url-encoded form."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = input_problem(request)
        if problem is not None:
            log.info("refused a request with undecodable %s", problem)
            return HttpResponseBadRequest(
                f"Bad request: the {problem} holds a NUL byte or bytes that are not UTF-8.",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
