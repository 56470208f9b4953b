"""Dashboard accounts and secrets state (owner only)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard import selectors, services
from dashboard.permissions import require_perm
from dashboard.roles import PERM_USERS, ROLES
from dashboard.views.common import text_field, write_view
from kickbot.errors import InvalidInput
from kickbot.selectors import integrations_state


@require_perm(PERM_USERS)
def accounts(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dashboard/accounts/index.html",
        {"accounts": selectors.dashboard_accounts(), "roles": ROLES, "integrations": integrations_state()},
    )


@write_view(PERM_USERS, "dashboard:accounts")
def account_role(request: HttpRequest, user_id: int) -> str:
    target = get_user_model().objects.filter(pk=user_id).first()
    if target is None:
        raise InvalidInput("No such account.")
    role = str(request.POST.get("role", ""))
    services.dashboard_user_role_set(target=target, role=role, actor=request.user)
    return f"{target.get_username()} is now {role or 'without a role'}."


@write_view(PERM_USERS, "dashboard:accounts")
def account_create(request: HttpRequest) -> str:
    try:
        user = services.dashboard_user_create(
            username=text_field(request, "username", max_length=150),
            password=str(request.POST.get("password", ""))[:256],
            role=str(request.POST.get("role", "")),
            actor=request.user,
        )
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages)) from None
    return f"Account {user.get_username()} created."
