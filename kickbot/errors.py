"""Domain errors: the message is fit to show a viewer or moderator as it is."""


class KickbotError(Exception):
    """Base for errors whose text is a reply, not a bug."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(KickbotError):
    """The caller's input was rejected; nothing changed."""


class NotAllowed(KickbotError):
    """The caller may not do this; nothing changed."""
