"""Logging helpers: secrets never reach a log line, whatever the caller formats."""

from __future__ import annotations

import logging

from django.conf import settings


class RedactSecretsFilter(logging.Filter):
    """Replace configured secret values with ``***`` in every record (message and args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            secrets = getattr(settings, "SECRET_VALUES", [])
        except Exception:  # settings unavailable (interpreter shutdown): nothing to redact with
            return True
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: logging itself reports it later
            return True
        redacted = message
        for value in secrets:
            if value in redacted:
                redacted = redacted.replace(value, "***")
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
