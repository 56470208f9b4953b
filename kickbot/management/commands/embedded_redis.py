from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kickbot import embedded_redis


class Command(BaseCommand):
    help = "Run the embedded Redis server in the foreground (only when REDIS_URL is unset)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.EMBEDDED_REDIS:
            raise CommandError("REDIS_URL is set: the embedded Redis is not used.")
        self.stdout.write(f"embedded Redis on unix://{settings.EMBEDDED_REDIS_SOCKET}")
        self.stdout.flush()
        embedded_redis.exec_foreground(settings.EMBEDDED_REDIS_SOCKET)
