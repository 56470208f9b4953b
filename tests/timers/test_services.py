"""Timed messages: due once per interval even with two workers; quiet or offline chat gets nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from kickbot.errors import InvalidInput
from kickbot.models import AuditLog
from kickbot.redis_client import get_redis
from outbox.models import OutboxMessage
from tests.factories import CommunityFactory
from timers.models import TimedMessage
from timers.selectors import timed_messages_list
from timers.services import (
    chat_lines_key,
    timed_message_create,
    timed_message_delete,
    timer_claim,
    timers_send_due,
)
from timers.tasks import timers_send_due as timers_send_due_task

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 27, 20, 0, 5, tzinfo=UTC)
MOD = "discord:42"


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def live(community: Any) -> Any:
    community.is_live = True
    community.save(update_fields=["is_live"])
    return community


def timer(community: Any, **kwargs: Any) -> TimedMessage:
    defaults = {"text": "Join the Discord!", "interval_minutes": 10, "actor_label": MOD}
    view = timed_message_create(community_id=community.pk, **(defaults | kwargs))
    return TimedMessage.objects.get(pk=view.id)


def chat_lines(community: Any, n: int) -> None:
    get_redis().incrby(chat_lines_key(community.pk), n)


def sent_texts() -> list[str]:
    return [m.payload["text"] for m in OutboxMessage.objects.filter(kind="kick_chat").order_by("id")]


def test_a_due_message_is_queued_as_kick_chat(live: Any, clock: Any) -> None:
    t = timer(live)

    assert timers_send_due() == 1

    [row] = OutboxMessage.objects.all()
    assert (row.kind, row.target, row.payload) == (
        "kick_chat",
        str(live.pk),
        {"text": "Join the Discord!", "reply_to": None},
    )
    t.refresh_from_db()
    assert t.last_sent_at == timezone.now()


def test_run_twice_in_the_same_interval_sends_once(live: Any, clock: Any) -> None:
    timer(live)
    timers_send_due()
    clock.shift(30)
    timers_send_due()
    clock.shift(9 * 60)
    timers_send_due()
    assert sent_texts() == ["Join the Discord!"]


def test_the_next_interval_sends_again(live: Any, clock: Any) -> None:
    timer(live)
    timers_send_due()
    clock.shift(10 * 60)
    timers_send_due()
    assert len(sent_texts()) == 2


def test_two_workers_reading_the_same_row_send_it_once(live: Any, clock: Any) -> None:
    t = timer(live)
    now = timezone.now()
    # Both workers read last_sent_at=None; only the first conditional UPDATE wins.
    assert timer_claim(timer_id=t.pk, expected_last_sent_at=None, now=now, lines=0) is True
    assert timer_claim(timer_id=t.pk, expected_last_sent_at=None, now=now, lines=0) is False


def test_a_worker_with_a_stale_read_sends_nothing(live: Any, clock: Any, monkeypatch: Any) -> None:
    timer(live)
    from timers import services

    real_claim = services.timer_claim

    def racing_claim(**kwargs: Any) -> bool:
        # The other worker claims (and queues) between our read and our UPDATE.
        assert real_claim(**kwargs)
        services.outbox_enqueue(
            community=live, kind="kick_chat", target=str(live.pk), payload={"text": "other worker"}
        )
        return real_claim(**kwargs)

    monkeypatch.setattr(services, "timer_claim", racing_claim)
    assert timers_send_due() == 0
    assert sent_texts() == ["other worker"]


def test_quiet_chat_sends_nothing(live: Any, clock: Any) -> None:
    timer(live, min_chat_lines=5)
    chat_lines(live, 4)
    assert timers_send_due() == 0
    assert sent_texts() == []


def test_enough_chat_lines_since_the_last_send_sends(live: Any, clock: Any) -> None:
    t = timer(live, min_chat_lines=5)
    chat_lines(live, 5)
    assert timers_send_due() == 1
    t.refresh_from_db()
    assert t.lines_at_last_send == 5

    clock.shift(10 * 60)
    chat_lines(live, 4)  # 9 in total, only 4 since the last send
    assert timers_send_due() == 0
    chat_lines(live, 1)
    assert timers_send_due() == 1


def test_a_reset_counter_counts_from_zero(live: Any, clock: Any) -> None:
    t = timer(live, min_chat_lines=5)
    TimedMessage.objects.filter(pk=t.pk).update(
        lines_at_last_send=1000, last_sent_at=NOW - timedelta(hours=1)
    )
    chat_lines(live, 6)  # Redis was flushed: the counter restarted below the stored mark
    assert timers_send_due() == 1


def test_live_only_while_offline_sends_nothing(community: Any, clock: Any) -> None:
    timer(community, live_only=True)
    assert timers_send_due() == 0
    assert sent_texts() == []


def test_not_live_only_sends_while_offline(community: Any, clock: Any) -> None:
    timer(community, live_only=False)
    assert timers_send_due() == 1


def test_a_disabled_message_is_not_sent(live: Any, clock: Any) -> None:
    t = timer(live)
    TimedMessage.objects.filter(pk=t.pk).update(enabled=False)
    assert timers_send_due() == 0


def test_the_beat_task_runs_the_service(live: Any, clock: Any) -> None:
    timer(live)
    assert timers_send_due_task.delay() is not None
    assert sent_texts() == ["Join the Discord!"]


def test_the_beat_schedule_runs_it_every_30_seconds(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["timers-send-due"]
    assert entry == {"task": "timers.tasks.timers_send_due", "schedule": 30}


# --- create / delete / list -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"interval_minutes": 0}, "1 to"),
        ({"interval_minutes": -5}, "1 to"),
        ({"interval_minutes": 10**6}, "1 to"),
        ({"text": ""}, "some text"),
        ({"text": " \n\u200b "}, "some text"),
        ({"text": "x" * 501}, "at most 500"),
        ({"min_chat_lines": -1}, "Minimum chat lines"),
    ],
)
def test_bad_timer_input_is_refused_and_changes_nothing(
    community: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        timer(community, **kwargs)
    assert not TimedMessage.objects.exists()
    assert not AuditLog.objects.exists()


def test_the_database_refuses_a_zero_interval(community: Any) -> None:
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        TimedMessage.objects.create(community=community, text="x", interval_minutes=0)


def test_create_audits_and_list_shows_only_this_communitys_messages(community: Any) -> None:
    timer(community, text="ours")
    timer(CommunityFactory(), text="theirs")
    assert [t.text for t in timed_messages_list(community_id=community.pk)] == ["ours"]
    assert AuditLog.objects.filter(action="timer.create", community=community).count() == 1


def test_delete_refuses_another_communitys_message(community: Any) -> None:
    theirs = timer(CommunityFactory())
    with pytest.raises(InvalidInput, match="no timed message"):
        timed_message_delete(community_id=community.pk, timer_id=theirs.pk, actor_label=MOD)
    assert TimedMessage.objects.filter(pk=theirs.pk).exists()


def test_delete_removes_and_audits(community: Any) -> None:
    t = timer(community)
    timed_message_delete(community_id=community.pk, timer_id=t.pk, actor_label=MOD)
    assert not TimedMessage.objects.exists()
    assert AuditLog.objects.filter(action="timer.delete").count() == 1
