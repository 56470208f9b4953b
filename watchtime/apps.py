from django.apps import AppConfig


class WatchtimeConfig(AppConfig):
    name = "watchtime"

    def ready(self) -> None:
        # Imported here, not at the top: models may be imported only once the registry is ready.
        from accounts.signals import link_removed
        from watchtime.roles import roles_revoke_on_unlink

        # accounts is below watchtime: it announces the unlink, watchtime takes its roles back.
        link_removed.connect(roles_revoke_on_unlink, dispatch_uid="watchtime.roles_revoke_on_unlink")
