"""The draw of a frozen period: the verified drand beacon, winners, rerolls and the fallback round.

Fairness (``docs/draw-proof.md``, ``docs/fairness.md``): the winners follow from the committed
seed, the published snapshot and the committed round's verified randomness alone; rerolls are
capped and only for the listed reasons (``raffle.rules.REROLL_REASONS``); the fallback round
follows a fixed rule once the committed round failed verifiably for the committed number of
minutes, and nobody chooses it. The beacon is fetched outside any transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kickbot.errors import InvalidInput, NotAllowed
from kickbot.integrations.drand import BeaconNotYet, BeaconUnavailable, DrandClient
from kickbot.live import live_publish
from kickbot.services import audit_record
from raffle import announce
from raffle.draw import Winner, build_snapshot, draw_winners
from raffle.draw import round_time as drand_round_time
from raffle.errors import DrawWaiting, NoOpenPeriod
from raffle.models import RafflePeriod, RaffleWinner
from raffle.proof import proof_time
from raffle.rules import (
    REROLL_REASONS,
    commit_round,
    committed_fallback_after,
    committed_margin,
    committed_max_rerolls,
)
from raffle.selectors import raffle_settings_get, snapshot_rows, usernames_for
from raffle.services.ledger import period_lock

log = logging.getLogger(__name__)

# Kept in the attempt log (the first failures and the latest ones): enough to show the failure.
MAX_ATTEMPTS_LOGGED = 200


def drand_client_factory() -> DrandClient:
    """The beacon client the draw uses (tests replace this with a fake relay)."""
    return DrandClient(settings.DRAND_URLS)


@dataclass(frozen=True)
class DrawResult:
    period_id: int
    already: bool
    winners: list[RaffleWinner]


def _wait(period_id: int, reason: str) -> DrawWaiting:
    now = timezone.now()
    RafflePeriod.objects.filter(pk=period_id, status=RafflePeriod.Status.FROZEN).update(
        draw_wait_reason=reason[:500]
    )
    RafflePeriod.objects.filter(pk=period_id, draw_wait_since__isnull=True).update(draw_wait_since=now)
    log.info("raffle %s draw waits: %s", period_id, reason)
    return DrawWaiting(reason)


def _log_failure(period_id: int, round_no: int, answers: str) -> RafflePeriod:
    """Log one failed try at the committed round; switch to the fallback once the rule allows it.

    Only tries at or after the round's emission count. The fallback rule (docs/draw-proof.md):
    the first failure and a later one at least ``fallback_after_s`` apart, no success in between
    (any success draws at once); the fallback round is the first one emitted at least the margin
    after that later failure. No one chooses it.
    """
    now = timezone.now()
    with transaction.atomic():
        period = period_lock(period_id)
        if period.status != RafflePeriod.Status.FROZEN or round_no != period.drand_round:
            return period
        attempt = {"at": proof_time(now), "round": round_no, "answers": answers[:1000]}
        log_ = [*period.draw_attempts, attempt]
        if len(log_) > MAX_ATTEMPTS_LOGGED:
            log_ = [log_[0], *log_[-(MAX_ATTEMPTS_LOGGED - 1) :]]
        period.draw_attempts = log_
        fields = ["draw_attempts"]
        first = datetime.fromisoformat(log_[0]["at"].replace("Z", "+00:00"))
        failing_s = (now - first).total_seconds()
        if period.fallback_round is None and failing_s >= committed_fallback_after(period):
            period.fallback_round = commit_round(now, committed_margin(period))
            period.fallback_chosen_at = now
            period.fallback_chosen_by = "rule"
            fields += ["fallback_round", "fallback_chosen_at", "fallback_chosen_by"]
            audit_record(
                action="raffle.fallback",
                community=period.community,
                actor_label="system:fallback-rule",
                target=period,
                data={"committed_round": period.drand_round, "fallback_round": period.fallback_round},
            )
        period.save(update_fields=fields)
    return period


def _winner_row(period: RafflePeriod, w: Winner, username: str) -> RaffleWinner:
    """The row of drawn winner ``w`` (unsaved): what the draw picked, and the account's name now."""
    return RaffleWinner(
        period=period,
        k=w.k,
        kick_user_id=w.kick_user_id,
        username=username,
        ticket=w.ticket,
        total=w.total,
        tickets=w.tickets,
    )


