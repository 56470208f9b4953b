from django.apps import AppConfig


class GtbConfig(AppConfig):
    name = "gtb"
    verbose_name = "Guess the Balance"
