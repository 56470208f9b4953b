"""Bonus hunt: the running hunt with keyboard entry (slot, bet, Enter; then win, Enter, next),
its figures, the finished hunts and CSV exports. Rules and refusals live in ``hunts.services``."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from fractions import Fraction

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.permissions import require_perm
from dashboard.roles import PERM_MODERATE, PERM_VIEW
from dashboard.views.common import actor, community_or_404, write_view
from hunts import selectors as hs
from hunts import services as hsv
from hunts.figures import break_even_text, format_money, format_x
from hunts.models import CURRENCIES
from hunts.parsing import MSG_NUMBER, bonus_number, money_field
from hunts.selectors import HuntView
from kickbot.errors import InvalidInput
from slots.selectors import slot_search

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Our own amounts (a loss is "-1.50") are numbers, not formulas: they stay numbers.
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)


def _raw(request: HttpRequest, name: str) -> str:
    """The field as typed: the service measures and refuses it with a message naming the field."""
    return str(request.POST.get(name, ""))


def _money(request: HttpRequest, name: str, what: str, *, required: bool = True) -> int | None:
    text = _raw(request, name)
    return money_field(text, what) if text.strip() or required else None


def _position(request: HttpRequest) -> int | None:
    return bonus_number(_raw(request, "position")[:64])


def _rows(view: HuntView) -> list[dict[str, object]]:
    def money(cents: int | None) -> str:
        return format_money(cents, view.currency) if cents is not None else ""

    return [
        {
            "bonus": b,
            "bet": money(b.bet_cents),
            "cost": money(b.cost_cents),
            "win": money(b.win_cents),
            "x": format_x(b.figures.multiplier) if b.win_cents is not None else "",
        }
        for b in view.bonuses
    ]


def _figures(view: HuntView | None) -> dict[str, str]:
    if view is None:
        return {}
    f = view.figures
    return {
        "start": format_money(view.start_balance_cents, view.currency),
        "cost": format_money(f.total_cost_cents, view.currency),
        "won": format_money(f.total_won_cents, view.currency),
        "profit": format_money(f.profit_cents, view.currency),
        "average": format_x(f.average_multiplier),
        "best": format_x(f.best_multiplier) + (f" {f.best.slot_name}" if f.best else ""),
        "break_even": break_even_text(f),
    }


def _context(request: HttpRequest) -> dict[str, object]:
    cid = community_or_404(request).pk
    view = hs.hunt_running(community_id=cid)
    return {
        "hunt": view,
        "rows": _rows(view) if view else [],
        "figures": _figures(view),
        "next": view.next_unopened if view else None,
        "currencies": CURRENCIES,
        "history": [(h, _figures(h)) for h in hs.hunt_history(community_id=cid, limit=50)],
        "can_moderate": request.user.has_perm(PERM_MODERATE),
    }


@require_perm(PERM_VIEW)
def hunts(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/hunts/index.html", _context(request))


@require_perm(PERM_VIEW)
def hunt_detail(request: HttpRequest, hunt_id: int) -> HttpResponse:
    view = hs.hunt_of_community(community_id=community_or_404(request).pk, hunt_id=hunt_id)
    if view is None:
        raise Http404("No such hunt.")
    return render(
        request, "dashboard/hunts/detail.html", {"hunt": view, "rows": _rows(view), "figures": _figures(view)}
    )


@require_perm(PERM_VIEW)
def hunt_slot_options(request: HttpRequest) -> HttpResponse:
    """``<option>``s for the slot field's datalist: catalogue names nearest to what is typed."""
    typed = str(request.GET.get("slot", ""))[:100]
    names = [s.name for s in slot_search(text=typed, limit=10)] if typed.strip() else []
    return render(request, "dashboard/hunts/_slot_options.html", {"names": names})


def _csv_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return response


def _cents(cents: int | None) -> str:
    if cents is None:
        return ""
    units, rest = divmod(abs(cents), 100)  # a loss: -150 is -1.50 (floor division would say -2.50)
    return f"{'-' if cents < 0 else ''}{units}.{rest:02d}"


def _x(value: Fraction | None) -> str:
    text = format_x(value)
    return "" if text == "-" else text.removesuffix("x").replace(",", "")


