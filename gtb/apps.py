from django.apps import AppConfig


class GtbConfig(AppConfig):
    name = "gtb"
