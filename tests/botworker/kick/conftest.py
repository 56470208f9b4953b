"""Fixture loading for the Kick ingestion tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kick"
NOW = datetime(2025, 3, 14, 16, 30, 0, tzinfo=UTC)


def pusher_raw(name: str) -> str:
    """The raw websocket text of a recorded-shape Pusher frame."""
    return json.dumps(json.loads((FIXTURES / "pusher" / f"{name}.json").read_text()))


def pusher_lines(name: str) -> list[str]:
    return [ln for ln in (FIXTURES / "pusher" / name).read_text().splitlines() if ln.strip()]


def webhook(name: str) -> tuple[str, str, bytes]:
    """(event type, message id, raw body) of a webhook fixture."""
    doc: dict[str, Any] = json.loads((FIXTURES / "webhooks" / f"{name}.json").read_text())
    headers = doc["headers"]
    return headers["Kick-Event-Type"], headers["Kick-Event-Message-Id"], json.dumps(doc["body"]).encode()
