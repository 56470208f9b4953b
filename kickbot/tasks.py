from celery import shared_task

from kickbot.heartbeat import heartbeat_write


@shared_task(ignore_result=True)
def worker_heartbeat() -> None:
    """Scheduled by beat; proves that beat schedules and a worker executes."""
    heartbeat_write(name="worker")
