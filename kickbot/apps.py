from django.apps import AppConfig


class KickbotConfig(AppConfig):
    name = "kickbot"
    verbose_name = "Kickbot core"
