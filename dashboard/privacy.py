"""Forget a viewer (privacy requests): delete their data, pseudonymise what drawn raffles' proofs need.

Decision (see templates/public/privacy.html and docs/draw-proof.md): a frozen or drawn period's snapshot
hash covers ``(kick_user_id, tickets)`` lines, so those periods' ledger and balance rows keep the Kick
user id (a number that no longer resolves to a name once the ``KickUser`` row is gone) and winners
lose their stored username. Everything else goes: the link and its roles, watchtime, slot requests,
GTB guesses, Shuffle claims and wager rows, the open period's tickets, and the ``KickUser`` row.
Audit rows that named the viewer have the name keys removed. Slot blacklist entries stay (a
moderation record; they hold the lower-cased name only) and are listed in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from django.db import transaction

from accounts.models import KickUser, Link
from dashboard.services import ticket_days_forget
from gtb.models import GtbGuess
from kickbot.models import AuditLog
from kickbot.services import audit_record
from raffle.models import (
    RafflePeriod,
    RaffleWinner,
    ShuffleAccount,
    ShuffleWager,
    TicketEntry,
    WatchWindow,
)
from raffle.services.tickets import tickets_forget
from slots.models import SlotBlacklist, SlotRequest, SlotRequester
from watchtime.models import AppliedRole, WatchMonthly, WatchTotal
from watchtime.tasks import mirror_rebuild_soon

NAME_KEYS = ("kick_username", "username")


@dataclass
class ForgetReport:
    kick_user_id: int
    deleted: dict[str, int] = field(default_factory=dict)
    pseudonymised: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"Kick user {self.kick_user_id}:"]
        out += [f"  delete {n} {what}" for what, n in self.deleted.items() if n]
        out += [f"  pseudonymise {n} {what}" for what, n in self.pseudonymised.items() if n]
        out += [f"  keep {n} {what}" for what, n in self.kept.items() if n]
        return out


class _DryRun(Exception):
    pass


def resolve_kick_user(text: str) -> int | None:
    """A Kick user id, or the id of the Kick username (case-insensitive)."""
    text = text.strip().lstrip("@")
    if text.isdigit() and len(text) <= 19:
        return int(text)
    return KickUser.objects.filter(username__iexact=text).values_list("user_id", flat=True).first()


def user_forget(*, kick_user_id: int, actor_label: str, dry_run: bool = False) -> ForgetReport:
    """Delete (or with ``dry_run`` only count) a viewer's data; one transaction, audited."""
    report = ForgetReport(kick_user_id)
    try:
        with transaction.atomic():
            _forget(report, kick_user_id, actor_label)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


def _forget(report: ForgetReport, uid: int, actor_label: str) -> None:
    open_periods = RafflePeriod.objects.filter(status=RafflePeriod.Status.OPEN)
    links = list(Link.objects.filter(kick_user_id=uid).values_list("discord_user_id", flat=True))
    d = report.deleted
    d["discord links"] = Link.objects.filter(kick_user_id=uid).delete()[0]
    d["watchtime role records"] = AppliedRole.objects.filter(discord_user_id__in=links).delete()[0]
    communities = set(WatchTotal.objects.filter(kick_user_id=uid).values_list("community_id", flat=True))
    communities |= set(WatchMonthly.objects.filter(kick_user_id=uid).values_list("community_id", flat=True))
    d["watchtime totals"] = WatchTotal.objects.filter(kick_user_id=uid).delete()[0]
    d["watchtime months"] = WatchMonthly.objects.filter(kick_user_id=uid).delete()[0]
    d["slot requests"] = SlotRequest.objects.filter(kick_user_id=uid).delete()[0]
    SlotRequester.objects.filter(kick_user_id=uid).delete()
    d["GTB guesses"] = GtbGuess.objects.filter(kick_user_id=uid).delete()[0]
    d["Shuffle claims"] = ShuffleAccount.objects.filter(kick_user_id=uid).delete()[0]
    d["Shuffle wager rows"] = ShuffleWager.objects.filter(kick_user_id=uid).delete()[0]
    d["watch windows"] = WatchWindow.objects.filter(kick_user_id=uid).delete()[0]
    # The ledger is append-only (raffle guards): an open raffle's tickets are removed by a ledger
    # entry, so the viewer cannot win; the rows keep only the Kick user id, as closed raffles do.
    ticket_communities = set(
        TicketEntry.objects.filter(kick_user_id=uid, period__in=open_periods).values_list(
            "period__community_id", flat=True
        )
    )
    d["open-raffle tickets (removed by a ledger entry)"] = tickets_forget(
        kick_user_id=uid, actor_label=actor_label
    )
    p = report.pseudonymised
    p["raffle winner names"] = (
        RaffleWinner.objects.filter(kick_user_id=uid).exclude(username="").update(username="")
    )
    scrubbed = 0
    for row in AuditLog.objects.filter(data__kick_user_id=uid):
        if any(k in row.data for k in NAME_KEYS):
            row.data = {k: v for k, v in row.data.items() if k not in NAME_KEYS}
            row.save(update_fields=["data"])
            scrubbed += 1
    p["audit rows (name removed)"] = scrubbed
    k = report.kept
    k["raffle ticket entries (id only, needed by proofs)"] = TicketEntry.objects.filter(
        kick_user_id=uid
    ).count()
    k["slot blacklist entries"] = SlotBlacklist.objects.filter(kick_user_id=uid).count()
    d["Kick account row"] = KickUser.objects.filter(user_id=uid).delete()[0]
    if ticket_communities:
        ticket_days_forget(community_ids=sorted(ticket_communities))
    for community_id in communities:
        transaction.on_commit(partial(mirror_rebuild_soon, community_id=community_id))
    audit_record(action="user.forget", actor_label=actor_label, data={"kick_user_id": uid})
