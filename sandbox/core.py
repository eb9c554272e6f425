"""The running sandbox: the worlds of the bots it serves, flood limits, injected faults."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from sandbox.errors import ApiError
from sandbox.limits import LimitSettings, RateLimiter
from sandbox.state import Listener, World
from sandbox.webhook import WebhookDelivery


@dataclass(slots=True)
class Fault:
    """The next `count` calls of a method (POST /sandbox/faults) each wait a moment drawn from
    `delay` (seconds, low and high: a slow or jittery network, a hung server when longer than
    the client waits) and then fail with `error`, or are carried out when there is none. A call
    the client gave up on still takes effect once its wait is over, as on Telegram."""

    error: ApiError | None
    count: int
    delay: tuple[float, float] = (0.0, 0.0)

    def pause(self) -> float:
        low, high = self.delay
        return random.uniform(low, high) if high > 0 else 0.0


class Sandbox:
    """One sandbox server's state; the control API acts on the primary bot's world."""

    def __init__(
        self,
        bot_id: int | None = None,
        limits: LimitSettings | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        webhook_retry: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.clock = clock
        self.listeners: list[Listener] = []
        self.world = World(clock=clock, listeners=self.listeners)
        if bot_id is not None:
            self.world.adopt_bot_id(bot_id)
        self.other_worlds: dict[int, World] = {}
        self.limiter = RateLimiter(limits, monotonic)
        self.faults: dict[str, Fault] = {}
        self.webhooks = WebhookDelivery(*webhook_retry, clock=clock)

    def world_for(self, bot_id: int) -> World:
        """The world of the bot with this id; the first bot seen becomes the primary one."""
        primary = self.world
        if not primary.bot_fixed:
            primary.adopt_bot_id(bot_id)
        if bot_id == primary.bot_id:
            return primary
        world = self.other_worlds.get(bot_id)
        if world is None:
            # Further bots get a world of their own: they work, but no test user knows them.
            world = self.other_worlds[bot_id] = World(bot_id, self.clock, self.listeners)
            world.adopt_bot_id(bot_id)
        return world

    def end_long_polls(self) -> None:
        """Answer every waiting getUpdates at once: a server that stops does not keep its
        clients (nor its own shutdown) waiting for their timeout."""
        for world in (self.world, *self.other_worlds.values()):
            world.updates.end_long_polls()

    def add_fault(self, method: str, fault: Fault) -> None:
        """Make the next calls of `method` ("*" for any) wait and fail as `fault` says."""
        self.faults[method.lower()] = fault

    def take_fault(self, method: str) -> Fault | None:
        """The injected fault for this call, if one is due (each use counts down)."""
        if not self.faults:
            return None
        key = method.lower()
        fault = self.faults.get(key) or self.faults.get("*")
        if fault is None:
            return None
        fault.count -= 1
        if fault.count <= 0:
            self.faults = {k: v for k, v in self.faults.items() if v is not fault}
        return fault

    async def reset(self) -> None:
        """Forget everything but the bot's identity and who listens to events."""
        await self.webhooks.stop_all()
        old = self.world
        self.world = World(old.bot_id, self.clock, self.listeners)
        self.world.bot_fixed = old.bot_fixed
        self.other_worlds.clear()
        self.faults.clear()
        self.limiter.configure(LimitSettings())
        self.world.emit("reset")

    async def close(self) -> None:
        """Stop background deliveries (app shutdown)."""
        await self.webhooks.close()


SANDBOX_KEY = web.AppKey("sandbox", Sandbox)
