"""The Discord component: starts with DISCORD_TOKEN, uses DISCORD_API_BASE_URL, stops on the stop event."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest
from django.core.management import call_command

from botworker.discord import component
from botworker.runtime import BotRuntime
from tests.fakes.discord import MockBot


@pytest.fixture(autouse=True)
def _restore_route_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)


async def test_without_a_token_the_component_does_nothing(settings: Any) -> None:
    settings.DISCORD_TOKEN = ""
    bot = MockBot()
    await component.discord_component(BotRuntime(), bot=bot)  # type: ignore[arg-type]
    bot.start.assert_not_called()


async def test_component_starts_the_bot_and_closes_it_on_stop(settings: Any) -> None:
    settings.DISCORD_TOKEN = "fake-token-for-tests"
    settings.DISCORD_API_BASE_URL = "http://127.0.0.1:9/api/v10"
    runtime = BotRuntime()
    bot = MockBot()
    bot.is_closed.return_value = False
    bot.is_ready.return_value = False
    started = asyncio.Event()

    async def start(token: str) -> None:
        started.set()
        await asyncio.Event().wait()  # a gateway that runs until closed

    bot.start.side_effect = start
    task = asyncio.create_task(component.discord_component(runtime, bot=bot))  # type: ignore[arg-type]
    await asyncio.wait_for(started.wait(), timeout=2)

    assert discord.http.Route.BASE == "http://127.0.0.1:9/api/v10"
    bot.start.assert_awaited_once_with("fake-token-for-tests")
    runtime.stop_event.set()
    await asyncio.wait_for(task, timeout=3)
    bot.close.assert_awaited_once()


async def test_a_refused_token_ends_the_component_with_a_clear_log(settings: Any, caplog: Any) -> None:
    settings.DISCORD_TOKEN = "bad-token-value"
    bot = MockBot()
    bot.is_closed.return_value = False
    bot.start.side_effect = discord.LoginFailure("Improper token has been passed.")

    await asyncio.wait_for(component.discord_component(BotRuntime(), bot=bot), timeout=3)  # type: ignore[arg-type]

    assert "login refused, check DISCORD_TOKEN" in caplog.text
    assert "bad-token-value" not in caplog.text
    bot.close.assert_awaited_once()


@pytest.mark.parametrize("token", ["", "some-token"])
def test_runbot_adds_the_discord_component_only_with_a_token(
    settings: Any, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    settings.DISCORD_TOKEN = token
    seen: dict[str, Any] = {}

    async def fake_run(self: BotRuntime, **kwargs: Any) -> None:
        seen.update(self.components)

    monkeypatch.setattr(BotRuntime, "run", fake_run)
    call_command("runbot")
    assert ("discord" in seen) is bool(token)
    if token:
        assert seen["discord"] is component.discord_component
