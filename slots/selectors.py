"""Reads for the bot, the panel and the pages. Async callers get plain dataclasses, never querysets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Max

from slots.matching import CANDIDATES, Candidate, best_match, name_cache, normalise
from slots.models import Slot, SlotBlacklist, SlotRequest, SlotSettings


@dataclass(frozen=True)
class SlotInfo:
    id: int
    name: str
    slug: str
    provider: str
    rtp_bp: int | None
    volatility: str
    max_win: int | None
    image_url: str

    @property
    def rtp_percent(self) -> str:
        return "" if self.rtp_bp is None else f"{self.rtp_bp / 100:.2f}%"


@dataclass(frozen=True)
class MatchResult:
    slot: SlotInfo | None
    score: float


@dataclass(frozen=True)
class SettingsView:
    community_id: int
    channel_id: int | None
    requests_open: bool
    cooldown_s: int
    max_open_per_user: int
    max_length: int
    panel_channel_id: int | None
    panel_message_id: int | None


@dataclass(frozen=True)
class QueueEntry:
    id: int
    kick_username: str
    text: str
    slot_name: str | None
    status: str
    created_at: datetime


@dataclass(frozen=True)
class QueueView:
    requests_open: bool
    open_count: int
    picked: QueueEntry | None
    upcoming: list[QueueEntry]


@dataclass(frozen=True)
class BlacklistEntry:
    username: str
    kick_user_id: int | None
    reason: str
    added_by: str
    created_at: datetime


def slot_info(slot: Slot) -> SlotInfo:
    return SlotInfo(
        id=slot.pk,
        name=slot.name,
        slug=slot.slug,
        provider=slot.provider,
        rtp_bp=slot.rtp_bp,
        volatility=slot.volatility,
        max_win=slot.max_win,
        image_url=slot.image_url,
    )


def _split_aliases(aliases_norm: str) -> tuple[str, ...]:
    return tuple(a for a in aliases_norm.split(" / ") if a)


def _catalogue_version() -> tuple[int, datetime | None, int | None]:
    row = Slot.objects.aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id"))
    return row["n"], row["last"], row["top"]


# Index-level cut-offs for the trigram operators, above pg_trgm's defaults (0.3 / 0.6): far fewer
# rows reach the heap recheck, and anything below them would lose in best_match anyway.
TRGM_SIMILARITY = "0.4"
TRGM_WORD_SIMILARITY = "0.7"
_TRGM_SQL = (
    # Three index scans (GIN gin_trgm_ops, migration 0002), each bounded; an OR of the three
    # operators makes the planner fall back to a sequential scan that runs them on every row.
    "(SELECT id, name_norm, aliases_norm FROM slots_slot WHERE name_norm %% %s "
    " ORDER BY similarity(name_norm, %s) DESC, id LIMIT %s) "
    "UNION (SELECT id, name_norm, aliases_norm FROM slots_slot WHERE name_norm %%> %s "
    " ORDER BY word_similarity(%s, name_norm) DESC, id LIMIT %s) "
    "UNION (SELECT id, name_norm, aliases_norm FROM slots_slot WHERE aliases_norm %%> %s "
    " ORDER BY word_similarity(%s, aliases_norm) DESC, id LIMIT %s)"
)


def _candidates_postgres(query: str) -> list[Candidate]:
    with transaction.atomic(), connection.cursor() as cur:
        # Local to this transaction: pooled connections keep their defaults.
        cur.execute(
            "SELECT set_config('pg_trgm.similarity_threshold', %s, true), "
            "set_config('pg_trgm.word_similarity_threshold', %s, true)",
            [TRGM_SIMILARITY, TRGM_WORD_SIMILARITY],
        )
        cur.execute(_TRGM_SQL, [query, query, CANDIDATES] * 3)
        rows = cur.fetchall()
    return [Candidate(slot_id=r[0], name_norm=r[1], alias_norms=_split_aliases(r[2])) for r in rows]


def _candidates_memory(query: str) -> list[Candidate]:
    version = _catalogue_version()
    if name_cache.version != version:
        rows = Slot.objects.values_list("id", "name_norm", "aliases_norm").order_by("id")
        name_cache.load(
            version, [Candidate(slot_id=i, name_norm=n, alias_norms=_split_aliases(a)) for i, n, a in rows]
        )
    return name_cache.nearest(query)


def slot_match(*, text: str, community_id: int | None = None) -> MatchResult:
    """The catalogue slot a request means, or ``MatchResult(None, score)`` for free text.

    ``community_id`` is accepted for per-community aliases later; the catalogue is global today.
    """
    query = normalise(text)[:200]
    if not query:
        return MatchResult(None, 0.0)
    use_trgm = connection.vendor == "postgresql"
    candidates = _candidates_postgres(query) if use_trgm else _candidates_memory(query)
    decision = best_match(query, candidates)
    if decision.slot_id is None:
        return MatchResult(None, decision.score)
    slot = Slot.objects.filter(pk=decision.slot_id).first()
    return MatchResult(slot_info(slot) if slot else None, decision.score)


def slot_search(*, text: str, limit: int = 10) -> list[SlotInfo]:
    """Catalogue search for the dashboard: the best candidates, nearest first."""
    query = normalise(text)[:200]
    if not query:
        return []
    use_trgm = connection.vendor == "postgresql"
    candidates = _candidates_postgres(query) if use_trgm else _candidates_memory(query)
    ids = [c.slot_id for c in candidates[:limit]]
    by_id = {s.pk: s for s in Slot.objects.filter(pk__in=ids)}
    return [slot_info(by_id[i]) for i in ids if i in by_id]


def slot_settings_view(*, community_id: int) -> SettingsView:
    row = SlotSettings.objects.filter(community_id=community_id).first() or SlotSettings(
        community_id=community_id
    )
    return SettingsView(
        community_id=community_id,
        channel_id=row.channel_id,
        requests_open=row.requests_open,
        cooldown_s=row.cooldown_s,
        max_open_per_user=row.max_open_per_user,
        max_length=row.max_length,
        panel_channel_id=row.panel_channel_id,
        panel_message_id=row.panel_message_id,
    )


def _entry(r: SlotRequest) -> QueueEntry:
    return QueueEntry(
        id=r.pk,
        kick_username=r.kick_username,
        text=r.text,
        slot_name=r.slot.name if r.slot else None,
        status=r.status,
        created_at=r.created_at,
    )


def slot_queue_view(*, community_id: int, limit: int = 10) -> QueueView:
    """What the panel shows: open/closed, the current pick and the oldest open requests."""
    base = SlotRequest.objects.filter(community_id=community_id).select_related("slot")
    picked = base.filter(status=SlotRequest.Status.PICKED).first()
    open_qs = base.filter(status=SlotRequest.Status.OPEN).order_by("created_at", "id")
    requests_open = (
        SlotSettings.objects.filter(community_id=community_id).values_list("requests_open", flat=True).first()
    )
    return QueueView(
        requests_open=True if requests_open is None else requests_open,
        open_count=open_qs.count(),
        picked=_entry(picked) if picked else None,
        upcoming=[_entry(r) for r in open_qs[:limit]],
    )


def slot_blacklist_entries(*, community_id: int) -> list[BlacklistEntry]:
    return [
        BlacklistEntry(
            username=b.username,
            kick_user_id=b.kick_user_id,
            reason=b.reason,
            added_by=b.added_by,
            created_at=b.created_at,
        )
        for b in SlotBlacklist.objects.filter(community_id=community_id).order_by("username")
    ]
