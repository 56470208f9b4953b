"""``manage.py forget_user <kick user id | kick username> [--dry-run]`` (see dashboard/privacy.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.privacy import resolve_kick_user, user_forget


class Command(BaseCommand):
    help = "Delete a viewer's data; drawn raffles keep their Kick user id (pseudonymised) for the proofs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("who", help="Kick user id or Kick username")
        parser.add_argument("--dry-run", action="store_true", help="Print what would go and change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        uid = resolve_kick_user(str(options["who"])[:64])
        if uid is None:
            raise CommandError("No Kick user by that name; give the Kick user id instead.")
        report = user_forget(
            kick_user_id=uid, actor_label="manage.py forget_user", dry_run=options["dry_run"]
        )
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write("Dry run: nothing changed." if options["dry_run"] else "Done.")
