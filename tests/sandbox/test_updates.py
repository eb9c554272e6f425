"""getUpdates as Telegram does it: long polling, offsets, redelivery, filters, webhook conflict."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from telegram import Bot
from telegram.error import Conflict

from sandbox.core import SANDBOX_KEY
from sandbox.server import create_app
from sandbox.updates import UpdateQueue
from tests.sandbox_support import BOT_TOKEN, SandboxClient, serving

pytestmark = pytest.mark.filterwarnings("error::telegram.warnings.PTBUserWarning")


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    first = await bot.get_updates()
    offset = first[-1].update_id + 1
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(offset=offset, timeout=10))
    await asyncio.sleep(0.1)
    assert not poll.done()
    await sandbox.send(ani["id"], "halo?")
    updates = await poll
    assert time.monotonic() - started < 2
    assert [u.message.text for u in updates] == ["halo?"]


async def test_unconfirmed_updates_are_redelivered_to_a_new_client(
    sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    await sandbox.send(ani["id"], "one")
    async with sandbox.bot() as first_process:
        seen = await first_process.get_updates(timeout=1)
    async with sandbox.bot() as restarted:  # a new Bot, a new HTTP session
        again = await restarted.get_updates(timeout=1)
        assert [u.update_id for u in again] == [u.update_id for u in seen]
        assert [u.message.text for u in again] == ["/start", "one"]
        confirmed = await restarted.get_updates(offset=again[-1].update_id + 1)
    assert confirmed == ()


async def test_offset_confirms_only_older_updates(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    for text in ("a", "b", "c"):
        await sandbox.send(ani["id"], text)
    updates = await bot.get_updates()
    middle = updates[2].update_id
    rest = await bot.get_updates(offset=middle)
    assert [u.message.text for u in rest] == ["b", "c"]
    assert [u.message.text for u in await bot.get_updates(limit=1)] == ["b"]


async def test_negative_offset_keeps_only_the_last_updates(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    for text in ("a", "b", "c"):
        await sandbox.send(ani["id"], text)
    assert [u.message.text for u in await bot.get_updates(offset=-2)] == ["b", "c"]
    assert [u.message.text for u in await bot.get_updates()] == ["b", "c"]  # "a" is forgotten


async def test_allowed_updates_filters_updates_created_afterwards(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    await bot.get_updates(offset=-1, allowed_updates=["callback_query"])
    await bot.get_updates(offset=10**6)  # confirm everything so far
    sent = await bot.send_message(ani["id"], "menu", reply_markup=None)
    said = await sandbox.send(ani["id"], "ignored text")
    assert said["update_id"] is None
    assert await bot.get_updates() == ()
    del sent


async def test_get_updates_while_a_webhook_is_set_is_a_conflict(bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()


async def test_a_newer_poll_ends_the_older_one_with_a_conflict(
    sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    async with sandbox.bot() as old, sandbox.bot() as new:
        waiting = asyncio.create_task(old.get_updates(offset=10**6, timeout=5))
        await asyncio.sleep(0.1)
        newer = asyncio.create_task(new.get_updates(offset=10**6, timeout=5))
        await asyncio.sleep(0.1)
        await sandbox.send(ani["id"], "who gets me?")
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await waiting
        assert [u.message.text for u in await newer] == ["who gets me?"]


def test_queue_confirmation_rules_without_a_server() -> None:
    queue = UpdateQueue()
    ids = [queue.put("message", {"n": n}) for n in range(5)]
    queue.confirm(ids[2])
    assert [u["update_id"] for u in queue.peek()] == ids[2:]
    queue.confirm(-1)
    assert [u["update_id"] for u in queue.peek()] == ids[-1:]
    queue.set_allowed(["message"])
    assert queue.put("chat_member", {}) is None
    queue.set_allowed([])
    assert queue.put("chat_member", {}) is None and queue.put("edited_message", {}) is not None


async def test_a_stopping_server_ends_a_long_poll_at_once_and_keeps_webhook_delivery_waiting() -> (
    None
):
    app = create_app(bot_token=BOT_TOKEN)
    async with serving(app) as url, Bot(BOT_TOKEN, base_url=f"{url}/bot") as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=25, read_timeout=30))
        await asyncio.sleep(0.2)
        assert not poll.done()
        queue = app[SANDBOX_KEY].world.updates
        delivery = asyncio.create_task(queue.wait(3600))  # as the webhook delivery loop waits
        await asyncio.sleep(0)
        started = time.monotonic()
        app[SANDBOX_KEY].end_long_polls()  # what the server's shutdown does first
        assert await poll == ()
        assert time.monotonic() - started < 2 and not delivery.done()
        delivery.cancel()


async def test_a_sandbox_numbers_on_from_the_ids_a_kept_bot_database_has_seen() -> None:
    app = create_app(bot_token=BOT_TOKEN, first_ids=(501, 9001))
    async with serving(app) as url, aiohttp.ClientSession() as session:
        sandbox = SandboxClient(url, session)
        ani = await sandbox.add_user("Ani")
        sent = await sandbox.send(ani["id"], "halo")
        assert (sent["update_id"], sent["message"]["message_id"]) == (501, 9001)
        group = await sandbox.add_group("Agents", [ani["id"]])
        in_group = await sandbox.send(ani["id"], "tim", chat_id=group["id"])
        assert in_group["message"]["message_id"] == 9001
