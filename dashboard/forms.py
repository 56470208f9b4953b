from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html

from kickbot.models import Community
from kickbot.services import COMMUNITY_EDITABLE_FIELDS


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
    username = forms.CharField(max_length=150)
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
    min_active_chatters = forms.IntegerField(
        min_value=1,
        max_value=1000,
        help_text="Distinct chatters in 5 minutes before a minute counts for anyone.",
    )
    active_window_s = forms.IntegerField(
        min_value=10,
        max_value=3600,
        label="Active window (seconds)",
        help_text="A viewer counts as watching this long after their last line.",
    )
    role_mode = forms.ChoiceField(
        choices=[("all", "Every role reached"), ("highest", "Highest role reached only")],
        help_text="Which watchtime roles a viewer holds.",
    )


class RaffleSettingsForm(forms.Form):
    tickets_per_hour = forms.IntegerField(
        min_value=0, max_value=10_000, help_text="Tickets per watched hour."
    )
    tickets_per_gifted_sub = forms.IntegerField(min_value=0, max_value=10_000)
    tickets_per_1000_usd = forms.IntegerField(
        min_value=0, max_value=100_000, label="Tickets per $1,000 wagered"
    )
    wager_mode = forms.ChoiceField(choices=[("raw", "Raw wager"), ("weighted", "Weighted wager")])
    winners_count = forms.IntegerField(min_value=1, max_value=100)
    commit_margin_seconds = forms.IntegerField(
        min_value=10,
        max_value=3600,
        label="Commit margin (seconds)",
        help_text="The drand round used is emitted at least this long after the raffle closes.",
    )
    max_rerolls = forms.IntegerField(
        min_value=0,
        max_value=20,
        help_text="Rerolls allowed per draw (winner ineligible, unreachable, declined).",
    )
    fallback_after_minutes = forms.IntegerField(
        min_value=1,
        max_value=1440,
        help_text="The drand round must fail this long before the published fallback round is used.",
    )
    moderator_cap = forms.IntegerField(
        min_value=0, max_value=1_000_000, help_text="Tickets one moderator may give in one raffle."
    )
    prize = forms.CharField(required=False, max_length=200, help_text="Shown on the public raffle page.")
    shuffle_campaign_codes = forms.CharField(
        required=False,
        max_length=500,
        label="Shuffle campaign codes",
        help_text="Only wagers under these codes count (comma-separated); empty: every code.",
    )
    auto_draw = forms.BooleanField(required=False, help_text="Draw by itself once the beacon round is out.")
    announce_channel_id = forms.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        label="Announcement channel id",
        help_text="Discord channel for draws (empty: none).",
    )


class SlotSettingsForm(forms.Form):
    cooldown_s = forms.IntegerField(
        min_value=0,
        max_value=86_400,
        label="Cooldown (seconds)",
        help_text="Per viewer, after an accepted request.",
    )
    max_open_per_user = forms.IntegerField(min_value=1, max_value=100, label="Open requests per viewer")
    max_length = forms.IntegerField(min_value=1, max_value=200, label="Longest request (characters)")
    channel_id = forms.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        label="Discord channel id",
        help_text="Where new requests are posted.",
    )


class LinkLogForm(forms.Form):
    enabled = forms.BooleanField(
        required=False, help_text="Post link and unlink events to a Discord channel."
    )
    channel_id = forms.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, label="Discord channel id"
    )


class TimerForm(forms.Form):
    text = forms.CharField(max_length=500, help_text="At most 500 characters (Kick's limit).")
    interval_minutes = forms.IntegerField(min_value=1, max_value=10080, label="Every (minutes)")
    min_chat_lines = forms.IntegerField(
        min_value=0,
        max_value=100_000,
        initial=0,
        label="Minimum chat lines since last",
        help_text="A quiet chat is not spammed.",
    )
    live_only = forms.BooleanField(required=False, initial=True, help_text="Only while the stream is live.")
    enabled = forms.BooleanField(required=False, initial=True)
