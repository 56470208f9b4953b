"""Reads for the bot and the pages: plain dataclasses with their figures, never querysets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hunts.figures import BonusFigures, HuntFigures, hunt_figures
from hunts.models import Hunt, HuntBonus


@dataclass(frozen=True)
class BonusView:
    id: int
    position: int
    slot_name: str
    bet_cents: int
    cost_cents: int | None
    win_cents: int | None
    notes: str

    @property
    def figures(self) -> BonusFigures:
        return BonusFigures(
            position=self.position,
            slot_name=self.slot_name,
            bet_cents=self.bet_cents,
            cost_cents=self.cost_cents,
            win_cents=self.win_cents,
        )


@dataclass(frozen=True)
class HuntView:
    id: int
    title: str
    status: str
    currency: str
    start_balance_cents: int
    started_at: datetime
    finished_at: datetime | None
    bonuses: list[BonusView]
    figures: HuntFigures

    @property
    def running(self) -> bool:
        return self.status in Hunt.RUNNING

    @property
    def next_unopened(self) -> BonusView | None:
        return next((b for b in self.bonuses if b.win_cents is None), None)


def _view(hunt: Hunt, bonuses: list[HuntBonus]) -> HuntView:
    views = [
        BonusView(
            id=b.pk,
            position=b.position,
            slot_name=b.slot_name,
            bet_cents=b.bet_cents,
            cost_cents=b.cost_cents,
            win_cents=b.win_cents,
            notes=b.notes,
        )
        for b in bonuses
    ]
    return HuntView(
        id=hunt.pk,
        title=hunt.title,
        status=hunt.status,
        currency=hunt.currency,
        start_balance_cents=hunt.start_balance_cents,
        started_at=hunt.started_at,
        finished_at=hunt.finished_at,
        bonuses=views,
        figures=hunt_figures(
            start_balance_cents=hunt.start_balance_cents, bonuses=[v.figures for v in views]
        ),
    )


def hunt_view(*, hunt_id: int) -> HuntView:
    hunt = Hunt.objects.get(pk=hunt_id)
    return _view(hunt, list(HuntBonus.objects.filter(hunt=hunt).order_by("position")))


def hunt_running(*, community_id: int) -> HuntView | None:
    """The community's collecting or opening hunt, else None."""
    hunt = Hunt.objects.filter(community_id=community_id, status__in=Hunt.RUNNING).first()
    return hunt_view(hunt_id=hunt.pk) if hunt else None


def hunt_current(*, community_id: int) -> HuntView | None:
    """The running hunt, else the latest finished one, else None (what ``!hunt`` talks about)."""
    qs = Hunt.objects.filter(community_id=community_id)
    hunt = qs.filter(status__in=Hunt.RUNNING).first() or qs.order_by("-started_at", "-id").first()
    return hunt_view(hunt_id=hunt.pk) if hunt else None


def hunt_history(*, community_id: int, limit: int = 50) -> list[HuntView]:
    """Finished hunts, newest first, with their figures (two queries, whatever the count)."""
    hunts = list(
        Hunt.objects.filter(community_id=community_id, status=Hunt.Status.FINISHED).order_by(
            "-finished_at", "-id"
        )[:limit]
    )
    by_hunt: dict[int, list[HuntBonus]] = {h.pk: [] for h in hunts}
    for bonus in HuntBonus.objects.filter(hunt_id__in=list(by_hunt)).order_by("hunt_id", "position"):
        by_hunt[bonus.hunt_id].append(bonus)
    return [_view(h, by_hunt[h.pk]) for h in hunts]


def hunt_of_community(*, community_id: int, hunt_id: int) -> HuntView | None:
    """One hunt of this community (None for another community's id: no peeking across)."""
    if not Hunt.objects.filter(pk=hunt_id, community_id=community_id).exists():
        return None
    return hunt_view(hunt_id=hunt_id)
