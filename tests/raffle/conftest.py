"""Raffle fixtures: a frozen clock, an open period, Kick users, a fake drand relay."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import time_machine

from accounts.models import KickUser, Link
from kickbot.integrations.drand import DrandClient
from raffle.draw import round_time
from raffle.models import RafflePeriod
from raffle.services.periods import period_open
from raffle.services.rollover import period_freeze

# A real drand quicknet round: docs/draw-proof.md's test vector (randomness = sha256(signature)).
ROUND = 657413
SIGNATURE = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b"
RANDOMNESS = "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def period(community: Any, clock: Any) -> RafflePeriod:
    return period_open(community=community, starts_at=NOV, ends_at=DEC, actor_label="test")


def kick_user(user_id: int, username: str, *, discord_id: int | None = None) -> KickUser:
    user = KickUser.objects.create(user_id=user_id, username=username)
    if discord_id is not None:
        Link.objects.create(discord_user_id=discord_id, kick_user=user)
    return user


class FakeRelay:
    """A drand relay over httpx.MockTransport serving recorded rounds; counts requests."""

    def __init__(self, rounds: dict[int, str] | None = None, *, down: bool = False) -> None:
        self.rounds = {ROUND: SIGNATURE} if rounds is None else rounds
        self.down = down
        self.calls: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(str(request.url))
        if self.down:
            raise httpx.ConnectError("relay down", request=request)
        which = request.url.path.rsplit("/", 1)[-1]
        sig = self.rounds.get(int(which)) if which.isdigit() else None
        if sig is None:
            return httpx.Response(404, text="not found")
        return httpx.Response(200, json={"round": int(which), "signature": sig})

    def client(self) -> DrandClient:
        return DrandClient(
            ["https://relay.test"],
            client=httpx.Client(transport=httpx.MockTransport(self.handler)),
            clock=lambda: round_time(ROUND) + 3600,
        )


@pytest.fixture
def relay(monkeypatch: pytest.MonkeyPatch) -> FakeRelay:
    fake = FakeRelay()
    monkeypatch.setattr("raffle.services.drawing.drand_client_factory", fake.client)
    return fake


def use_round(period: RafflePeriod, round_no: int = ROUND, *, actor_label: str = "t") -> RafflePeriod:
    """Close an open period so that its committed round is ``round_no`` (the recorded one).

    The only real quicknet signature we hold is from 2023, and the triggers forbid pointing a
    closed period at another round, so the open period's dates move back to end just before that
    round (allowed while open) and the book closes at its end + 1 s, the commit margin before it.
    """
    from datetime import timedelta

    period.refresh_from_db()
    assert period.status == RafflePeriod.Status.OPEN, "use_round closes an open period"
    closes = datetime.fromtimestamp(round_time(round_no) - 31, tz=UTC)
    length = period.ends_at - period.starts_at
    RafflePeriod.objects.filter(pk=period.pk).update(starts_at=closes - length, ends_at=closes)
    with time_machine.travel(closes - timedelta(seconds=1), tick=False):
        period_freeze(community_id=period.community_id, actor_label=actor_label)
    period.refresh_from_db()
    assert period.drand_round == round_no, (period.drand_round, round_no)
    return period


Factory = Callable[..., Any]
