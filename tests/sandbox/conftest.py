"""Fixtures for the sandbox server's own tests: a PTB `Bot` and a customer who started it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot

from tests.sandbox_support import SandboxClient


@pytest.fixture
async def bot(sandbox: SandboxClient) -> AsyncIterator[Bot]:
    """A real python-telegram-bot `Bot` talking to the sandbox."""
    async with sandbox.bot() as telegram_bot:
        yield telegram_bot


@pytest.fixture
async def ani(sandbox: SandboxClient) -> dict[str, Any]:
    """A customer who has started the bot, so it may write to her."""
    user = await sandbox.add_user("Ani", username="ani", language_code="id")
    await sandbox.send(user["id"], "/start")
    return user
