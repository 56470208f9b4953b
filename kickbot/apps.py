from django.apps import AppConfig


class KickbotConfig(AppConfig):
    name = "kickbot"
    verbose_name = "Kickbot core"

    def ready(self) -> None:
        # registers the system checks and the lockout audit
        from kickbot import checks, login_lockout  # noqa: F401
