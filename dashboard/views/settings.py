"""Settings: every community setting in one place, each section saved through its app's service.

Services read their settings row on every use, so a change applies without a restart.
"""

from __future__ import annotations

from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.selectors import link_log_settings
from dashboard import forms, services
from dashboard.permissions import require_perm
from dashboard.roles import PERM_MANAGE
from dashboard.views.common import actor, community_or_404, write_view
from kickbot.errors import InvalidInput
from kickbot.models import Community
from kickbot.money import format_cents, max_amount_cents
from kickbot.services import community_save
from raffle import selectors as rs
from raffle.services.periods import raffle_settings_update
from slots import selectors as ss
from slots import services as ssv
from timers import services as tsv
from timers.selectors import timed_messages_list
from watchtime import selectors as ws
from watchtime.credit import watch_settings_update

SECTIONS = ("community", "watchtime", "raffle", "slots", "linklogs", "timer_add")


def _forms(request: HttpRequest) -> dict[str, Any]:
    community = community_or_404(request)
    cid = community.pk
    raffle = rs.raffle_settings_get(community_id=cid)
    slots = ss.slot_settings_view(community_id=cid)
    links = link_log_settings(community_id=cid)
    return {
        "community_form": forms.CommunityForm(instance=community),
        "watch_form": forms.WatchSettingsForm(initial=vars(ws.watch_settings(community_id=cid))),
        "raffle_form": forms.RaffleSettingsForm(
            initial={f: getattr(raffle, f) for f in forms.RaffleSettingsForm.base_fields}
        ),
        "slots_form": forms.SlotSettingsForm(
            initial={f: getattr(slots, f) for f in forms.SlotSettingsForm.base_fields}
        ),
        "linklog_form": forms.LinkLogForm(initial={"enabled": links.enabled, "channel_id": links.channel_id}),
        "timer_form": forms.TimerForm(),
        "timers": [
            (t, forms.TimerForm(initial=vars(t), prefix=f"t{t.id}"))
            for t in timed_messages_list(community_id=cid)
        ],
        "gtb_max": format_cents(max_amount_cents()),
    }


@require_perm(PERM_MANAGE)
def settings_page(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/settings/index.html", _forms(request))


def _clean(form: djforms.BaseForm) -> dict[str, Any]:
    """The form's cleaned data, or an InvalidInput naming the first bad field."""
    if form.is_valid():
        return form.cleaned_data
    field, errors = next(iter(form.errors.items()))
    label = form.fields[field].label or field.replace("_", " ") if field in form.fields else ""
    raise InvalidInput(f"{str(label).capitalize()}: {errors[0]}" if label else str(errors[0]))


def _validation(exc: ValidationError) -> InvalidInput:
    return InvalidInput("; ".join(exc.messages)[:300])


@require_perm(PERM_MANAGE)
def settings_save(request: HttpRequest, section: str) -> HttpResponse:
    """POST one section; on success or refusal, back to the section with a message."""
    if request.method != "POST":
        return redirect("dashboard:settings")
    try:
        done = _save(request, section)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, _validation(exc).message)
    else:
        messages.success(request, done)
    return redirect(f"/dashboard/settings/#{section}")


def _save(request: HttpRequest, section: str) -> str:
    community = community_or_404(request)
    cid = community.pk
    who = actor(request)
    if section == "community":
        form = forms.CommunityForm(request.POST, instance=community)
        _clean(form)
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        if fields:
            community_save(community=Community.objects.get(pk=cid), actor=request.user, **fields)
        return "Community saved."
    if section == "watchtime":
        data = _clean(forms.WatchSettingsForm(request.POST))
        watch_settings_update(community_id=cid, actor_label=who, **data)
        return "Watchtime settings saved."
    if section == "raffle":
        data = _clean(forms.RaffleSettingsForm(request.POST))
        raffle_settings_update(community_id=cid, actor_label=who, **data)
        return "Raffle settings saved; they apply from the next raffle period."
    if section == "slots":
        data = _clean(forms.SlotSettingsForm(request.POST))
        ssv.slot_settings_update(community_id=cid, actor_label=who, **data)
        return "Slot request settings saved."
    if section == "linklogs":
        data = _clean(forms.LinkLogForm(request.POST))
        services.dashboard_link_log_set(
            community=community, enabled=data["enabled"], channel_id=data["channel_id"], user=request.user
        )
        return "Link log saved."
    if section == "timer_add":
        data = _clean(forms.TimerForm(request.POST))
        data.pop("enabled", None)
        view = tsv.timed_message_create(community_id=cid, actor_label=who, actor=request.user, **data)
        return f"Timed message #{view.id} added."
    raise InvalidInput("Unknown settings section.")


@write_view(PERM_MANAGE, "dashboard:settings")
def timer_edit(request: HttpRequest, timer_id: int) -> str:
    cid = community_or_404(request).pk
    if request.POST.get("op") == "delete":
        tsv.timed_message_delete(
            community_id=cid, timer_id=timer_id, actor_label=actor(request), actor=request.user
        )
        return f"Timed message #{timer_id} deleted."
    data = _clean(forms.TimerForm(request.POST, prefix=f"t{timer_id}"))
    tsv.timed_message_update(
        community_id=cid, timer_id=timer_id, actor_label=actor(request), actor=request.user, **data
    )
    return f"Timed message #{timer_id} saved."
