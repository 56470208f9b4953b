"""Writes for slot requests: requests from chat, request settings, the blacklist.

The catalogue import is ``slots.catalogue``; the queue panel's writes (open/close, pick,
played/skipped, clear) are ``slots.panel``. Every write is one transaction; Discord posts, panel
edits and Kick chat lines are outbox rows in that same transaction (sent once by the bot), and
admin writes carry an audit row.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import KickUser
from kickbot.errors import InvalidInput, NotAllowed
from kickbot.live import live_publish
from kickbot.models import Community
from kickbot.services import audit_record
from slots import embeds
from slots.matching import normalise
from slots.models import (
    BLACKLIST_REASON_MAX,
    KICK_USERNAME_MAX,
    SLOT_SETTING_LIMITS,
    SlotBlacklist,
    SlotRequest,
    SlotRequester,
    SlotSettings,
)
from slots.panel import panel_refresh, post_to_requests_channel, settings_locked
from slots.selectors import MatchResult, SlotInfo, slot_info, slot_match

log = logging.getLogger(__name__)

KICK_USERNAME = re.compile(rf"^[A-Za-z0-9_]{{1,{KICK_USERNAME_MAX}}}$")


# --- settings -----------------------------------------------------------------------------

_SETTING_NAMES = {
    "cooldown_s": "cooldown",
    "max_open_per_user": "open requests per viewer",
    "max_length": "length",
}


def slot_settings_update(*, community_id: int, actor_label: str, **fields: Any) -> SlotSettings:
    """Change request rules (cooldown_s, max_open_per_user, max_length, channel_id), audited."""
    allowed = {*SLOT_SETTING_LIMITS, "channel_id"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    for name, value in fields.items():
        if name == "channel_id":
            if value is not None and (type(value) is not int or value <= 0):
                raise InvalidInput("That is not a channel.")
            continue
        low, high = SLOT_SETTING_LIMITS[name]
        if type(value) is not int or not low <= value <= high:
            raise InvalidInput(f"The {_SETTING_NAMES[name]} must be a whole number from {low} to {high}.")
    with transaction.atomic():
        row = settings_locked(community_id)
        before = {k: getattr(row, k) for k in fields}
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
        audit_record(
            action="slots.settings",
            community=row.community,
            actor_label=actor_label,
            target=row,
            data={k: [before[k], v] for k, v in fields.items()},
        )
    return row


# --- requests from chat -------------------------------------------------------------------


@dataclass(frozen=True)
class RequestResult:
    request_id: int
    created: bool  # False: this chat message was stored before (a redelivery); nothing changed
    text: str
    slot: SlotInfo | None
    position: int  # place in the open queue


def clean_request_text(text: str) -> str:
    """One line of printable text, whitespace collapsed (NFC, so lengths count what a viewer sees)."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())


def _blacklisted(community_id: int, kick_user_id: int, username: str) -> bool:
    return SlotBlacklist.objects.filter(
        Q(username=username.lower()) | Q(kick_user_id=kick_user_id), community_id=community_id
    ).exists()


def _queue_position(community_id: int, request: SlotRequest) -> int:
    return SlotRequest.objects.filter(
        community_id=community_id, status=SlotRequest.Status.OPEN, id__lte=request.pk
    ).count()


def _existing_result(existing: SlotRequest) -> RequestResult:
    return RequestResult(
        request_id=existing.pk,
        created=False,
        text=existing.text,
        slot=slot_info(existing.slot) if existing.slot else None,
        position=_queue_position(existing.community_id, existing),
    )


