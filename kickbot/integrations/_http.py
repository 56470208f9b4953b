"""The owned-HTTP-client pattern every API client here shares (Kick API and OAuth, drand, Shuffle).

A client is built over one httpx client: the one it is given (tests pass one over
``httpx.MockTransport``; a caller may share one between two API clients) or one it makes with its
own timeout. It closes only a client it made, or one it was handed to own (``owns_client=True``),
and is a context manager that does so. Base URLs, timeouts and the mapping of HTTP failures to each
service's errors stay with each client.

This module imports no Django app; it only needs httpx.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

import httpx


def _owns(client: object | None, owns_client: bool | None) -> bool:
    # A client we made is ours to close; a given one only when the caller hands it over.
    return client is None if owns_client is None else owns_client


class OwnedHttpClient:
    """Base of a sync API client over one ``httpx.Client`` (``self._client``, ``self._timeout``)."""

    def __init__(
        self, *, client: httpx.Client | None = None, owns_client: bool | None = None, timeout: float
    ) -> None:
        self._owns_client = _owns(client, owns_client)
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._timeout = timeout

    def close(self) -> None:
        """Close the HTTP client if this object created it (or was handed it to own)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncOwnedHttpClient:
    """Base of an async API client over one ``httpx.AsyncClient`` (``self._client``, ``self._timeout``)."""

    def __init__(
        self, *, client: httpx.AsyncClient | None = None, owns_client: bool | None = None, timeout: float
    ) -> None:
        self._owns_client = _owns(client, owns_client)
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        self._timeout = timeout

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it (or was handed it to own)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


@contextmanager
def http_client(client: httpx.Client | None = None, **options: Any) -> Iterator[httpx.Client]:
    """For a function rather than a client object: ``client`` as given (the caller's, left open),
    or a new ``httpx.Client(**options)`` closed on the way out."""
    if client is not None:
        yield client
        return
    with httpx.Client(**options) as made:
        yield made
