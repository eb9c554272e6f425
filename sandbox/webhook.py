"""Webhook delivery: POST each update to the bot's URL, in order, retrying until it answers 2xx.

Bot API setWebhook: Telegram sends "an HTTPS POST request to the specified URL, containing a
JSON-serialized Update. In case of an unsuccessful request (a request with response HTTP status
code different from 2XY), we will repeat the request and give up after a reasonable amount of
attempts"; `secret_token` comes back in the X-Telegram-Bot-Api-Secret-Token header. The sandbox
keeps retrying with capped exponential backoff so tests can watch a failing receiver recover.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from sandbox.state import World

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookDelivery:
    """One delivery task per world whose bot has a webhook set."""

    def __init__(self, first_delay: float, max_delay: float, clock: Callable[[], float]) -> None:
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.clock = clock
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None

    def start(self, world: World) -> None:
        """(Re)start delivering the world's updates to its webhook URL."""
        self.stop(world)
        self._tasks[id(world)] = asyncio.get_running_loop().create_task(self._deliver(world))

    def stop(self, world: World) -> None:
        """Stop delivering; undelivered updates stay queued for getUpdates."""
        task = self._tasks.pop(id(world), None)
        if task is not None:
            task.cancel()

    async def stop_all(self) -> None:
        """Cancel every delivery task and wait for them to end."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        """Stop all deliveries and close the HTTP client."""
        await self.stop_all()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _deliver(self, world: World) -> None:
        """Deliver the waiting updates until each is accepted: chats side by side, up to the
        webhook's `max_connections` at once, and within a chat one at a time, in order (a chat's
        next update goes once the one before is accepted); back off after a failure."""
        delay = self.first_delay
        while True:
            await world.updates.wait(3600)
            limit = max(1, world.webhook.max_connections)
            batch = first_of_each_chat(world.updates.peek(len(world.updates)), limit)
            if not batch:
                continue
            errors = await asyncio.gather(*(self._post(world, update) for update in batch))
            failed = []
            for update, error in zip(batch, errors, strict=True):
                if error is None:
                    world.updates.remove(update["update_id"])
                else:
                    failed.append((update, error))
            if not failed:
                delay = self.first_delay
                continue
            update, error = failed[0]
            world.webhook.last_error_date = int(self.clock())
            world.webhook.last_error_message = error
            world.emit("webhook_failed", update_id=update["update_id"], error=error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_delay)

    async def _post(self, world: World, update: dict) -> str | None:
        """POST one update; None on 2xx, else Telegram-style `last_error_message`."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        headers = {"Content-Type": "application/json"}
        if world.webhook.secret_token:
            headers[SECRET_HEADER] = world.webhook.secret_token
        try:
            async with self._session.post(
                world.webhook.url, data=json.dumps(update), headers=headers
            ) as response:
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"Connection failed: {type(exc).__name__}"


def first_of_each_chat(updates: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The oldest waiting update of each chat, oldest first, at most `limit` of them."""
    seen: set[object] = set()
    chosen = []
    for update in updates:
        chat = chat_of(update)
        if chat in seen:
            continue
        seen.add(chat)
        chosen.append(update)
        if len(chosen) == limit:
            break
    return chosen


def chat_of(update: dict[str, Any]) -> object:
    """Whose turn an update waits for: its chat, or for a button or an inline query the user
    (an update of neither kind waits for no other)."""
    for body in update.values():
        if not isinstance(body, dict):
            continue
        if isinstance(body.get("chat"), dict):
            return ("chat", body["chat"].get("id"))
        if isinstance(body.get("from"), dict):
            return ("user", body["from"].get("id"))
    return ("update", update["update_id"])
