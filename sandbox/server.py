"""The sandbox's aiohttp application: Bot API, file downloads and the control API in one app."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from sandbox import botapi, control, events
from sandbox.core import SANDBOX_KEY, Sandbox
from sandbox.limits import LimitSettings


def create_app(
    bot_token: str | None = None,
    limits: LimitSettings | None = None,
    clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
    webhook_retry: tuple[float, float] = (0.5, 10.0),
) -> web.Application:
    """Build the server; `bot_token` fixes the primary bot, else the first token seen is it.

    `clock` dates messages, `monotonic` drives the flood limits and `webhook_retry` is the first
    and the largest pause between webhook attempts; tests shorten or replace them.
    """
    bot_id = botapi.bot_id_of(bot_token) if bot_token else None
    if bot_token and bot_id is None:
        raise ValueError("bot_token must look like <digits>:<secret>")
    sandbox = Sandbox(bot_id, limits, clock, monotonic, webhook_retry)
    app = web.Application(client_max_size=60 * 2**20)
    app[SANDBOX_KEY] = sandbox
    app[events.STREAMS_KEY] = set()
    app.on_shutdown.append(events.end_streams)
    botapi.add_routes(app)
    control.add_routes(app)
    app.router.add_get("/", _index)

    async def close_sandbox(_: web.Application) -> None:
        await sandbox.close()

    app.on_cleanup.append(close_sandbox)
    return app


async def _index(request: web.Request) -> web.Response:
    """A one-line hint for whoever opens the root in a browser."""
    return web.Response(
        text="Frontdoor sandbox Bot API server: /bot<token>/<method>, control API under /sandbox/\n"
    )
