"""Deletes through the Django admin leave one audit row each, one by one or as a bulk action."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import RequestFactory

from kickbot.admin import AuditedModelAdmin
from kickbot.models import AuditLog
from timers.models import TimedMessage

pytestmark = pytest.mark.django_db


def test_admin_deletes_are_audited_with_the_community_and_what_was_deleted(
    community: Any, owner: Any
) -> None:
    rows = [TimedMessage.objects.create(community=community, text=f"line {i}") for i in range(3)]
    request = RequestFactory().post("/admin/")
    request.user = owner
    model_admin = AuditedModelAdmin(TimedMessage, admin.site)

    model_admin.delete_model(request, rows[0])
    model_admin.delete_queryset(request, TimedMessage.objects.filter(pk__in=[r.pk for r in rows[1:]]))

    assert not TimedMessage.objects.exists()
    audited = list(AuditLog.objects.filter(action="admin.delete").order_by("id"))
    assert [a.data["repr"] for a in audited] == [str(r) for r in rows]
    assert all(a.community_id == community.pk and a.actor_id == owner.pk for a in audited)
