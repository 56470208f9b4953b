"""Settings for the test suite: the real settings, with a separate var/ folder and eager Celery.

The environment is set before ``kickbot.settings`` reads it, so a developer's running
``make run`` (var/, its embedded Redis) is never touched by tests.
"""

import os
from pathlib import Path

# One folder (and embedded Redis) per test run, so parallel runs never stop each other's server.
os.environ.setdefault(
    "KICKBOT_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test" / f"run-{os.getpid()}")
)
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
# Keys of one test run live under their own prefix, so tests can clear them on a shared Redis.
os.environ.setdefault("REDIS_KEY_PREFIX", f"kbtest{os.getpid()}")

from kickbot.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only

# Parallel runs on one Postgres (several engineers, or make test beside .ci/run) each get their own
# test database instead of dropping each other's ``test_kickbot``.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405
