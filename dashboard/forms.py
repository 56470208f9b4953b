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