def period_draw(*, period_id: int, actor_label: str) -> DrawResult:
    """Draw the winners of a frozen period with the verified drand beacon (docs/draw-proof.md).

    Idempotent: a drawn period returns its winners. Raises ``DrawWaiting`` (and records why on
    the period) while the beacon cannot be had; every failure after the round's emission goes
    into the attempt log, which may switch the draw to the fallback round by the fixed rule.
    The beacon is fetched outside any transaction.
    """
    period = RafflePeriod.objects.defer("server_seed").get(pk=period_id)
    if period.status == RafflePeriod.Status.OPEN:
        raise NotAllowed("The raffle is still open. End it first (raffleend).")
    if period.status == RafflePeriod.Status.DRAWN:
        return DrawResult(period_id, True, list(period.winners.order_by("k")))
    round_no = period.fallback_round or period.drand_round
    due_at = drand_round_time(round_no)
    now = timezone.now()
    if now.timestamp() < due_at:
        when = datetime.fromtimestamp(due_at, tz=ZoneInfo("UTC"))
        raise _wait(
            period_id,
            f"waiting for drand quicknet round {round_no}, emitted at {when:%Y-%m-%d %H:%M:%S} UTC "
            f"(in {int(due_at - now.timestamp()) + 1} s)",
        )
    try:
        with drand_client_factory() as client:
            beacon = client.fetch_round(round_no)
    except (BeaconNotYet, BeaconUnavailable) as exc:
        answers = exc.reason if isinstance(exc, BeaconUnavailable) else f"not available: {exc.reason}"
        if period.fallback_round is None:
            updated = _log_failure(period_id, round_no, answers)
            if updated.fallback_round is not None:
                minutes = committed_fallback_after(updated) // 60
                raise _wait(
                    period_id,
                    f"drand round {round_no} failed for {minutes} minutes: the draw "
                    f"uses the fallback round {updated.fallback_round} by the published rule",
                ) from None
        raise _wait(
            period_id, f"drand round {round_no} could not be fetched and verified ({answers[:300]})"
        ) from None

    with transaction.atomic():
        period = period_lock(period_id)
        if period.status == RafflePeriod.Status.DRAWN:
            return DrawResult(period_id, True, list(period.winners.order_by("k")))
        snap = build_snapshot(snapshot_rows(period_id=period.pk))
        if snap.snapshot_hash != period.snapshot_hash:
            # The guards make this impossible; if it happens, drawing would break the commitment.
            raise RuntimeError(f"raffle {period.pk}: balances no longer match the published snapshot")
        count = min(int(period.rules.get("winners", 1)), len(snap))
        picked = draw_winners(period.server_seed, snap, beacon.randomness_hex, count)
        names = usernames_for([w.kick_user_id for w in picked])
        winners = RaffleWinner.objects.bulk_create(
            [_winner_row(period, w, names.get(w.kick_user_id, "")) for w in picked]
        )
        period.status = RafflePeriod.Status.DRAWN
        period.beacon_round = beacon.round
        period.beacon_signature = beacon.signature_hex
        period.beacon_randomness = beacon.randomness_hex
        period.beacon_source = beacon.relay_url[:200]
        period.draw_wait_reason = ""
        period.drawn_at = timezone.now()
        period.save(
            update_fields=[
                "status",
                "beacon_round",
                "beacon_signature",
                "beacon_randomness",
                "beacon_source",
                "draw_wait_reason",
                "drawn_at",
            ]
        )
        audit_record(
            action="raffle.draw",
            community=period.community,
            actor_label=actor_label,
            target=period,
            data={"round": beacon.round, "winners": [w.kick_user_id for w in picked]},
        )
        announce.winners_drawn(
            period=period, winners=winners, settings=raffle_settings_get(community_id=period.community_id)
        )
        live_publish(
            community_id=period.community_id,
            kind="raffle.draw",
            data={
                "text": f"Raffle #{period.pk} drawn: "
                + ", ".join(w.username or str(w.kick_user_id) for w in winners)
            },
        )
    log.info("raffle %s drawn with round %s: %s winners", period_id, beacon.round, len(winners))
    return DrawResult(period_id, False, winners)


