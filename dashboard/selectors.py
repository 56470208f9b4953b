"""Reads for dashboard pages that gather several apps: plain dataclasses, built on the apps' selectors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower

from accounts.models import KickUser, Link
from dashboard.roles import ROLES
from gtb.models import GtbGuess
from kickbot.months import month_label
from raffle.models import ShuffleAccount
from raffle.selectors import TicketsInfo, tickets_of
from slots.models import SlotRequest
from watchtime.models import WatchMonthly
from watchtime.selectors import RankInfo, current_month, rank_of

SEARCH_MAX = 64
SEARCH_LIMIT = 25
HISTORY_LIMIT = 20


@dataclass(frozen=True)
class UserHit:
    kick_user_id: int
    username: str
    discord_user_id: int | None


@dataclass(frozen=True)
class RequestRow:
    text: str
    slot: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class GuessRow:
    session_title: str
    amount_cents: int
    first_guessed_at: datetime


@dataclass(frozen=True)
class UserProfile:
    kick_user_id: int
    username: str
    discord_user_id: int | None
    linked_at: datetime | None
    watch_all_time: RankInfo
    watch_month: RankInfo
    tickets: TicketsInfo | None
    requests: list[RequestRow]
    guesses: list[GuessRow]
    shuffle_name: str | None
    shuffle_verified: bool


@dataclass(frozen=True)
class AccountRow:
    id: int
    username: str
    role: str
    last_login: datetime | None
    is_active: bool


def user_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[UserHit]:
    """Kick users by Discord id or Kick id (exact) or Kick name (case-insensitive prefix)."""
    text = (query or "").strip().lstrip("@")[:SEARCH_MAX]
    if not text:
        return []
    qs = KickUser.objects.select_related("link")
    if text.isdigit() and len(text) <= 19:
        number = int(text)
        ids = set(Link.objects.filter(discord_user_id=number).values_list("kick_user_id", flat=True))
        ids |= set(KickUser.objects.filter(user_id=number).values_list("user_id", flat=True))
        rows = list(qs.filter(user_id__in=ids)[:limit])
    else:
        # Lower(username) matches the kickuser_username_lower index.
        rows = list(
            qs.annotate(name_lower=Lower("username"))
            .filter(name_lower__startswith=text.lower())
            .order_by("name_lower", "user_id")[:limit]
        )
    hits = []
    for u in rows:
        link = getattr(u, "link", None)
        hits.append(UserHit(u.user_id, u.username, link.discord_user_id if link else None))
    return hits


def user_profile(*, community_id: int, kick_user_id: int) -> UserProfile | None:
    """Everything the dashboard shows about one viewer in one community, or None when unknown."""
    user = KickUser.objects.select_related("link").filter(user_id=kick_user_id).first()
    if user is None:
        return None
    link = getattr(user, "link", None)
    requests = [
        RequestRow(r.text, r.slot.name if r.slot else "", r.status, r.created_at)
        for r in SlotRequest.objects.filter(community_id=community_id, kick_user_id=kick_user_id)
        .select_related("slot")
        .order_by("-created_at")[:HISTORY_LIMIT]
    ]
    guesses = [
        GuessRow(g.session.title, g.amount_cents, g.first_guessed_at)
        for g in GtbGuess.objects.filter(session__community_id=community_id, kick_user_id=kick_user_id)
        .select_related("session")
        .order_by("-first_guessed_at")[:HISTORY_LIMIT]
    ]
    shuffle = ShuffleAccount.objects.filter(community_id=community_id, kick_user_id=kick_user_id).first()
    return UserProfile(
        kick_user_id=user.user_id,
        username=user.username,
        discord_user_id=link.discord_user_id if link else None,
        linked_at=link.created_at if link else None,
        watch_all_time=rank_of(community_id=community_id, kick_user_id=kick_user_id),
        watch_month=rank_of(
            community_id=community_id,
            kick_user_id=kick_user_id,
            month=current_month(community_id=community_id),
        ),
        tickets=tickets_of(community_id=community_id, kick_user_id=kick_user_id),
        requests=requests,
        guesses=guesses,
        shuffle_name=shuffle.username if shuffle else None,
        shuffle_verified=bool(shuffle and shuffle.verified),
    )


def dashboard_accounts() -> list[AccountRow]:
    """Dashboard logins and their role (the highest one they hold)."""
    rows = []
    for u in get_user_model().objects.prefetch_related("groups").order_by("username"):
        names = {g.name for g in u.groups.all()}
        role = next((r for r in ROLES if r in names), "")
        rows.append(AccountRow(u.pk, u.get_username(), role, u.last_login, u.is_active))
    return rows


@dataclass(frozen=True)
class MonthRow:
    month: str
    minutes: int


def watch_history(*, community_id: int, kick_user_id: int, months: int = 24) -> list[MonthRow]:
    """One viewer's minutes per month, newest first (``watchmonthly_once`` index)."""
    rows = (
        WatchMonthly.objects.filter(community_id=community_id, kick_user_id=kick_user_id)
        .order_by("-month")
        .values_list("month", "minutes")[:months]
    )
    return [MonthRow(month_label(m), minutes) for m, minutes in rows]
