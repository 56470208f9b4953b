"""``manage.py kick_detect <slug>``: find a channel's chatroom id, channel id and broadcaster id."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kickbot.kick_detect import KickIdsNotFound, detect
from kickbot.models import Community
from kickbot.services import community_save


class Command(BaseCommand):
    help = "Detect a Kick channel's chatroom id, channel id and broadcaster user id (and --save them)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("--save", action="store_true", help="store them on the community with this slug")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = str(options["slug"]).strip().lower()
        try:
            ids = detect(slug)
        except KickIdsNotFound as exc:
            raise CommandError(exc.message) from exc
        for name, value in ids.items():
            self.stdout.write(f"{name} = {value}")
        if options["save"]:
            community = Community.objects.filter(kick_channel_slug=slug).first()
            if community is None:
                raise CommandError(f"no community with the slug {slug!r}; create it on the setup page first")
            community_save(community=community, actor=None, **ids)
            self.stdout.write(f"saved on community {slug}")
