from django.apps import AppConfig


class WatchtimeConfig(AppConfig):
    name = "watchtime"
