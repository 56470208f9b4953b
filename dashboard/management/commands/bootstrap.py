from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from dashboard.services import owner_setup_token_create
from kickbot.services import community_bootstrap_from_settings


class Command(BaseCommand):
    help = (
        "First-start tasks, safe to repeat: create the first community from KICK_CHANNEL and, "
        "while no owner exists, print a one-time link that creates the owner account."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        community = community_bootstrap_from_settings()
        if community is not None:
            self.stdout.write(f"Created community '{community.kick_channel_slug}' from KICK_CHANNEL.")
        token = owner_setup_token_create()
        base = settings.PUBLIC_BASE_URL
        self.stdout.write("")
        self.stdout.write(f"  kickbot dashboard: {base}/dashboard/")
        if token:
            self.stdout.write(
                f"  Create the owner account (one-time link): {base}/dashboard/setup/owner/{token}/"
            )
        self.stdout.write("")
