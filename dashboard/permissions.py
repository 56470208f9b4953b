from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required, permission_required

F = TypeVar("F", bound=Callable[..., Any])


def require_perm(perm: str) -> Callable[[F], F]:
    """Login first (redirect), then the permission (403, not a login loop)."""

    def decorate(view: F) -> F:
        return login_required(permission_required(perm, raise_exception=True)(view))  # type: ignore[return-value]

    return decorate
