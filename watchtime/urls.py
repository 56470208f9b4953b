from django.urls import path

from watchtime import views

app_name = "watchtime"

urlpatterns = [
    path("<slug:slug>/", views.leaderboard_page, name="leaderboard"),
]
