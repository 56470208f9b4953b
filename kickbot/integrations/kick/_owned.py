"""The context-manager part every sync Kick client shares: it closes the client it owns."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx


class OwnedClient:
    _client: httpx.Client
    _owns_client: bool

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
