from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard import kick_views
from dashboard.views import accounts, gtb, hunts, overview, raffle, settings, shell, slots, users, watchtime

app_name = "dashboard"
urlpatterns = [
    path("", overview.overview, name="overview"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="dashboard/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("community/", shell.community_switch, name="community_switch"),
    path("setup/", shell.setup, name="setup"),
    path("setup/owner/<str:token>/", shell.owner_setup, name="owner_setup"),
    path("health/", shell.health, name="health"),
    path("kick/connect/", kick_views.kick_connect, name="kick_connect"),
    path("kick/callback/", kick_views.kick_callback, name="kick_callback"),
    path("kick/detect/", kick_views.kick_detect_ids, name="kick_detect"),
    path("audit/", shell.audit, name="audit"),
    # viewers
    path("users/", users.users, name="users"),
    path("users/<int:kick_user_id>/", users.user_detail, name="user"),
    path("users/<int:kick_user_id>/unlink/", users.user_unlink, name="user_unlink"),
    path("users/<int:kick_user_id>/tickets/", users.user_tickets, name="user_tickets"),
    # raffle
    path("raffle/", raffle.raffle, name="raffle"),
    path("raffle/start/", raffle.raffle_start, name="raffle_start"),
    path("raffle/end/", raffle.raffle_end, name="raffle_end"),
    path("raffle/draw/", raffle.raffle_draw, name="raffle_draw"),
    path("raffle/claims/<int:claim_id>/verify/", raffle.raffle_verify_claim, name="raffle_verify"),
    # slot requests
    path("slots/", slots.slots, name="slots"),
    path("slots/queue/", slots.slots_queue, name="slots_queue"),
    path("slots/action/<str:action>/", slots.slots_action, name="slots_action"),
    path("slots/blacklist/", slots.slots_blacklist, name="slots_blacklist"),
    path("slots/import/", slots.slots_import, name="slots_import"),
    # guess the balance
    path("gtb/", gtb.gtb, name="gtb"),
    path("gtb/round/", gtb.gtb_round, name="gtb_round"),
    path("gtb/start/", gtb.gtb_start, name="gtb_start"),
    path("gtb/close/", gtb.gtb_close, name="gtb_close"),
    path("gtb/resolve/", gtb.gtb_resolve, name="gtb_resolve"),
    path("gtb/cancel/", gtb.gtb_cancel, name="gtb_cancel"),
    path("hunts/", hunts.hunts, name="hunts"),
    path("hunts/slots/", hunts.hunt_slot_options, name="hunt_slot_options"),
    path("hunts/export.csv", hunts.hunts_csv, name="hunts_csv"),
    path("hunts/<int:hunt_id>/", hunts.hunt_detail, name="hunt_detail"),
    path("hunts/<int:hunt_id>/export.csv", hunts.hunt_csv, name="hunt_csv"),
    path("hunts/start/", hunts.hunt_start, name="hunt_start"),
    path("hunts/add/", hunts.hunt_add, name="hunt_add"),
    path("hunts/remove/", hunts.hunt_remove, name="hunt_remove"),
    path("hunts/open/", hunts.hunt_open, name="hunt_open"),
    path("hunts/result/", hunts.hunt_result, name="hunt_result"),
    path("hunts/finish/", hunts.hunt_finish, name="hunt_finish"),
    # watchtime and roles
    path("watchtime/", watchtime.watchtime, name="watchtime"),
    path("watchtime/tracking/", watchtime.watch_tracking, name="watch_tracking"),
    path("watchtime/roles/<int:role_id>/", watchtime.watch_role_action, name="watch_role"),
    # settings
    path("settings/", settings.settings_page, name="settings"),
    path("settings/timers/<int:timer_id>/", settings.timer_edit, name="timer"),
    path("settings/<str:section>/", settings.settings_save, name="settings_save"),
    # dashboard accounts (owner)
    path("accounts/", accounts.accounts, name="accounts"),
    path("accounts/new/", accounts.account_create, name="account_create"),
    path("accounts/<int:user_id>/role/", accounts.account_role, name="account_role"),
]
