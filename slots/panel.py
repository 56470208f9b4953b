"""Writes from the queue panel (Discord buttons, dashboard): open/close, pick, played/skipped, clear.

Also the two pieces every queue write shares: the community's settings row as the lock
(``settings_locked``) and the edit that keeps the posted panel up to date (``panel_refresh``).
Every write is one transaction with its audit row; Discord and Kick messages are outbox rows in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from kickbot.errors import InvalidInput
from kickbot.live import live_publish
from kickbot.models import Community
from kickbot.services import audit_record
from outbox.models import OutboxMessage
from outbox.services import outbox_enqueue
from raffle.draw import build_snapshot, draw_winners, new_server_seed, seed_hash
from slots import embeds
from slots.models import SlotPick, SlotRequest, SlotSettings
from slots.selectors import SlotInfo, slot_info, slot_queue_view


def settings_locked(community_id: int) -> SlotSettings:
    """The community's settings row, locked (created on first use)."""
    SlotSettings.objects.get_or_create(community_id=community_id)
    return SlotSettings.objects.select_for_update().get(community_id=community_id)


def panel_refresh(community: Community, settings: SlotSettings) -> None:
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


def post_to_requests_channel(
    community: Community, settings: SlotSettings, embed: dict[str, Any], *, dedupe_key: str
) -> None:
    """Post one embed to the community's slot-request channel (none set: nothing is posted)."""
    if settings.channel_id:
        outbox_enqueue(
            community=community,
            kind=OutboxMessage.Kind.DISCORD_MESSAGE,
            target=settings.channel_id,
            payload={"content": None, "embeds": [embed]},
            dedupe_key=dedupe_key,
        )


def slot_requests_set_open(*, community_id: int, requests_open: bool, actor_label: str) -> bool:
    """Open or close requests; returns the new state. Audited; the panel follows."""
    with transaction.atomic():
        settings = settings_locked(community_id)
        if settings.requests_open != requests_open:
            settings.requests_open = requests_open
            settings.save(update_fields=["requests_open", "updated_at"])
            audit_record(
                action="slots.open" if requests_open else "slots.close",
                community=settings.community,
                actor_label=actor_label,
                target=settings,
            )
            panel_refresh(settings.community, settings)
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
        settings = settings_locked(community_id)
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
        proof = (
            f"seed {seed} · snapshot {snapshot.snapshot_hash[:16]}… · "
            f"ticket {winner.ticket} of {winner.total}"
        )
        post_to_requests_channel(
            community,
            settings,
            embeds.pick_embed(
                number=pick.number, username=request.kick_username, text=request.text, slot=info, proof=proof
            ),
            dedupe_key=f"slots:pick:{pick.pk}:discord",
        )
        panel_refresh(community, settings)
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
        settings = settings_locked(community_id)
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
        panel_refresh(settings.community, settings)
    return request.pk


def slot_queue_clear(*, community_id: int, actor_label: str) -> int:
    """Close every open or picked request as cleared; returns how many. Audited."""
    with transaction.atomic():
        settings = settings_locked(community_id)
        count = SlotRequest.objects.filter(community_id=community_id, status__in=SlotRequest.ACTIVE).update(
            status=SlotRequest.Status.CLEARED, closed_at=timezone.now(), closed_by=actor_label[:120]
        )
        audit_record(
            action="slots.clear",
            community=settings.community,
            actor_label=actor_label,
            data={"cleared": count},
        )
        panel_refresh(settings.community, settings)
    return count


def slot_panel_posted(*, community_id: int, channel_id: int, message_id: int, actor_label: str) -> None:
    """Remember the posted panel (the one the queue keeps up to date). Audited."""
    with transaction.atomic():
        settings = settings_locked(community_id)
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
