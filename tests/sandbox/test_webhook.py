"""Webhook delivery: JSON POSTs in order, the secret header, retries until a 2xx answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot

from tests.sandbox_support import SandboxClient, serving

pytestmark = pytest.mark.filterwarnings("error::telegram.warnings.PTBUserWarning")


class Receiver:
    """A bot's webhook endpoint that accepts only the right secret."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.accepted: list[dict[str, Any]] = []
        self.refused = 0
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != self.secret:
            self.refused += 1
            return web.Response(status=403)
        self.accepted.append(await request.json())
        self.arrived.set()
        return web.Response(text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, Receiver]]:
    hook = Receiver("right-secret")
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    async with serving(app) as url:
        yield f"{url}/hook", hook


async def wait_until(condition: Any, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_wrong_secret_is_retried_until_the_right_one_is_set(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any], receiver: tuple[str, Receiver]
) -> None:
    url, hook = receiver
    await bot.set_webhook(url, secret_token="wrong-secret")
    await wait_until(lambda: hook.refused >= 2)  # the server retries after each 403
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1 and "403" in info.last_error_message
    await bot.set_webhook(url, secret_token="right-secret")
    await sandbox.send(ani["id"], "second")
    await wait_until(lambda: len(hook.accepted) == 2)
    assert [u["message"]["text"] for u in hook.accepted] == ["/start", "second"]
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_unreachable_webhook_keeps_updates_for_polling(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    await bot.set_webhook("http://127.0.0.1:9/nothing-listens-here")
    await asyncio.sleep(0.2)
    assert "Connection failed" in (await bot.get_webhook_info()).last_error_message
    await bot.delete_webhook()
    assert [u.message.text for u in await bot.get_updates()] == ["/start"]


async def test_drop_pending_updates(bot: Bot, sandbox: SandboxClient, ani: dict) -> None:
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


class SlowReceiver:
    """A webhook endpoint that takes a while to answer and notes what is in flight at once."""

    def __init__(self) -> None:
        self.in_flight: list[int] = []  # the chats of the deliveries being answered
        self.most_at_once = 0
        self.chat_twice_at_once = False
        self.accepted: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        chat = update["message"]["chat"]["id"]
        self.chat_twice_at_once |= chat in self.in_flight
        self.in_flight.append(chat)
        self.most_at_once = max(self.most_at_once, len(self.in_flight))
        await asyncio.sleep(0.05)
        self.in_flight.remove(chat)
        self.accepted.append(update)
        return web.Response(text="ok")


async def test_chats_are_delivered_side_by_side_and_each_chat_in_order(
    bot: Bot, sandbox: SandboxClient
) -> None:
    hook = SlowReceiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    users = [(await sandbox.add_user(name))["id"] for name in ("Ani", "Budi", "Citra")]
    for number in range(3):
        for user in users:
            await sandbox.send(user, f"{number}")
    async with serving(app) as url:
        await bot.set_webhook(f"{url}/hook", max_connections=2)
        await wait_until(lambda: len(hook.accepted) == 9)

    assert hook.most_at_once == 2  # max_connections
    assert not hook.chat_twice_at_once
    for user in users:
        texts = [u["message"]["text"] for u in hook.accepted if u["message"]["chat"]["id"] == user]
        assert texts == ["0", "1", "2"]
