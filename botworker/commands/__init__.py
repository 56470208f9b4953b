"""The chat command router: Kick chat lines → the commands in ``kickbot.commands``."""