def period_reroll(*, period_id: int, reason: str, actor_label: str) -> RaffleWinner:
    """Void the latest valid winner for a listed reason and draw the next k (never the same k again).

    At most the committed ``max_rerolls`` per draw, each for a reason of ``REROLL_REASONS``.
    """
    if reason not in REROLL_REASONS:
        raise InvalidInput("Reroll only for a reason: " + ", ".join(sorted(REROLL_REASONS)) + ".")
    word = reason
    with transaction.atomic():
        period = period_lock(period_id)
        if period.status != RafflePeriod.Status.DRAWN:
            raise NotAllowed("Only a drawn raffle can be rerolled.")
        existing = list(period.winners.order_by("k"))
        cap = committed_max_rerolls(period)
        voided = sum(1 for w in existing if w.void_reason)
        if voided >= cap:
            raise NotAllowed(f"This raffle allows {cap} reroll(s) and all were used.")
        snap = build_snapshot(snapshot_rows(period_id=period.pk))
        if len(existing) >= len(snap):
            raise NotAllowed("Everybody with tickets has already been drawn.")
        valid = [w for w in existing if not w.void_reason]
        if not valid:
            raise NotAllowed("There is no winner to reroll.")
        last = valid[-1]
        last.void_reason = word
        last.save(update_fields=["void_reason"])
        w = draw_winners(period.server_seed, snap, period.beacon_randomness, len(existing) + 1)[-1]
        winner = _winner_row(period, w, usernames_for([w.kick_user_id]).get(w.kick_user_id, ""))
        winner.save(force_insert=True)
        audit_record(
            action="raffle.reroll",
            community=period.community,
            actor_label=actor_label,
            target=period,
            data={"k": w.k, "kick_user_id": w.kick_user_id, "reason": word},
        )
        announce.winners_drawn(
            period=period, winners=[winner], settings=raffle_settings_get(community_id=period.community_id)
        )
    return winner


def period_choose_fallback(*, period_id: int, actor_label: str) -> RafflePeriod:
    """Nobody chooses the fallback: it follows the published rule (see ``_log_failure``).

    Kept for the ``raffledraw fallback`` command: tries the draw (which logs a failure and may
    switch by the rule) and explains the state when the rule does not allow the fallback yet.
    """
    period = RafflePeriod.objects.defer("server_seed").get(pk=period_id)
    if period.status != RafflePeriod.Status.FROZEN:
        raise NotAllowed("Only a frozen raffle that waits for its beacon can use the fallback.")
    if period.fallback_round is None:
        after = committed_fallback_after(period) // 60
        raise NotAllowed(
            f"The fallback is used only after drand round {period.drand_round} failed for {after} minutes "
            f"({len(period.draw_attempts)} failed tries logged so far); nobody can choose it."
        )
    return period


def raffle_draw_due() -> list[int]:
    """Draw every frozen period with auto-draw on whose beacon round is due. Returns drawn ids.

    The backstop of ``raffle.tasks.raffle_draw_period`` (scheduled at the freeze for the round).
    """
    now = timezone.now().timestamp()
    drawn = []
    candidates = RafflePeriod.objects.filter(status=RafflePeriod.Status.FROZEN).filter(
        Q(community__raffle_settings__auto_draw=True) | Q(community__raffle_settings__isnull=True)
    )
    for pid, round_no, fallback in candidates.values_list("id", "drand_round", "fallback_round"):
        if now < drand_round_time(fallback or round_no):
            continue
        try:
            result = period_draw(period_id=pid, actor_label="system:auto-draw")
        except DrawWaiting:
            continue
        if not result.already:
            drawn.append(pid)
    return drawn


def period_draw_current(
    *, community_id: int, action: str = "draw", reason: str = "", actor_label: str
) -> DrawResult:
    """``raffledraw [reroll <reason> | fallback]`` on the latest period that is not open.

    ``action`` is ``"draw"``, ``"reroll"`` (for ``reason``) or ``"fallback"``.
    """
    if action not in ("draw", "reroll", "fallback"):
        raise ValueError(f"unknown draw action {action!r}")
    period = (
        RafflePeriod.objects.filter(community_id=community_id)
        .exclude(status=RafflePeriod.Status.OPEN)
        .defer("server_seed")
        .order_by("-frozen_at", "-id")
        .first()
    )
    if period is None:
        if RafflePeriod.objects.filter(community_id=community_id, status=RafflePeriod.Status.OPEN).exists():
            raise NotAllowed("The raffle is still open. End it first (raffleend).")
        raise NoOpenPeriod("There is no raffle to draw.")
    if action == "reroll":
        winner = period_reroll(period_id=period.pk, reason=reason, actor_label=actor_label)
        return DrawResult(period.pk, False, [winner])
    if action == "fallback":
        period_choose_fallback(period_id=period.pk, actor_label=actor_label)
    return period_draw(period_id=period.pk, actor_label=actor_label)
