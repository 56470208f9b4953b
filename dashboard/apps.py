from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self) -> None:
        from dashboard import signals
        from dashboard.roles import roles_sync_on_migrate

        # Permissions of apps migrated later are granted too, whatever the migration order.
        post_migrate.connect(roles_sync_on_migrate, dispatch_uid="dashboard.roles_sync")
        # Role changes and logouts reach the user's open websockets.
        signals.connect()
