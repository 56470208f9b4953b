from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import connection

from kickbot.crypto import decrypt_str, encrypt_str
from kickbot.logging import RedactSecretsFilter


def test_encrypt_round_trip_and_ciphertext_differs() -> None:
    token = encrypt_str("kick-access-token-abc")
    assert "kick-access-token-abc" not in token
    assert decrypt_str(token) == "kick-access-token-abc"
    assert encrypt_str("kick-access-token-abc") != token  # random IV


def test_decrypt_with_wrong_key_raises_clear_error(settings: Any) -> None:
    token = encrypt_str("secret")
    settings.FIELD_ENCRYPTION_KEY = "A" * 43 + "="
    with pytest.raises(ValueError, match="FIELD_ENCRYPTION_KEY"):
        decrypt_str(token)


def test_redact_filter_hides_configured_secrets(settings: Any) -> None:
    settings.SECRET_VALUES = ["discord-token-XYZ123"]
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token is %s", ("discord-token-XYZ123",), None)
    assert RedactSecretsFilter().filter(record)
    assert record.getMessage() == "token is ***"


@pytest.mark.django_db
def test_audit_table_exists() -> None:
    assert "kickbot_auditlog" in connection.introspection.table_names()
