"""The real Celery app (``kickbot.celery``) as the fault suite runs it: ``celery -A tests.faults.celery_app``.

Same tasks, same settings. Only when ``FAULTS_VISIBILITY_TIMEOUT`` is set, the Redis transport
gives a message that a killed worker never acknowledged back to the queue after that many seconds
(production keeps kombu's default, one hour), and looks for such messages every second, so a
scenario sees the redelivery of a task whose worker was killed within its time bounds.
"""

from __future__ import annotations

import os

from kickbot.celery import app

_visibility = os.environ.get("FAULTS_VISIBILITY_TIMEOUT")
if _visibility:
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "visibility_timeout": float(_visibility),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }

__all__ = ["app"]
