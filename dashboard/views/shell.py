"""Dashboard shell: overview, setup, health, audit log, first-owner setup."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from dashboard import services
from dashboard.context import SESSION_KEY, current_community
from dashboard.errors import SetupLinkInvalid
from dashboard.forms import CommunityForm, OwnerSetupForm
from dashboard.permissions import require_perm
from dashboard.roles import PERM_AUDIT, PERM_MANAGE, PERM_VIEW
from kickbot.health import health_report
from kickbot.kick import kick_token_state
from kickbot.kick_sync import subscriptions_state
from kickbot.models import AuditLog, Community
from kickbot.selectors import integrations_state
from kickbot.services import community_save


@require_perm(PERM_VIEW)
def overview(request: HttpRequest) -> HttpResponse:
    community = current_community(request)
    if community is None and request.user.has_perm(PERM_MANAGE):
        return redirect("dashboard:setup")
    return render(request, "dashboard/overview.html", {"community": community})


@require_perm(PERM_VIEW)
@require_http_methods(["POST"])
def community_switch(request: HttpRequest) -> HttpResponse:
    raw = str(request.POST.get("community_id", ""))
    community = Community.objects.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 19 else None
    if community is not None:
        request.session[SESSION_KEY] = community.pk
    next_url = str(request.POST.get("next", ""))
    if next_url.startswith("/dashboard/") and url_has_allowed_host_and_scheme(next_url, allowed_hosts=None):
        return redirect(next_url)
    return redirect("dashboard:overview")


@require_perm(PERM_MANAGE)
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    community = current_community(request)
    form = CommunityForm(request.POST or None, instance=community)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            # form.instance already carries the new values; the service re-applies and audits.
            saved = community_save(
                community=Community.objects.filter(pk=community.pk).first() if community else None,
                actor=request.user,
                **fields,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            request.session[SESSION_KEY] = saved.pk
            messages.success(request, "Saved.")
            return redirect("dashboard:setup")
    return render(
        request,
        "dashboard/setup.html",
        {
            "form": form,
            "community": community,
            "integrations": integrations_state(),
            "kick_token": kick_token_state(community_id=community.pk) if community else None,
        },
    )


@require_perm(PERM_VIEW)
def health(request: HttpRequest) -> HttpResponse:
    community = current_community(request)
    return render(
        request,
        "dashboard/health.html",
        {
            "report": health_report(detail=True),
            "integrations": integrations_state(),
            "kick_token": kick_token_state(community_id=community.pk) if community else None,
            "kick_subs": subscriptions_state(community_id=community.pk) if community else None,
        },
    )


@require_perm(PERM_AUDIT)
def audit(request: HttpRequest) -> HttpResponse:
    entries = AuditLog.objects.select_related("actor", "community")
    action = request.GET.get("action", "").strip()[:64]
    if action:
        entries = entries.filter(action__startswith=action)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "dashboard/audit.html", {"page": page, "action": action})


@require_http_methods(["GET", "POST"])
def owner_setup(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.owner_setup_token_check(token=token)
    except SetupLinkInvalid as exc:
        return render(
            request, "dashboard/message.html", {"title": "Setup link", "message": exc.message}, status=400
        )
    form = OwnerSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.owner_create(
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data.get("email") or "",
            )
        except ValidationError as exc:
            form.add_error("password1", exc)
        except SetupLinkInvalid as exc:
            return render(
                request, "dashboard/message.html", {"title": "Setup link", "message": exc.message}, status=400
            )
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Owner account created. Welcome!")
            return redirect("dashboard:setup")
    return render(request, "dashboard/owner_setup.html", {"form": form})
