"""Writes for slot requests: catalogue import, requests from chat, the queue panel, blacklist, settings.

Every write is one transaction; Discord posts, panel edits and Kick chat lines are outbox rows in
that same transaction (sent once by the bot), and admin writes carry an audit row.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import KickUser
from botworker.models import OutboxMessage
from botworker.outbox import outbox_enqueue
from kickbot.errors import InvalidInput, NotAllowed
from kickbot.live import live_publish
from kickbot.models import Community
from kickbot.services import audit_record
from raffle.draw import build_snapshot, draw_winners, new_server_seed, seed_hash
from slots import embeds
from slots.importers import SlotRow, clean_row
from slots.matching import name_cache, normalise
from slots.models import Slot, SlotBlacklist, SlotPick, SlotRequest, SlotRequester, SlotSettings
from slots.selectors import MatchResult, SlotInfo, slot_info, slot_match, slot_queue_view

log = logging.getLogger(__name__)

IMPORT_BATCH = 500
ANALYZE_AFTER = 500  # new rows in one import that make fresh planner statistics worth it
MAX_PROBLEMS = 20
_UPDATE_FIELDS = [
    "name",
    "provider",
    "rtp_bp",
    "volatility",
    "max_win",
    "image_url",
    "source",
    "source_id",
    "aliases",
    "name_norm",
    "aliases_norm",
    "updated_at",
]
_COMPARED = [f for f in _UPDATE_FIELDS if f != "updated_at"]
_KEPT_WHEN_MISSING = ("provider", "rtp_bp", "volatility", "max_win", "image_url", "aliases", "aliases_norm")
KICK_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


# --- catalogue import ---------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0  # unchanged rows and rows that could not be read
    problems: list[str] = field(default_factory=list)  # the first few reasons rows were skipped


def _row_values(row: SlotRow, source: str) -> dict[str, Any]:
    return {
        "name": row.name,
        "provider": row.provider,
        "rtp_bp": row.rtp_bp,
        "volatility": row.volatility,
        "max_win": row.max_win,
        "image_url": row.image_url,
        "source": source,
        "source_id": row.source_id,
        "aliases": list(row.aliases),
        "name_norm": row.name_norm,
        "aliases_norm": row.aliases_norm,
    }


def _analyze_catalogue() -> None:
    with connection.cursor() as cur:
        cur.execute("ANALYZE slots_slot")


def slots_import(
    *,
    rows: Iterable[Any],
    source: str,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Upsert catalogue rows (generic dicts, see ``slots.importers``); re-import updates in place.

    Idempotency key: the slug, or the slug already stored for ``(source, source_id)`` so a game
    whose slug changed upstream is updated, not duplicated. Unchanged rows are not written.
    Set-based: one read and one ``INSERT ... ON CONFLICT (slug) DO UPDATE`` per batch of 500.
    ``progress(done, total)`` is called after each batch.
    """
    source = (source or "file")[:32]
    result = ImportResult()
    cleaned: dict[str, SlotRow] = {}
    raw_rows = list(rows)
    for i, raw in enumerate(raw_rows, 1):
        row = clean_row(raw)
        if isinstance(row, str):
            result.skipped += 1
            if len(result.problems) < MAX_PROBLEMS:
                result.problems.append(f"row {i}: {row}")
            continue
        if row.slug in cleaned:
            result.skipped += 1  # the same game twice in one file: the last one wins
        cleaned[row.slug] = row
    total = len(cleaned)
    with transaction.atomic():
        # A game known by its source id keeps its stored slug.
        by_source_id: dict[str, str] = {}
        source_ids = [r.source_id for r in cleaned.values() if r.source_id]
        for start in range(0, len(source_ids), IMPORT_BATCH):
            id_chunk = source_ids[start : start + IMPORT_BATCH]
            by_source_id.update(
                Slot.objects.filter(source=source, source_id__in=id_chunk).values_list("source_id", "slug")
            )
        final: dict[str, SlotRow] = {}
        for row in cleaned.values():
            slug = by_source_id.get(row.source_id, row.slug) if row.source_id else row.slug
            if slug in final:
                result.skipped += 1
            final[slug] = row
        items = list(final.items())
        done = 0
        for start in range(0, len(items), IMPORT_BATCH):
            chunk = items[start : start + IMPORT_BATCH]
            existing = {
                r["slug"]: r
                for r in Slot.objects.filter(slug__in=[s for s, _ in chunk]).values("slug", *_COMPARED)
            }
            to_write: list[Slot] = []
            for slug, row in chunk:
                values = _row_values(row, source)
                old = existing.get(slug)
                if old is not None:
                    # A source that lacks a field (Shuffle has no RTP) keeps what another source gave.
                    for f in _KEPT_WHEN_MISSING:
                        if values[f] in (None, "", []):
                            values[f] = old[f]
                if old is None:
                    result.created += 1
                elif all(old[f] == values[f] for f in _COMPARED):
                    result.skipped += 1
                    continue
                else:
                    result.updated += 1
                to_write.append(Slot(slug=slug, **values))
            if to_write:
                Slot.objects.bulk_create(
                    to_write, update_conflicts=True, unique_fields=["slug"], update_fields=_UPDATE_FIELDS
                )
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        if result.created or result.updated:
            transaction.on_commit(name_cache.invalidate)
            if result.created > ANALYZE_AFTER and connection.vendor == "postgresql":
                # Fresh statistics, or the planner keeps costing the table as small and skips the
                # trigram indexes for a sequential scan until autovacuum gets to it.
                transaction.on_commit(_analyze_catalogue)
            audit_record(
                action="slots.import",
                actor_label="system",
                data={"source": source, "created": result.created, "updated": result.updated},
            )
    log.info(
        "slot import from %s: %s created, %s updated, %s skipped",
        source,
        result.created,
        result.updated,
        result.skipped,
    )
    return result


