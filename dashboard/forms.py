from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import password_validators_help_text_html

from kickbot.models import Community
from kickbot.services import COMMUNITY_EDITABLE_FIELDS
from raffle.models import RAFFLE_SETTING_LIMITS, RaffleSettings
from slots.models import SLOT_SETTING_LIMITS
from timers.models import TEXT_MAX, TIMER_LIMITS
from watchtime.credit import WATCH_SETTING_LIMITS
from watchtime.models import WatchSettings

# Every limit below is the domain's own (its services' table or its model's column): a form only
# refuses early, with a field error, what the service would refuse anyway.
DISCORD_ID_MAX = 2**63 - 1  # the BigIntegerField the id is stored in


def _bounded(limits: tuple[int, int], **kwargs: Any) -> forms.IntegerField:
    low, high = limits
    return forms.IntegerField(min_value=low, max_value=high, **kwargs)


def _discord_id(**kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(min_value=1, max_value=DISCORD_ID_MAX, required=False, **kwargs)


def _max_length(model: Any, field: str) -> int:
    return int(model._meta.get_field(field).max_length)


class CommunityForm(forms.ModelForm):
    class Meta:
        model = Community
        fields = list(COMMUNITY_EDITABLE_FIELDS)
        labels = {
            "kick_channel_slug": "Kick channel slug",
            "kick_broadcaster_user_id": "Kick broadcaster user id",
            "kick_channel_id": "Kick channel id",
            "kick_chatroom_id": "Kick chatroom id",
            "discord_guild_id": "Discord server (guild) id",
            "timezone": "Time zone",
            "command_prefix": "Command prefix",
        }
        help_texts = {
            "kick_chatroom_id": "Needed to read chat. `manage.py kick_detect <slug>` can find it.",
            "discord_guild_id": "Right-click the server in Discord (developer mode) → Copy Server ID.",
            "timezone": "IANA name, e.g. Europe/Berlin. Raffle months roll over in this zone.",
        }

    def clean_kick_channel_slug(self) -> str:
        return str(self.cleaned_data["kick_channel_slug"]).strip().lower()


class OwnerSetupForm(forms.Form):
    username = forms.CharField(max_length=_max_length(User, "username"))
    email = forms.EmailField(required=False)
    password1 = forms.CharField(
        label="Password", widget=forms.PasswordInput, help_text=password_validators_help_text_html()
    )
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class WatchSettingsForm(forms.Form):
    tracking_enabled = forms.BooleanField(
        required=False, help_text="Credit watchtime at all (also !tracking on/off)."
    )
    count_offline_chat = forms.BooleanField(
        required=False, help_text="Credit chat while the stream is offline."
    )
    min_active_chatters = _bounded(
        WATCH_SETTING_LIMITS["min_active_chatters"],
        help_text="Distinct chatters in 5 minutes before a minute counts for anyone.",
    )
    active_window_s = _bounded(
        WATCH_SETTING_LIMITS["active_window_s"],
        label="Active window (seconds)",
        help_text="A viewer counts as watching this long after their last line.",
    )
    role_mode = forms.ChoiceField(
        choices=WatchSettings.RoleMode.choices,
        help_text="Which watchtime roles a viewer holds.",
    )


class RaffleSettingsForm(forms.Form):
    tickets_per_hour = _bounded(
        RAFFLE_SETTING_LIMITS["tickets_per_hour"], help_text="Tickets per watched hour."
    )
    tickets_per_gifted_sub = _bounded(RAFFLE_SETTING_LIMITS["tickets_per_gifted_sub"])
    tickets_per_1000_usd = _bounded(
        RAFFLE_SETTING_LIMITS["tickets_per_1000_usd"], label="Tickets per $1,000 wagered"
    )
    wager_mode = forms.ChoiceField(choices=RaffleSettings.WagerMode.choices)
    winners_count = _bounded(RAFFLE_SETTING_LIMITS["winners_count"])
    commit_margin_seconds = _bounded(
        RAFFLE_SETTING_LIMITS["commit_margin_seconds"],
        label="Commit margin (seconds)",
        help_text="The drand round used is emitted at least this long after the raffle closes.",
    )
    max_rerolls = _bounded(
        RAFFLE_SETTING_LIMITS["max_rerolls"],
        help_text="Rerolls allowed per draw (winner ineligible, unreachable, declined).",
    )
    fallback_after_minutes = _bounded(
        RAFFLE_SETTING_LIMITS["fallback_after_minutes"],
        help_text="The drand round must fail this long before the published fallback round is used.",
    )
    moderator_cap = _bounded(
        RAFFLE_SETTING_LIMITS["moderator_cap"], help_text="Tickets one moderator may give in one raffle."
    )
    prize = forms.CharField(
        required=False,
        max_length=_max_length(RaffleSettings, "prize"),
        help_text="Shown on the public raffle page.",
    )
    shuffle_campaign_codes = forms.CharField(
        required=False,
        max_length=_max_length(RaffleSettings, "shuffle_campaign_codes"),
        label="Shuffle campaign codes",
        help_text="Only wagers under these codes count (comma-separated); empty: every code.",
    )
    auto_draw = forms.BooleanField(required=False, help_text="Draw by itself once the beacon round is out.")
    announce_channel_id = _discord_id(
        label="Announcement channel id", help_text="Discord channel for draws (empty: none)."
    )


class SlotSettingsForm(forms.Form):
    cooldown_s = _bounded(
        SLOT_SETTING_LIMITS["cooldown_s"],
        label="Cooldown (seconds)",
        help_text="Per viewer, after an accepted request.",
    )
    max_open_per_user = _bounded(SLOT_SETTING_LIMITS["max_open_per_user"], label="Open requests per viewer")
    max_length = _bounded(SLOT_SETTING_LIMITS["max_length"], label="Longest request (characters)")
    channel_id = _discord_id(label="Discord channel id", help_text="Where new requests are posted.")


class LinkLogForm(forms.Form):
    enabled = forms.BooleanField(
        required=False, help_text="Post link and unlink events to a Discord channel."
    )
    channel_id = _discord_id(label="Discord channel id")


class TimerForm(forms.Form):
    text = forms.CharField(max_length=TEXT_MAX, help_text=f"At most {TEXT_MAX} characters (Kick's limit).")
    interval_minutes = _bounded(TIMER_LIMITS["interval_minutes"], label="Every (minutes)")
    min_chat_lines = _bounded(
        TIMER_LIMITS["min_chat_lines"],
        initial=0,
        label="Minimum chat lines since last",
        help_text="A quiet chat is not spammed.",
    )
    live_only = forms.BooleanField(required=False, initial=True, help_text="Only while the stream is live.")
    enabled = forms.BooleanField(required=False, initial=True)
