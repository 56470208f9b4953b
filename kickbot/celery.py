"""The one Celery app. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kickbot.settings")

app = Celery("kickbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _beat_on_ready(**_: object) -> None:
    # A fresh worker says so at once instead of waiting for the first scheduled heartbeat.
    from kickbot.heartbeat import heartbeat_write

    heartbeat_write(name="worker")
