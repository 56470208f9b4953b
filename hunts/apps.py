from django.apps import AppConfig


class HuntsConfig(AppConfig):
    name = "hunts"
    verbose_name = "Bonus hunts"
