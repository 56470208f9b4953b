from celery import shared_task


@shared_task(ignore_result=True)
def timers_send_due() -> int:
    """Every 30 s (beat): queue the timed messages that are due; safe to run in two workers."""
    from timers.services import timers_send_due as send_due

    return send_due()
