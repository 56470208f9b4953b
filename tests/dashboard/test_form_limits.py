"""Settings forms take their bounds from the domains: the dashboard saves every value the domain
allows, up to its limit, and refuses one past it with a message that names the field (a form
looser than the model once let 21 raffle winners through to a constraint error)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dashboard import forms
from raffle.models import RAFFLE_SETTING_LIMITS, RaffleSettings
from slots.models import SLOT_SETTING_LIMITS, SlotSettings
from timers.models import TIMER_LIMITS, TimedMessage
from watchtime.credit import WATCH_SETTING_LIMITS
from watchtime.models import WatchSettings

pytestmark = pytest.mark.django_db

RAFFLE = {
    "tickets_per_hour": "12",
    "tickets_per_gifted_sub": "15",
    "tickets_per_1000_usd": "20",
    "wager_mode": "raw",
    "winners_count": "2",
    "commit_margin_seconds": "30",
    "max_rerolls": "3",
    "fallback_after_minutes": "10",
    "moderator_cap": "1000",
}
SLOTS = {"cooldown_s": "60", "max_open_per_user": "2", "max_length": "150"}
WATCH = {"min_active_chatters": "3", "active_window_s": "180", "role_mode": "all"}
TIMER = {"text": "Join Discord!", "interval_minutes": "30", "min_chat_lines": "5"}

SECTIONS: list[tuple[str, dict[str, str], dict[str, tuple[int, int]], Any, Any]] = [
    ("raffle", RAFFLE, RAFFLE_SETTING_LIMITS, RaffleSettings, forms.RaffleSettingsForm),
    ("slots", SLOTS, SLOT_SETTING_LIMITS, SlotSettings, forms.SlotSettingsForm),
    ("watchtime", WATCH, WATCH_SETTING_LIMITS, WatchSettings, forms.WatchSettingsForm),
    ("timer_add", TIMER, TIMER_LIMITS, TimedMessage, forms.TimerForm),
]
CASES = [
    (section, base, limits[name], name, model, form)
    for section, base, limits, model, form in SECTIONS
    for name in limits
]


def _post(client: Client, section: str, data: dict[str, str]) -> list[str]:
    response = client.post(f"/dashboard/settings/{section}/", data, follow=True)
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"] if m.level_tag == "error"]


@pytest.mark.parametrize(("section", "base", "bounds", "name", "model", "form"), CASES)
def test_the_domain_limits_are_the_form_limits(
    client: Client,
    admin_user: Any,
    community: Any,
    section: str,
    base: dict[str, str],
    bounds: tuple[int, int],
    name: str,
    model: Any,
    form: Any,
) -> None:
    client.force_login(admin_user)
    low, high = bounds
    label = str(form.base_fields[name].label or name.replace("_", " ")).capitalize()
    for value in (low, high):
        assert _post(client, section, {**base, name: str(value)}) == []
        assert (
            model.objects.filter(community=community).order_by("-pk").values_list(name, flat=True)[0] == value
        )
    for value in (low - 1, high + 1):
        before = list(model.objects.values_list("pk", name))
        errors = _post(client, section, {**base, name: str(value)})
        assert len(errors) == 1 and str(low if value < low else high) in errors[0], errors
        assert errors[0].startswith(f"{label}: "), errors
        assert list(model.objects.values_list("pk", name)) == before