# --- settings -----------------------------------------------------------------------------

_SETTING_LIMITS = {
    "cooldown_s": (0, 86400),
    "max_open_per_user": (1, 100),
    "max_length": (1, 200),
}
_SETTING_NAMES = {
    "cooldown_s": "cooldown",
    "max_open_per_user": "open requests per viewer",
    "max_length": "length",
}


def _settings_for_update(community_id: int) -> SlotSettings:
    """The community's settings row, locked (created on first use)."""
    SlotSettings.objects.get_or_create(community_id=community_id)
    return SlotSettings.objects.select_for_update().get(community_id=community_id)


def slot_settings_update(*, community_id: int, actor_label: str, **fields: Any) -> SlotSettings:
    """Change request rules (cooldown_s, max_open_per_user, max_length, channel_id), audited."""
    allowed = {*_SETTING_LIMITS, "channel_id"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    for name, value in fields.items():
        if name == "channel_id":
            if value is not None and (type(value) is not int or value <= 0):
                raise InvalidInput("That is not a channel.")
            continue
        low, high = _SETTING_LIMITS[name]
        if type(value) is not int or not low <= value <= high:
            raise InvalidInput(f"The {_SETTING_NAMES[name]} must be a whole number from {low} to {high}.")
    with transaction.atomic():
        row = _settings_for_update(community_id)
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


def _panel_refresh(community: Community, settings: SlotSettings) -> None:
    """Queue an edit of the posted panel; a still-pending edit is updated instead of adding another."""
    if not (settings.panel_channel_id and settings.panel_message_id):
        return
    payload = {
        "message_id": settings.panel_message_id,
        "content": None,
        "embeds": [embeds.panel_embed(slot_queue_view(community_id=community.pk))],
    }
    pending = OutboxMessage.objects.filter(
        community=community,
        kind=OutboxMessage.Kind.DISCORD_EDIT,
        target=str(settings.panel_channel_id),
        status=OutboxMessage.Status.PENDING,
        payload__message_id=settings.panel_message_id,
    ).values_list("id", flat=True)
    # Coalesce bursts of chat requests into one edit (Discord rate-limits edits per channel).
    if OutboxMessage.objects.filter(pk__in=list(pending), status=OutboxMessage.Status.PENDING).update(
        payload=payload
    ):
        return
    outbox_enqueue(
        community=community,
        kind=OutboxMessage.Kind.DISCORD_EDIT,
        target=settings.panel_channel_id,
        payload=payload,
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
    only an accepted request starts the cooldown (LESSONS 21).
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
            kick_username=username[:64],
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
        if settings.channel_id:
            outbox_enqueue(
                community=community,
                kind=OutboxMessage.Kind.DISCORD_MESSAGE,
                target=settings.channel_id,
                payload={
                    "content": None,
                    "embeds": [
                        embeds.request_embed(
                            request_id=request.pk,
                            username=username,
                            text=text,
                            slot=match.slot,
                            created_at=now,
                            position=position,
                        )
                    ],
                },
                dedupe_key=f"slots:request:{request.pk}",
            )
        if settings.pk:
            _panel_refresh(community, settings)
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


def slot_requests_set_open(*, community_id: int, requests_open: bool, actor_label: str) -> bool:
    """Open or close requests; returns the new state. Audited; the panel follows."""
    with transaction.atomic():
        settings = _settings_for_update(community_id)
        if settings.requests_open != requests_open:
            settings.requests_open = requests_open
            settings.save(update_fields=["requests_open", "updated_at"])
            audit_record(
                action="slots.open" if requests_open else "slots.close",
                community=settings.community,
                actor_label=actor_label,
                target=settings,
            )
            _panel_refresh(settings.community, settings)
    return requests_open


@dataclass(frozen=True)
class PickResult:
    number: int
    request_id: int
    username: str
    text: str
    slot: SlotInfo | None
    ticket: int
    total: int
    server_seed: str
    snapshot_hash: str


def slot_pick_random(*, community_id: int, actor_label: str, now: datetime | None = None) -> PickResult:
    """Pick one open request at random (docs/draw-proof.md, recorded as a numbered ``SlotPick``).

    Entrants are the open requests as ``(request id, 1)``; the beacon is the snapshot hash (an
    instant pick has no future randomness round to wait for), so the proof shows the pick follows
    from the recorded seed and queue, and every pick, re-picks included, stays in the history.
    Locking: the community's settings row, so two moderators pressing at once pick one after another.
    """
    now = now or timezone.now()
    with transaction.atomic():
        settings = _settings_for_update(community_id)
        if SlotRequest.objects.filter(community_id=community_id, status=SlotRequest.Status.PICKED).exists():
            raise InvalidInput("Mark the current pick played or skipped first.")
        ids = list(
            SlotRequest.objects.filter(community_id=community_id, status=SlotRequest.Status.OPEN)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if not ids:
            raise InvalidInput("The queue is empty.")
        snapshot = build_snapshot([(i, 1) for i in ids])
        seed = new_server_seed()
        beacon = snapshot.snapshot_hash
        [winner] = draw_winners(seed, snapshot, beacon, 1)
        request = SlotRequest.objects.select_related("slot").get(pk=winner.kick_user_id)
        request.status = SlotRequest.Status.PICKED
        request.save(update_fields=["status"])
        last = SlotPick.objects.filter(community_id=community_id).order_by("-number").first()
        pick = SlotPick.objects.create(
            community_id=community_id,
            request=request,
            number=(last.number + 1) if last else 1,
            server_seed=seed,
            server_seed_hash=seed_hash(seed),
            snapshot=snapshot.data.decode("ascii"),
            snapshot_hash=snapshot.snapshot_hash,
            beacon=beacon,
            ticket=winner.ticket,
            total=winner.total,
            picked_by=actor_label[:120],
            created_at=now,
        )
        community = settings.community
        audit_record(
            action="slots.pick",
            community=community,
            actor_label=actor_label,
            target=request,
            data={"pick": pick.number, "ticket": winner.ticket, "total": winner.total},
        )
        info = slot_info(request.slot) if request.slot else None
        what = info.name if info else request.text
        outbox_enqueue(
            community=community,
            kind=OutboxMessage.Kind.KICK_CHAT,
            target=str(community_id),
            payload={
                "text": f"Next up: {what[:100]} (requested by @{request.kick_username})",
                "reply_to": None,
            },
            dedupe_key=f"slots:pick:{pick.pk}:kick",
        )
        if settings.channel_id:
            proof = (
                f"seed {seed} · snapshot {snapshot.snapshot_hash[:16]}… · "
                f"ticket {winner.ticket} of {winner.total}"
            )
            outbox_enqueue(
                community=community,
                kind=OutboxMessage.Kind.DISCORD_MESSAGE,
                target=settings.channel_id,
                payload={
                    "content": None,
                    "embeds": [
                        embeds.pick_embed(
                            number=pick.number,
                            username=request.kick_username,
                            text=request.text,
                            slot=info,
                            proof=proof,
                        )
                    ],
                },
                dedupe_key=f"slots:pick:{pick.pk}:discord",
            )
        _panel_refresh(community, settings)
        live_publish(
            community_id=community_id, kind="slots.pick", data={"id": request.pk, "text": f"Picked {what}"}
        )
    return PickResult(
        number=pick.number,
        request_id=request.pk,
        username=request.kick_username,
        text=request.text,
        slot=info,
        ticket=winner.ticket,
        total=winner.total,
        server_seed=seed,
        snapshot_hash=snapshot.snapshot_hash,
    )


def slot_request_finish(*, community_id: int, status: str, actor_label: str) -> int:
    """Mark the current pick (or, with none picked, the oldest open request) played or skipped.

    Returns the request id. A conditional UPDATE on the status, so a double press finishes it once.
    """
    if status not in (SlotRequest.Status.PLAYED, SlotRequest.Status.SKIPPED):
        raise ValueError(f"bad status {status!r}")
    with transaction.atomic():
        settings = _settings_for_update(community_id)
        base = SlotRequest.objects.filter(community_id=community_id)
        request = (
            base.filter(status=SlotRequest.Status.PICKED).first()
            or base.filter(status=SlotRequest.Status.OPEN).order_by("created_at", "id").first()
        )
        if request is None:
            raise InvalidInput("The queue is empty.")
        base.filter(pk=request.pk, status__in=SlotRequest.ACTIVE).update(
            status=status, closed_at=timezone.now(), closed_by=actor_label[:120]
        )
        audit_record(
            action=f"slots.{status}", community=settings.community, actor_label=actor_label, target=request
        )
        _panel_refresh(settings.community, settings)
    return request.pk


def slot_queue_clear(*, community_id: int, actor_label: str) -> int:
    """Close every open or picked request as cleared; returns how many. Audited."""
    with transaction.atomic():
        settings = _settings_for_update(community_id)
        count = SlotRequest.objects.filter(community_id=community_id, status__in=SlotRequest.ACTIVE).update(
            status=SlotRequest.Status.CLEARED, closed_at=timezone.now(), closed_by=actor_label[:120]
        )
        audit_record(
            action="slots.clear",
            community=settings.community,
            actor_label=actor_label,
            data={"cleared": count},
        )
        _panel_refresh(settings.community, settings)
    return count


def slot_panel_posted(*, community_id: int, channel_id: int, message_id: int, actor_label: str) -> None:
    """Remember the posted panel (the one the queue keeps up to date). Audited."""
    with transaction.atomic():
        settings = _settings_for_update(community_id)
        settings.panel_channel_id = channel_id
        settings.panel_message_id = message_id
        if settings.channel_id is None:
            settings.channel_id = channel_id  # requests go where the panel is, until set otherwise
        settings.save()
        audit_record(
            action="slots.panel",
            community=settings.community,
            actor_label=actor_label,
            target=settings,
            data={"channel_id": str(channel_id)},
        )


# --- blacklist ----------------------------------------------------------------------------


def _username(value: str) -> str:
    name = (value or "").strip().lstrip("@")
    if not KICK_USERNAME.fullmatch(name):
        raise InvalidInput("That is not a Kick username (letters, digits and _ only).")
    return name.lower()


def slot_blacklist_add(*, community_id: int, username: str, reason: str = "", actor_label: str) -> bool:
    """Blacklist a Kick viewer from requests; False when they already were (nothing changes)."""
    name = _username(username)
    reason = clean_request_text(reason)[:200]
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
