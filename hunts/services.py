"""Bonus hunt writes: start, add, remove, begin opening, enter a win, finish.

Each is one transaction that locks the community's running hunt (``select_for_update``), checks
the state, writes, and records its audit row. A refusal is an ``InvalidInput`` whose text is the
reply, and changes nothing. The database holds the rules too (see ``hunts.models``), so a race the
lock does not cover ends in a refusal, never in two running hunts or two bonuses at one position.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from hunts.figures import format_money
from hunts.models import CURRENCIES, Hunt, HuntBonus
from hunts.selectors import HuntView, hunt_view
from kickbot.errors import InvalidInput
from kickbot.live import live_publish
from kickbot.models import Community
from kickbot.money import max_amount_cents
from kickbot.services import audit_record
from kickbot.text import one_line

log = logging.getLogger(__name__)

DEFAULT_TITLE = "Bonus hunt"
TITLE_MAX = 100
SLOT_MAX = 100
NOTES_MAX = 200
MAX_BONUSES = 500

MSG_ALREADY_RUNNING = "A bonus hunt is already running. Finish it first."
MSG_NONE_RUNNING = "There is no bonus hunt running."
MSG_NOT_OPENING = "The hunt is still collecting. Start opening first."
MSG_ALREADY_OPENING = "The hunt is already opening."
MSG_NO_BONUSES = "Add a bonus before opening."
MSG_ALL_OPENED = "Every bonus is opened. Finish the hunt, or give a bonus number to correct its win."
MSG_TOO_MANY = f"A hunt holds at most {MAX_BONUSES} bonuses."


def clean_text(raw: str, *, max_length: int, what: str) -> str:
    """One line of printable text (NFC, control characters and NUL dropped, spaces squeezed)."""
    if len(raw) > max_length * 4:
        raise InvalidInput(f"Keep the {what} under {max_length} characters.")
    text = one_line(raw)
    if len(text) > max_length:
        raise InvalidInput(f"Keep the {what} under {max_length} characters.")
    return text


def _money_in_range(cents: int | None, what: str) -> None:
    if cents is not None and not 0 <= cents <= max_amount_cents():
        raise InvalidInput(f"That {what} is out of range.")


def _running(community_id: int) -> Hunt:
    hunt = (
        Hunt.objects.select_for_update()
        .filter(community_id=community_id, status__in=Hunt.RUNNING)
        .select_related("community")
        .first()
    )
    if hunt is None:
        raise InvalidInput(MSG_NONE_RUNNING)
    return hunt


def _bonus(hunt: Hunt, position: int) -> HuntBonus:
    bonus = HuntBonus.objects.filter(hunt=hunt, position=position).first()
    if bonus is None:
        raise InvalidInput(f"There is no bonus #{position} in this hunt.")
    return bonus


def _audit(
    action: str, hunt: Hunt, actor: User | AnonymousUser | None, actor_label: str, data: dict[str, object]
) -> None:
    audit_record(
        action=action, community=hunt.community, actor=actor, actor_label=actor_label, target=hunt, data=data
    )


@transaction.atomic
def hunt_start(
    *,
    community_id: int,
    title: str,
    start_balance_cents: int,
    currency: str = "USD",
    actor_label: str,
    actor: User | AnonymousUser | None = None,
) -> HuntView:
    """Start collecting. Refused while the community has a collecting or opening hunt."""
    _money_in_range(start_balance_cents, "start balance")
    title = clean_text(title, max_length=TITLE_MAX, what="title") or DEFAULT_TITLE
    currency = currency.strip().upper() or "USD"
    if currency not in CURRENCIES:
        raise InvalidInput(f"Pick a currency of {', '.join(CURRENCIES)}.")
    community = Community.objects.get(pk=community_id)
    if Hunt.objects.filter(community=community, status__in=Hunt.RUNNING).exists():
        raise InvalidInput(MSG_ALREADY_RUNNING)
    try:
        with transaction.atomic():  # a savepoint: a racing start hits the unique constraint
            hunt = Hunt.objects.create(
                community=community,
                title=title,
                start_balance_cents=start_balance_cents,
                currency=currency,
                started_by=actor_label[:120],
                started_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise InvalidInput(MSG_ALREADY_RUNNING) from exc
    _audit(
        "hunt.start",
        hunt,
        actor,
        actor_label,
        {"title": title, "start_balance_cents": start_balance_cents, "currency": currency},
    )
    live_publish(community_id=community_id, kind="hunt", data={"text": f"Bonus hunt started: {title}"})
    return hunt_view(hunt_id=hunt.pk)


@transaction.atomic
def hunt_bonus_add(
    *,
    community_id: int,
    slot_name: str,
    bet_cents: int,
    cost_cents: int | None = None,
    notes: str = "",
    actor_label: str,
    actor: User | AnonymousUser | None = None,
) -> HuntView:
    """Add a bonus at the end of the order (collecting or opening: a late bonus joins the queue)."""
    _money_in_range(bet_cents, "bet")
    _money_in_range(cost_cents, "cost")
    slot_name = clean_text(slot_name, max_length=SLOT_MAX, what="slot name")
    if not slot_name:
        raise InvalidInput("Name the slot.")
    notes = clean_text(notes, max_length=NOTES_MAX, what="notes")
    hunt = _running(community_id)
    bonuses = HuntBonus.objects.filter(hunt=hunt)
    if bonuses.count() >= MAX_BONUSES:
        raise InvalidInput(MSG_TOO_MANY)
    position = (bonuses.aggregate(last=Max("position"))["last"] or 0) + 1
    bonus = HuntBonus.objects.create(
        hunt=hunt,
        position=position,
        slot_name=slot_name,
        bet_cents=bet_cents,
        cost_cents=cost_cents,
        notes=notes,
        added_at=timezone.now(),
    )
    _audit(
        "hunt.bonus_add",
        hunt,
        actor,
        actor_label,
        {"position": position, "slot": slot_name, "bet_cents": bet_cents, "cost_cents": cost_cents},
    )
    log.info("hunt %s: bonus %s added (#%s)", hunt.pk, bonus.pk, position)
    return hunt_view(hunt_id=hunt.pk)


@transaction.atomic
def hunt_bonus_remove(
    *, community_id: int, position: int, actor_label: str, actor: User | AnonymousUser | None = None
) -> HuntView:
    """Take a bonus out of the running hunt. The others keep their numbers."""
    hunt = _running(community_id)
    bonus = _bonus(hunt, position)
    bonus.delete()
    _audit(
        "hunt.bonus_remove",
        hunt,
        actor,
        actor_label,
        {"position": position, "slot": bonus.slot_name, "win_cents": bonus.win_cents},
    )
    return hunt_view(hunt_id=hunt.pk)


@transaction.atomic
def hunt_opening_begin(
    *, community_id: int, actor_label: str, actor: User | AnonymousUser | None = None
) -> HuntView:
    """Collecting → opening. Refused without a bonus, or when already opening."""
    hunt = _running(community_id)
    if hunt.status == Hunt.Status.OPENING:
        raise InvalidInput(MSG_ALREADY_OPENING)
    if not HuntBonus.objects.filter(hunt=hunt).exists():
        raise InvalidInput(MSG_NO_BONUSES)
    Hunt.objects.filter(pk=hunt.pk).update(status=Hunt.Status.OPENING, opening_at=timezone.now())
    _audit("hunt.open", hunt, actor, actor_label, {})
    live_publish(
        community_id=community_id, kind="hunt", data={"text": f"Opening the bonuses of {hunt.title}"}
    )
    return hunt_view(hunt_id=hunt.pk)


@transaction.atomic
def hunt_bonus_result(
    *,
    community_id: int,
    win_cents: int,
    position: int | None = None,
    expected_position: int | None = None,
    actor_label: str,
    actor: User | AnonymousUser | None = None,
) -> HuntView:
    """Enter a win: the next unopened bonus in order, or the bonus ``position`` (a correction).

    ``expected_position``: the next bonus the typist saw; if another tab or a second Enter has
    opened it meanwhile, the win is refused rather than put on the bonus after it."""
    _money_in_range(win_cents, "win")
    hunt = _running(community_id)
    if hunt.status != Hunt.Status.OPENING:
        raise InvalidInput(MSG_NOT_OPENING)
    if position is None:
        bonus = HuntBonus.objects.filter(hunt=hunt, win_cents__isnull=True).order_by("position").first()
        if bonus is None:
            raise InvalidInput(MSG_ALL_OPENED)
        if expected_position is not None and bonus.position != expected_position:
            raise InvalidInput(
                f"Bonus #{expected_position} already has its win; the next is "
                f"#{bonus.position} {bonus.slot_name}. Check it and enter its win."
            )
    else:
        bonus = _bonus(hunt, position)
    previous = bonus.win_cents
    HuntBonus.objects.filter(pk=bonus.pk).update(win_cents=win_cents, opened_at=timezone.now())
    _audit(
        "hunt.result",
        hunt,
        actor,
        actor_label,
        {"position": bonus.position, "win_cents": win_cents, "previous_win_cents": previous},
    )
    live_publish(
        community_id=community_id,
        kind="hunt",
        data={"text": f"#{bonus.position} {bonus.slot_name}: {format_money(win_cents, hunt.currency)}"},
    )
    return hunt_view(hunt_id=hunt.pk)


@transaction.atomic
def hunt_finish(
    *, community_id: int, actor_label: str, actor: User | AnonymousUser | None = None
) -> HuntView:
    """Running → finished, once every bonus is opened (remove the ones that will not be)."""
    hunt = _running(community_id)
    left = HuntBonus.objects.filter(hunt=hunt, win_cents__isnull=True).count()
    if left:
        raise InvalidInput(
            f"{left} bonus{'es are' if left != 1 else ' is'} still unopened. "
            "Enter the wins or remove them first."
        )
    Hunt.objects.filter(pk=hunt.pk).update(status=Hunt.Status.FINISHED, finished_at=timezone.now())
    view = hunt_view(hunt_id=hunt.pk)
    _audit(
        "hunt.finish",
        hunt,
        actor,
        actor_label,
        {
            "total_cost_cents": view.figures.total_cost_cents,
            "total_won_cents": view.figures.total_won_cents,
            "bonuses": view.figures.bonus_count,
        },
    )
    live_publish(community_id=community_id, kind="hunt", data={"text": f"Bonus hunt finished: {hunt.title}"})
    return view
