from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from kickbot.heartbeat import heartbeat_write
from kickbot.integrations.kick import KickError
from kickbot.kick import kick_token_refresh
from kickbot.kick_sync import live_status_poll, subscriptions_reconcile_all
from kickbot.models import KickToken


@shared_task(ignore_result=True)
def worker_heartbeat() -> None:
    """Scheduled by beat; proves that beat schedules and a worker executes."""
    heartbeat_write(name="worker")


@shared_task(ignore_result=True)
def kick_tokens_refresh() -> int:
    """Refresh every Kick token that expires within the next 30 minutes; returns how many."""
    due = KickToken.objects.filter(expires_at__lt=timezone.now() + timedelta(minutes=30))
    refreshed = 0
    for community_id in due.values_list("community_id", flat=True):
        try:
            kick_token_refresh(community_id=community_id, force=True)
            refreshed += 1
        except KickError:
            pass  # recorded on the token row and shown on the health page
    return refreshed


@shared_task(ignore_result=True)
def kick_subscriptions_reconcile() -> int:
    """Every 10 minutes: webhook subscriptions of every connected channel match what we handle."""
    return subscriptions_reconcile_all()


@shared_task(ignore_result=True)
def kick_live_poll() -> int:
    """Every 2 minutes: the live-status backstop for events Kick did not deliver."""
    return live_status_poll()
