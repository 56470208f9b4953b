from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from kickbot import views, webhook_views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("webhooks/kick/", webhook_views.kick_webhook, name="kick_webhook"),
    path("terms/", TemplateView.as_view(template_name="public/terms.html"), name="terms"),
    path("privacy/", TemplateView.as_view(template_name="public/privacy.html"), name="privacy"),
    path("admin/", admin.site.urls),
    path("dashboard/", include("dashboard.urls")),
    path("link/", include("accounts.urls")),
    path("raffle/", include("raffle.urls")),
    path("leaderboard/", include("watchtime.urls")),
    path("", views.home, name="home"),
]
