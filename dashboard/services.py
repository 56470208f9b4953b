"""Writes behind dashboard pages: first-owner setup."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.db import transaction
from django.utils import timezone

from dashboard.errors import SetupLinkInvalid
from dashboard.models import OwnerSetupToken
from dashboard.roles import OWNER
from kickbot.services import audit_record

SETUP_SALT = "kickbot.dashboard.owner-setup"
SETUP_MAX_AGE_S = 24 * 3600


def owner_exists() -> bool:
    return get_user_model().objects.filter(groups__name=OWNER).exists()


def owner_setup_token_create() -> str | None:
    """A signed, single-use token for creating the first owner; None when an owner exists."""
    if owner_exists():
        return None
    nonce = secrets.token_urlsafe(24)
    OwnerSetupToken.objects.create(nonce=nonce)
    return signing.dumps({"n": nonce}, salt=SETUP_SALT)


def _nonce_from(token: str) -> str:
    try:
        payload = signing.loads(token, salt=SETUP_SALT, max_age=SETUP_MAX_AGE_S)
    except signing.SignatureExpired as exc:
        raise SetupLinkInvalid("This setup link has expired. Run `make setup-link` for a new one.") from exc
    except signing.BadSignature as exc:
        raise SetupLinkInvalid("This setup link is not valid.") from exc
    nonce = payload.get("n") if isinstance(payload, dict) else None
    if not isinstance(nonce, str):
        raise SetupLinkInvalid("This setup link is not valid.")
    return nonce


def owner_setup_token_check(*, token: str) -> None:
    """Raise SetupLinkInvalid unless the token could create the first owner now."""
    nonce = _nonce_from(token)
    if owner_exists():
        raise SetupLinkInvalid("An owner account already exists. Log in instead.")
    if not OwnerSetupToken.objects.filter(nonce=nonce, used_at__isnull=True).exists():
        raise SetupLinkInvalid("This setup link has already been used.")


@transaction.atomic
def owner_create(*, token: str, username: str, password: str, email: str = "") -> User:
    """Create the first owner from a setup token; burns the token (claimed by conditional update)."""
    nonce = _nonce_from(token)
    user: User = get_user_model()(username=username, email=email)
    validate_password(password, user)
    claimed = OwnerSetupToken.objects.filter(nonce=nonce, used_at__isnull=True).update(used_at=timezone.now())
    if not claimed:
        raise SetupLinkInvalid("This setup link has already been used.")
    if owner_exists():
        raise SetupLinkInvalid("An owner account already exists. Log in instead.")
    user.set_password(password)
    user.is_staff = True
    user.is_superuser = True
    user.save()
    user.groups.add(Group.objects.get(name=OWNER))
    audit_record(action="owner.create", actor=user, target=user)
    return user
