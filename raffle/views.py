"""Public raffle pages (no login): the period page and its proof document."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from raffle.draw import round_time
from raffle.models import RafflePeriod
from raffle.proof import proof_document
from raffle.selectors import usernames_for

VERIFIER = Path(settings.BASE_DIR) / "static" / "raffle" / "verify_draw.py"
SNAPSHOT_ROWS_ON_PAGE = 500


def _period(period_id: int) -> RafflePeriod:
    period = RafflePeriod.objects.select_related("community").filter(pk=period_id).first()
    if period is None:
        raise Http404("No such raffle.")
    return period


def mask(name: str) -> str:
    """``streamerfan`` → ``st*******n``: enough to recognise yourself, not to harvest names."""
    if len(name) <= 2:
        return name[:1] + "*"
    return name[:2] + "*" * (len(name) - 3) + name[-1]


@require_GET
def proof_json(request: HttpRequest, period_id: int) -> JsonResponse:
    response = JsonResponse(proof_document(_period(period_id)))
    response["Access-Control-Allow-Origin"] = "*"  # public data; lets any verifier page fetch it
    return response


@require_GET
def period_page(request: HttpRequest, period_id: int) -> HttpResponse:
    period = _period(period_id)
    doc = proof_document(period)
    entrants = doc.get("entrants", [])
    shown = entrants[:SNAPSHOT_ROWS_ON_PAGE]
    names = usernames_for([uid for uid, _ in shown])
    rows: list[dict[str, Any]] = []
    start = 0
    for uid, tickets in entrants[: len(shown)]:
        rows.append(
            {
                "name": mask(names.get(uid, str(uid))),
                "tickets": tickets,
                "first": start,
                "last": start + tickets - 1,
            }
        )
        start += tickets
    winners = [
        {**w, "username": mask(w["username"] or str(w["kick_user_id"]))} for w in doc.get("winners", [])
    ]
    tz = ZoneInfo(period.community.timezone)
    round_no = period.fallback_round or period.drand_round
    round_at = datetime.fromtimestamp(round_time(round_no), tz=UTC)
    return render(
        request,
        "raffle/period.html",
        {
            "period": period,
            "doc": doc,
            "rows": rows,
            "more_rows": max(len(entrants) - len(shown), 0),
            "winners": winners,
            "tz": period.community.timezone,
            "times": {
                "starts_at": period.starts_at.astimezone(tz),
                "ends_at": period.ends_at.astimezone(tz),
                "committed_at": period.committed_at.astimezone(tz),
                "frozen_at": period.frozen_at.astimezone(tz) if period.frozen_at else None,
                "round_at": round_at.astimezone(tz),
                "drawn_at": period.drawn_at.astimezone(tz) if period.drawn_at else None,
            },
            "round_no": round_no,
            "ends_ts": int(period.ends_at.timestamp()),
            "round_ts": int(round_at.timestamp()),
            "prize": period.rules.get("prize", ""),
            "rerolls": doc.get("rerolls", 0),
        },
    )


@require_GET
def verifier_download(request: HttpRequest) -> FileResponse:
    return FileResponse(
        VERIFIER.open("rb"), as_attachment=True, filename="verify_draw.py", content_type="text/x-python"
    )
