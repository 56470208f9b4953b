"""Shared fixtures: Redis (embedded or real), named actors, factories, a frozen clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from kickbot import embedded_redis
from kickbot.redis_client import get_redis, reset_clients
from tests.factories import CommunityFactory, UserFactory

pytest_plugins = ["tests.fakes.kick_fixtures"]


LAST_MODULES = ("tests/test_async_guard.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The async-safety guard's checks run last: after every module that could have turned it off."""
    items.sort(key=lambda item: item.nodeid.startswith(LAST_MODULES))  # stable: the rest keep their order


@pytest.fixture(scope="session", autouse=True)
def _redis_server() -> Iterator[None]:
    """Start the embedded Redis for the session when REDIS_URL is not set."""
    proc = None
    if settings.EMBEDDED_REDIS:
        proc = embedded_redis.start_background(settings.EMBEDDED_REDIS_SOCKET)
    yield
    reset_clients()
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=10)
    if settings.VAR_DIR.name.startswith("run-"):
        shutil.rmtree(settings.VAR_DIR, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _flush_raffle_periods_first() -> Iterator[None]:
    """SQLite's test flush deletes tables in set order; the raffle guards refuse deleting ledger,
    balance and winner rows while their period exists (migration raffle 0004), so the flush
    deletes the periods first, as ``raffle.services.periods.raffle_periods_purge`` does."""
    from django.db import connection

    if connection.vendor != "sqlite":  # Postgres flushes with TRUNCATE: no row triggers fire
        yield
        return
    operations = type(connection.ops)
    original = operations.sql_flush

    def sql_flush(self: Any, style: Any, tables: Any, **kwargs: Any) -> list[str]:
        sql = original(self, style, tables, **kwargs)
        return sorted(sql, key=lambda line: "raffle_raffleperiod" not in line)

    operations.sql_flush = sql_flush  # type: ignore[method-assign]
    yield
    operations.sql_flush = original  # type: ignore[method-assign]


@pytest.fixture(scope="session", autouse=True)
def _close_stray_db_sessions(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Async tests and live_server leave connections in worker threads; end them before teardown."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def redis_clear_prefix() -> None:
    r = get_redis()
    keys = list(r.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}*", count=1000))
    if keys:
        r.delete(*keys)


@pytest.fixture(autouse=True)
def _redis_clean() -> Iterator[None]:
    """Every test starts with none of this run's keys in Redis (other data is never touched)."""
    redis_clear_prefix()
    yield


@pytest.fixture
def community(db: Any) -> Any:
    return CommunityFactory()


def _actor(role: str, username: str) -> Any:
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def owner(db: Any) -> Any:
    user = _actor("owner", "olivia_owner")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def admin_user(db: Any) -> Any:
    return _actor("admin", "adam_admin")


@pytest.fixture
def moderator(db: Any) -> Any:
    return _actor("moderator", "mo_moderator")


@pytest.fixture
def viewer(db: Any) -> Any:
    return _actor("viewer", "vi_viewer")
