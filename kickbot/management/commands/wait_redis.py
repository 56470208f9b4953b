import time
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError

from kickbot.redis_client import get_redis


class Command(BaseCommand):
    help = "Wait until Redis answers (used by `make run` so processes start after the embedded Redis)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args: Any, **options: Any) -> None:
        deadline = time.monotonic() + options["timeout"]
        while True:
            try:
                get_redis().ping()
                return
            except (redis.RedisError, OSError) as exc:
                if time.monotonic() > deadline:
                    raise CommandError(f"Redis did not answer within {options['timeout']} s") from exc
                time.sleep(0.2)
