from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dashboard.services import owner_setup_token_create


class Command(BaseCommand):
    help = "Print a one-time link that creates the first owner account (only while none exists)."

    def handle(self, *args: Any, **options: Any) -> None:
        token = owner_setup_token_create()
        if token is None:
            raise CommandError("An owner account already exists; log in at /dashboard/login/.")
        self.stdout.write(f"{settings.PUBLIC_BASE_URL}/dashboard/setup/owner/{token}/")