@require_perm(PERM_VIEW)
def hunts_csv(request: HttpRequest) -> HttpResponse:
    """The finished hunts, one line each with their figures (amounts in units, not cents)."""
    history = hs.hunt_history(community_id=community_or_404(request).pk, limit=10_000)
    header = [
        "id",
        "title",
        "currency",
        "started_at",
        "finished_at",
        "bonuses",
        "start_balance",
        "total_cost",
        "total_won",
        "profit",
        "average_x",
        "best_x",
        "best_slot",
    ]
    rows = (
        [
            h.id,
            h.title,
            h.currency,
            h.started_at.isoformat(),
            h.finished_at.isoformat() if h.finished_at else "",
            h.figures.bonus_count,
            _cents(h.start_balance_cents),
            _cents(h.figures.total_cost_cents),
            _cents(h.figures.total_won_cents),
            _cents(h.figures.profit_cents),
            _x(h.figures.average_multiplier),
            _x(h.figures.best_multiplier),
            h.figures.best.slot_name if h.figures.best else "",
        ]
        for h in history
    )
    return _csv_response("bonus-hunts.csv", header, rows)


@require_perm(PERM_VIEW)
def hunt_csv(request: HttpRequest, hunt_id: int) -> HttpResponse:
    """One hunt's bonuses in opening order."""
    view = hs.hunt_of_community(community_id=community_or_404(request).pk, hunt_id=hunt_id)
    if view is None:
        raise Http404("No such hunt.")
    header = ["position", "slot", "bet", "cost", "win", "x", "notes"]
    rows = (
        [
            b.position,
            b.slot_name,
            _cents(b.bet_cents),
            _cents(b.cost_cents),
            _cents(b.win_cents),
            _x(b.figures.multiplier),
            b.notes,
        ]
        for b in view.bonuses
    )
    return _csv_response(f"bonus-hunt-{view.id}.csv", header, rows)


@write_view(PERM_MODERATE, "dashboard:hunts")
def hunt_start(request: HttpRequest) -> str:
    view = hsv.hunt_start(
        community_id=community_or_404(request).pk,
        title=_raw(request, "title"),
        start_balance_cents=_money(request, "start_balance", "Start balance") or 0,
        currency=_raw(request, "currency")[:64],
        actor_label=actor(request),
        actor=request.user,
    )
    return f"Hunt started: {view.title}."


@write_view(PERM_MODERATE, "dashboard:hunts")
def hunt_add(request: HttpRequest) -> str:
    view = hsv.hunt_bonus_add(
        community_id=community_or_404(request).pk,
        slot_name=_raw(request, "slot"),
        bet_cents=_money(request, "bet", "Bet") or 0,
        cost_cents=_money(request, "cost", "Cost", required=False),
        notes=_raw(request, "notes"),
        actor_label=actor(request),
        actor=request.user,
    )
    added = view.bonuses[-1]
    return f"#{added.position} {added.slot_name} added."


@write_view(PERM_MODERATE, "dashboard:hunts")
def hunt_remove(request: HttpRequest) -> str:
    position = _position(request)
    if position is None:
        raise InvalidInput(MSG_NUMBER)
    hsv.hunt_bonus_remove(
        community_id=community_or_404(request).pk,
        position=position,
        actor_label=actor(request),
        actor=request.user,
    )
    return f"Bonus #{position} removed."


@write_view(PERM_MODERATE, "dashboard:hunts")
def hunt_open(request: HttpRequest) -> str:
    hsv.hunt_opening_begin(
        community_id=community_or_404(request).pk, actor_label=actor(request), actor=request.user
    )
    return "Opening: type each win and press Enter."


@write_view(PERM_MODERATE, "dashboard:hunts")
def hunt_result(request: HttpRequest) -> str:
    win = _money(request, "win", "Win") or 0
    view = hsv.hunt_bonus_result(
        community_id=community_or_404(request).pk,
        win_cents=win,
        position=_position(request),
        expected_position=bonus_number(_raw(request, "expected")[:64]),
        actor_label=actor(request),
        actor=request.user,
    )
    return f"Win {format_money(win, view.currency)} entered."


@write_view(PERM_MODERATE, "dashboard:hunts")
def hunt_finish(request: HttpRequest) -> str:
    view = hsv.hunt_finish(
        community_id=community_or_404(request).pk, actor_label=actor(request), actor=request.user
    )
    return f"Hunt finished: profit {format_money(view.figures.profit_cents, view.currency)}."
