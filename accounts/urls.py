from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("start/", views.start, name="link_start"),
    path("callback/", views.callback, name="link_callback"),
]
