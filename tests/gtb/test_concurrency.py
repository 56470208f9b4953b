"""Racing writers on a real database: two final balances at once resolve the round once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from gtb.models import GtbSession
from gtb.services import gtb_guess_submit, gtb_session_resolve, gtb_session_start
from kickbot.errors import InvalidInput
from kickbot.models import AuditLog
from outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_concurrent_final_balances_resolve_once(community: Any) -> None:
    if connection.vendor != "postgresql":
        # The in-memory SQLite test database locks whole tables across threads (no busy timeout).
        pytest.skip("needs a real concurrent database (CI runs it on Postgres)")
    view = gtb_session_start(community_id=community.pk, title="Hunt", prize_cents=0, actor_label="t")
    gtb_guess_submit(community_id=community.pk, kick_user_id=1, username="a", amount_cents=100_00)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def enter(final: int) -> None:
        try:
            barrier.wait()
            gtb_session_resolve(
                community_id=community.pk, final_balance_cents=final, actor_label="t", session_id=view.id
            )
            outcomes.append("resolved")
        except InvalidInput:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=enter, args=(final,)) for final in (100_00, 200_00)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["refused", "resolved"]
    assert GtbSession.objects.get().status == "resolved"
    assert AuditLog.objects.filter(action="gtb.resolve").count() == 1
    assert OutboxMessage.objects.filter(dedupe_key=f"gtb:{view.id}:result:kick").count() == 1
