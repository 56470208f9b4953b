from __future__ import annotations

from django.conf import settings

from kickbot.heartbeat import heartbeat_ages
from kickbot.tasks import worker_heartbeat


def test_beat_schedule_runs_the_worker_heartbeat() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["heartbeat"]
    assert entry["task"] == "kickbot.tasks.worker_heartbeat"
    assert entry["schedule"] <= 30


def test_heartbeat_task_writes_a_fresh_heartbeat() -> None:
    assert heartbeat_ages()["worker"] is None
    worker_heartbeat.delay()  # eager in tests
    age = heartbeat_ages()["worker"]
    assert age is not None and age < 5


def test_celery_has_global_time_limits() -> None:
    from kickbot.celery import app

    assert app.conf.task_time_limit == 300
    assert app.conf.task_soft_time_limit == 240


def test_every_scheduled_task_exists() -> None:
    from kickbot.celery import app

    app.loader.import_default_modules()
    missing = [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] not in app.tasks]
    assert not missing, missing


def test_settings_read_feature_limits(settings) -> None:  # type: ignore[no-untyped-def]
    from kickbot.money import parse_amount

    settings.GTB_MAX_AMOUNT_CENTS = 100_000  # $1,000
    from kickbot.errors import InvalidInput

    assert parse_amount("999") == 99_900
    import pytest

    with pytest.raises(InvalidInput):
        parse_amount("1001")