def slot_request_create(
    *,
    community_id: int,
    kick_user_id: int,
    username: str,
    text: str,
    message_id: str,
    prefix: str = "!",
    at: datetime | None = None,
) -> RequestResult:
    """Accept one ``!sr`` from Kick chat, or raise a refusal (``KickbotError``) that writes nothing.

    ``at``: when the request was said (the chat message's own time; default now). The cooldown is
    measured between the requests' own times, so two said 40 s apart are 40 s apart however
    they arrive (a burst, a backlog after an outage).
    Idempotency key: the Kick message id (a redelivery returns the stored request, ``created=False``).
    Locking: the viewer's ``SlotRequester`` row is locked while the cooldown and the open-request
    limit are checked and the request inserted, so concurrent requests cannot pass the limit, and
    only an accepted request starts the cooldown (docs/lessons.md #21).
    """
    message_id = str(message_id or "")[:64]
    if not message_id:
        raise ValueError("message_id is required")
    existing = SlotRequest.objects.filter(community_id=community_id, kick_message_id=message_id).first()
    if existing is not None:
        return _existing_result(existing)
    settings = SlotSettings.objects.filter(community_id=community_id).first() or SlotSettings(
        community_id=community_id
    )
    if _blacklisted(community_id, kick_user_id, username):
        raise NotAllowed("You can't request slots here.")
    if not settings.requests_open:
        raise NotAllowed("Slot requests are closed right now.")
    too_long = InvalidInput(f"That request is too long (max {settings.max_length} characters).")
    if len(text) > 4 * settings.max_length:
        raise too_long  # before any work on it: chat lines are short, this is junk
    text = clean_request_text(text)
    if len(text) > settings.max_length:
        raise too_long
    if not normalise(text):
        raise InvalidInput(f"Which slot? Use {prefix}sr <slot name>.")
    # Matching only reads: done before the lock so the locked section stays short.
    match: MatchResult = slot_match(community_id=community_id, text=text)
    now = timezone.now()
    said_at = min(at, now) if at is not None else now
    with transaction.atomic():
        SlotRequester.objects.get_or_create(community_id=community_id, kick_user_id=kick_user_id)
        requester = SlotRequester.objects.select_for_update().get(
            community_id=community_id, kick_user_id=kick_user_id
        )
        existing = SlotRequest.objects.filter(community_id=community_id, kick_message_id=message_id).first()
        if existing is not None:
            return _existing_result(existing)
        if settings.cooldown_s and requester.last_accepted_at is not None:
            # Either order: a request said just before the last accepted one (arriving late) is as
            # close to it as one said just after.
            apart = abs((said_at - requester.last_accepted_at).total_seconds())
            if apart < settings.cooldown_s:
                wait = max(1, int(settings.cooldown_s - apart + 0.999))
                raise NotAllowed(f"Slow down: you can request again in {wait} s.")
        active = SlotRequest.objects.filter(
            community_id=community_id, kick_user_id=kick_user_id, status__in=SlotRequest.ACTIVE
        ).count()
        if active >= settings.max_open_per_user:
            raise NotAllowed(
                "You already have a request in the queue."
                if settings.max_open_per_user == 1
                else f"You already have {active} requests in the queue."
            )
        request = SlotRequest.objects.create(
            community_id=community_id,
            kick_message_id=message_id,
            kick_user_id=kick_user_id,
            kick_username=username[:KICK_USERNAME_MAX],
            text=text,
            slot_id=match.slot.id if match.slot else None,
            match_score=match.score,
            created_at=now,
        )
        if requester.last_accepted_at is None or said_at > requester.last_accepted_at:
            requester.last_accepted_at = said_at
            requester.save(update_fields=["last_accepted_at"])
        position = _queue_position(community_id, request)
        community = Community.objects.get(pk=community_id)
        post_to_requests_channel(
            community,
            settings,
            embeds.request_embed(
                request_id=request.pk,
                username=username,
                text=text,
                slot=match.slot,
                created_at=now,
                position=position,
            ),
            dedupe_key=f"slots:request:{request.pk}",
        )
        if settings.pk:
            panel_refresh(community, settings)
        live_publish(
            community_id=community_id,
            kind="slots.request",
            data={
                "id": request.pk,
                "text": f"{username} requested {match.slot.name if match.slot else text}",
            },
        )
    return RequestResult(request_id=request.pk, created=True, text=text, slot=match.slot, position=position)


# --- the panel: open/close, pick, played/skipped, clear -----------------------------------

# --- blacklist ----------------------------------------------------------------------------


def _username(value: str) -> str:
    name = (value or "").strip().lstrip("@")
    if not KICK_USERNAME.fullmatch(name):
        raise InvalidInput("That is not a Kick username (letters, digits and _ only).")
    return name.lower()


def slot_blacklist_add(*, community_id: int, username: str, reason: str = "", actor_label: str) -> bool:
    """Blacklist a Kick viewer from requests; False when they already were (nothing changes)."""
    name = _username(username)
    reason = clean_request_text(reason)[:BLACKLIST_REASON_MAX]
    kick_user_id = (
        KickUser.objects.filter(username__iexact=name)
        .order_by("-updated_at")
        .values_list("user_id", flat=True)
        .first()
    )
    with transaction.atomic():
        community = Community.objects.get(pk=community_id)
        row, created = SlotBlacklist.objects.get_or_create(
            community=community,
            username=name,
            defaults={"kick_user_id": kick_user_id, "reason": reason, "added_by": actor_label[:120]},
        )
        if created:
            audit_record(
                action="slots.blacklist.add",
                community=community,
                actor_label=actor_label,
                target=row,
                data={"username": name, "reason": reason},
            )
    return created


def slot_blacklist_remove(*, community_id: int, username: str, actor_label: str) -> bool:
    """Lift a blacklist entry; False when there was none."""
    name = _username(username)
    with transaction.atomic():
        deleted, _ = SlotBlacklist.objects.filter(community_id=community_id, username=name).delete()
        if deleted:
            audit_record(
                action="slots.blacklist.remove",
                community=Community.objects.get(pk=community_id),
                actor_label=actor_label,
                data={"username": name},
            )
    return bool(deleted)
