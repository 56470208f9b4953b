from __future__ import annotations

from typing import Any

import pytest
import redis
import time_machine

from kickbot import heartbeat


@pytest.mark.django_db
def test_healthz_reports_database_redis_and_heartbeats(client: Any) -> None:
    with time_machine.travel(1_800_000_000, tick=False):
        heartbeat.heartbeat_write(name="worker")
        with time_machine.travel(1_800_000_012, tick=False):
            response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["database"]["ok"] is True
    assert body["redis"]["ok"] is True
    assert body["processes"]["worker"] == {"heartbeat_age_s": 12.0, "ok": True}
    assert body["processes"]["bot"] == {"heartbeat_age_s": None, "ok": False}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class Down:
        def ping(self) -> None:
            raise redis.ConnectionError("refused")

    monkeypatch.setattr("kickbot.health.get_redis", lambda: Down())
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["redis"] == {"ok": False, "error": "ConnectionError"}
    assert body["database"]["ok"] is True


@pytest.mark.django_db
def test_stale_heartbeat_is_not_ok(client: Any) -> None:
    with time_machine.travel(1_800_000_000, tick=False):
        heartbeat.heartbeat_write(name="bot")
    with time_machine.travel(1_800_000_000 + 61, tick=False):
        body = client.get("/healthz").json()
    assert body["processes"]["bot"] == {"heartbeat_age_s": 61.0, "ok": False}


def test_heartbeat_write_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    class Down:
        def set(self, *a: Any, **k: Any) -> None:
            raise redis.ConnectionError("refused")

    monkeypatch.setattr("kickbot.heartbeat.get_redis", lambda: Down())
    heartbeat.heartbeat_write(name="worker")  # must not raise


@pytest.mark.django_db
def test_healthz_shows_kick_ingestion_per_community(client: Any, community: Any) -> None:
    import time

    from kickbot.redis_client import get_redis, key

    get_redis().hset(
        key("ingest", community.pk),
        mapping={
            "updated_at": str(time.time()),
            "connected": "1",
            "lag_p50_ms": "40",
            "lag_p95_ms": "120",
            "last_event_at": str(time.time() - 3),
            "events": "17",
            "errors": "2",
        },
    )
    from kickbot.health import health_report

    state = health_report(detail=True)["kick"][community.kick_channel_slug]
    assert state["ingesting"] and state["connected"]
    assert (state["lag_p50_ms"], state["lag_p95_ms"]) == (40.0, 120.0)
    assert (state["events"], state["errors"]) == (17, 2)
    assert 2 <= state["last_event_age_s"] <= 5
    # the public endpoint gives totals only: no channel names
    public = client.get("/healthz").json()["kick"]
    assert public == {"channels": 1, "ingesting": 1, "connected": 1, "lag_p95_ms_max": 120.0, "errors": 2}
    assert community.kick_channel_slug not in client.get("/healthz").content.decode()


@pytest.mark.django_db
def test_healthz_says_when_nobody_ingests(client: Any, community: Any) -> None:
    assert client.get("/healthz").json()["kick"] == {
        "channels": 1,
        "ingesting": 0,
        "connected": 0,
        "lag_p95_ms_max": None,
        "errors": 0,
    }
