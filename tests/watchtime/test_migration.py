"""0003: existing totals keep their meaning when ticks start writing one table."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("watchtime", "0002_totals_fillfactor")]
AFTER = [("watchtime", "0003_months_close")]


@pytest.mark.django_db
def test_models_and_migrations_agree() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.fixture
def back_to_latest() -> Any:
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_existing_totals_stay_the_all_time_minutes(community: Any, back_to_latest: Any) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    total = apps.get_model("watchtime", "WatchTotal")
    monthly = apps.get_model("watchtime", "WatchMonthly")
    # Before: every tick wrote both tables, so the totals include every month.
    total.objects.create(community_id=community.pk, kick_user_id=1, minutes=70)
    monthly.objects.create(community_id=community.pk, kick_user_id=1, month=date(2026, 10, 1), minutes=50)
    monthly.objects.create(community_id=community.pk, kick_user_id=1, month=date(2026, 11, 1), minutes=20)
    total.objects.create(community_id=community.pk, kick_user_id=2, minutes=5)  # imported, no months

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    settings = apps.get_model("watchtime", "WatchSettings").objects.get(community_id=community.pk)
    assert settings.closed_through == date(2026, 11, 1)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT kick_user_id, minutes FROM watchtime_alltime WHERE community_id = %s ORDER BY 1",
            [community.pk],
        )
        assert [tuple(r) for r in cur.fetchall()] == [(1, 70), (2, 5)]
