"""Celery entry points: thin calls into slots services."""

from __future__ import annotations

from celery import shared_task

from slots.remote import slots_catalogue_refresh


@shared_task(name="slots.tasks.catalogue_refresh", ignore_result=True)
def catalogue_refresh() -> int:
    """Re-import the remote catalogue sources (none by default); returns how many were imported."""
    return len(slots_catalogue_refresh())
