from django.apps import AppConfig


class KickbotConfig(AppConfig):
    name = "kickbot"
    verbose_name = "Kickbot core"

    def ready(self) -> None:
        from kickbot import checks  # noqa: F401  (registers the system checks)
