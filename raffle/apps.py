from django.apps import AppConfig


class RaffleConfig(AppConfig):
    name = "raffle"
