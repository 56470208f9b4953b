"""Writes behind dashboard pages: first-owner setup, dashboard accounts, the ticket rollup, and the
thin wrappers that add the dashboard's own rules (the moderator ticket limit) before calling an
app's service."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group, User
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Link
from accounts.services import link_log_set, link_remove
from dashboard.errors import SetupLinkInvalid
from dashboard.models import OwnerSetupToken, TicketDay, TicketRollupState
from dashboard.roles import OWNER, PERM_MANAGE, PERM_MODERATE, ROLES
from kickbot.errors import InvalidInput, NotAllowed
from kickbot.models import Community
from kickbot.services import audit_record
from raffle.models import TicketEntry
from raffle.services.tickets import tickets_admin_adjust, tickets_amount_check
from slots.catalogue import slots_import
from slots.importers import FORMATS, FormatError, guess_format, parse_document

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


# --- who did it ----------------------------------------------------------------------------------


def actor_label_for(user: User | AnonymousUser) -> str:
    """How a dashboard user appears in app audit rows and ledgers that take a label, not a user."""
    return f"dashboard:{user.get_username()}"[:120]


# --- tickets given from the dashboard ----------------------------------------------------------

# Moderators may give at most this many tickets per action and may not remove any; admins and
# owners are unlimited (within the raffle's own MAX_ADMIN_AMOUNT). A constant, not a setting: it
# bounds what one moderator account can do if it is misused, which should not be one click away.
MODERATOR_TICKET_LIMIT = 100


def dashboard_tickets_adjust(
    *,
    community_id: int,
    kick_user_id: int,
    amount: object,
    remove: bool,
    reason: str,
    user: User | AnonymousUser,
    request_key: str | None = None,
) -> int:
    """Give or remove tickets from the dashboard; returns the new balance.

    The role rules live here; the ledger write and its audit row are
    ``raffle.services.tickets.tickets_admin_adjust``.
    ``request_key`` (the form's one-time id) makes a double submit a no-op. A moderator's gifts are
    also capped per raffle (the committed ``moderator_cap``, in the raffle service).
    """
    value = tickets_amount_check(amount)
    if not user.has_perm(PERM_MANAGE):
        if not user.has_perm(PERM_MODERATE):
            raise NotAllowed("You may not change tickets.")
        if remove:
            raise NotAllowed("Only admins can remove tickets.")
        if value > MODERATOR_TICKET_LIMIT:
            raise NotAllowed(f"Moderators can give at most {MODERATOR_TICKET_LIMIT} tickets at a time.")
    if not (reason or "").strip():
        raise InvalidInput("Give a reason; it is shown in the viewer's receipts and the audit log.")
    return tickets_admin_adjust(
        community_id=community_id,
        kick_user_id=kick_user_id,
        amount=value,
        remove=remove,
        reason=reason,
        actor_label=actor_label_for(user),
        request_key=f"dash:{request_key}" if request_key else None,
        moderator=not user.has_perm(PERM_MANAGE),
    )


# --- unlink from the dashboard -----------------------------------------------------------------


@transaction.atomic
def dashboard_unlink(*, community: Community, kick_user_id: int, user: User | AnonymousUser) -> str | None:
    """Unlink the Discord account linked to ``kick_user_id`` (accounts' service revokes roles, posts
    to the link log and writes the one audit row, naming ``user``). Returns the Kick username or None."""

    discord_user_id = (
        Link.objects.filter(kick_user_id=kick_user_id).values_list("discord_user_id", flat=True).first()
    )
    if discord_user_id is None:
        return None
    return link_remove(community_id=community.pk, discord_user_id=discord_user_id, actor=user)


# --- dashboard accounts (owner only) -----------------------------------------------------------


@transaction.atomic
def dashboard_user_role_set(*, target: User, role: str, actor: User | AnonymousUser) -> None:
    """Give a dashboard account exactly one role ('' removes every role). Audited.

    The last owner cannot be demoted, so the dashboard can never lose its owner.
    """
    if role and role not in ROLES:
        raise InvalidInput("Pick one of the roles.")
    current = set(target.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if OWNER in current and role != OWNER:
        owners = get_user_model().objects.select_for_update().filter(groups__name=OWNER)
        if owners.count() <= 1:
            raise NotAllowed("This is the only owner; make someone else owner first.")
    target.groups.remove(*Group.objects.filter(name__in=ROLES))
    if role:
        target.groups.add(Group.objects.get(name=role))
    target.is_staff = target.is_superuser = role == OWNER
    target.save(update_fields=["is_staff", "is_superuser"])
    audit_record(
        action="dashboard.user_role", actor=actor, target=target, data={"from": sorted(current), "to": role}
    )


@transaction.atomic
def dashboard_user_create(*, username: str, password: str, role: str, actor: User | AnonymousUser) -> User:
    """Create a dashboard account with one role; the password must pass Django's validators."""
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise InvalidInput("Give a username of 1 to 150 characters.")
    model = get_user_model()
    if model.objects.filter(username__iexact=username).exists():
        raise InvalidInput("That username is taken.")
    user: User = model(username=username)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    audit_record(action="dashboard.user_create", actor=actor, target=user, data={"username": username})
    dashboard_user_role_set(target=user, role=role, actor=actor)
    return user


# --- ticket rollup for the overview chart ------------------------------------------------------

# Entries younger than this are left to the live read: a transaction still open when the rollup
# runs could commit an entry with a lower id later, and that entry would be missed.
ROLLUP_SETTLE = timedelta(minutes=10)


def ticket_days_refresh(*, community_id: int, now: datetime | None = None) -> int:
    """Add the ledger entries since the last run to ``TicketDay``; returns how many entries were added.

    Idempotent: the state row is locked and moves with the sums in one transaction, so a rerun (or
    two workers) adds nothing twice. The first run sums the whole history once; later runs read
    only the entries after ``last_entry_id`` (primary-key range).
    """

    now = now or timezone.now()
    # The newest entry old enough to be settled: walks the primary key backwards from the top.
    ceiling = (
        TicketEntry.objects.filter(created_at__lt=now - ROLLUP_SETTLE)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    with transaction.atomic():
        TicketRollupState.objects.get_or_create(
            community_id=community_id, defaults={"through_day": now.date(), "last_entry_id": 0}
        )
        state = TicketRollupState.objects.select_for_update().get(community_id=community_id)
        if ceiling is None or ceiling <= state.last_entry_id:
            return 0
        rows = list(
            TicketEntry.objects.filter(
                id__gt=state.last_entry_id, id__lte=ceiling, period__community_id=community_id
            )
            .annotate(day=TruncDate("created_at", tzinfo=UTC))
            .values("day", "source")
            .annotate(total=Sum("amount"), n=Count("id"))
        )
        added = {(_as_date(r["day"]), r["source"]): int(r["total"] or 0) for r in rows}
        if added:
            existing = {
                (d, s): a
                for d, s, a in TicketDay.objects.filter(
                    community_id=community_id, day__in={d for d, _ in added}
                ).values_list("day", "source", "amount")
            }
            TicketDay.objects.bulk_create(
                [
                    TicketDay(community_id=community_id, day=d, source=s, amount=existing.get((d, s), 0) + a)
                    for (d, s), a in added.items()
                ],
                update_conflicts=True,
                unique_fields=["community", "day", "source"],
                update_fields=["amount"],
            )
        state.last_entry_id = ceiling
        state.through_day = now.date()
        state.save(update_fields=["last_entry_id", "through_day", "updated_at"])
    return sum(int(r["n"]) for r in rows)


def ticket_days_forget(*, community_ids: list[int]) -> None:
    """Drop the rollup of these communities (after ledger rows were deleted); the next run rebuilds it."""
    TicketDay.objects.filter(community_id__in=community_ids).delete()
    TicketRollupState.objects.filter(community_id__in=community_ids).delete()


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# --- slot catalogue upload ---------------------------------------------------------------------

CATALOGUE_UPLOAD_MAX_BYTES = 20 * 1024 * 1024


def catalogue_upload(*, data: bytes, filename: str, fmt: str, user: User | AnonymousUser) -> object:
    """Import an uploaded JSON/CSV catalogue through ``slots.catalogue.slots_import``; audited.

    Returns the ``ImportResult``. A file that can't be read is an ``InvalidInput`` and imports nothing.
    """

    if not data:
        raise InvalidInput("Choose a JSON or CSV file.")
    if len(data) > CATALOGUE_UPLOAD_MAX_BYTES:
        raise InvalidInput("That file is over 20 MB; use `manage.py import_slots` for big catalogues.")
    fmt = fmt or guess_format(filename, data)
    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown format; use one of {', '.join(FORMATS)}.")
    try:
        rows = parse_document(data, fmt)
    except FormatError as exc:
        raise InvalidInput(f"That file could not be read: {exc}") from None
    result = slots_import(rows=rows, source=f"upload-{fmt}")
    audit_record(
        action="slots.catalogue_upload",
        actor=user,
        data={
            "filename": filename[:100],
            "format": fmt,
            "created": result.created,
            "updated": result.updated,
            "skipped": result.skipped,
        },
    )
    return result


@transaction.atomic
def dashboard_link_log_set(
    *, community: Community, enabled: bool, channel_id: int | None, user: User | AnonymousUser
) -> None:
    """Link-log switch from the dashboard: accounts' service writes it; this records who did it."""

    link_log_set(community_id=community.pk, enabled=enabled, channel_id=channel_id, actor_discord_id=0)
    audit_record(
        action="dashboard.linklogs",
        community=community,
        actor=user,
        data={"enabled": enabled, "channel_id": str(channel_id) if channel_id else None},
    )
