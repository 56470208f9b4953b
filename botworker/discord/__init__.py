"""The Discord side of the bot process: the client, thin cogs, persistent views, the outbox sender."""
