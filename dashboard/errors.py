from kickbot.errors import KickbotError


class SetupLinkInvalid(KickbotError):
    """The owner setup link is forged, expired, used, or an owner already exists."""
