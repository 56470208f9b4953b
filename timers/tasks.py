from celery import shared_task

from timers import services


@shared_task(ignore_result=True)
def timers_send_due() -> int:
    """Every 30 s (beat): queue the timed messages that are due; safe to run in two workers."""
    return services.timers_send_due()
