from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard import kick_views, views

app_name = "dashboard"
urlpatterns = [
    path("", views.overview, name="overview"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="dashboard/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("community/", views.community_switch, name="community_switch"),
    path("setup/", views.setup, name="setup"),
    path("setup/owner/<str:token>/", views.owner_setup, name="owner_setup"),
    path("health/", views.health, name="health"),
    path("kick/connect/", kick_views.kick_connect, name="kick_connect"),
    path("kick/callback/", kick_views.kick_callback, name="kick_callback"),
    path("kick/detect/", kick_views.kick_detect_ids, name="kick_detect"),
    path("audit/", views.audit, name="audit"),
]
