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
        """Send the oldest update until accepted, then the next; back off between failures."""
        delay = self.first_delay
        while True:
            await world.updates.wait(3600)
            pending = world.updates.peek(1)
            if not pending:
                continue
            error = await self._post(world, pending[0])
            if error is None:
                world.updates.pop_first()
                delay = self.first_delay
                continue
            world.webhook.last_error_date = int(self.clock())
            world.webhook.last_error_message = error
            world.emit("webhook_failed", update_id=pending[0]["update_id"], error=error)
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
