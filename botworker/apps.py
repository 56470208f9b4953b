from django.apps import AppConfig


class BotworkerConfig(AppConfig):
    name = "botworker"
