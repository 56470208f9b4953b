from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from raffle.models import RafflePeriod
from raffle.services.periods import period_open


@pytest.fixture
def period(community: Any) -> RafflePeriod:
    """An open raffle period, so every raffle page of the URLconf has one to show."""
    now = timezone.now()
    return period_open(
        community=community,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=20),
        actor_label="t",
    )
