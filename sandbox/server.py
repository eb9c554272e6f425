"""The sandbox's aiohttp application: Bot API, file downloads and the control API in one app."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox import botapi, control, events
from sandbox.core import SANDBOX_KEY, Sandbox
from sandbox.limits import LimitSettings


def create_app(
    bot_token: str | None = None,
    limits: LimitSettings | None = None,
    clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
    webhook_retry: tuple[float, float] = (0.5, 10.0),
    cors_origins: Collection[str] = (),
    first_ids: tuple[int, int] = (1, 1),
) -> web.Application:
    """Build the server; `bot_token` fixes the primary bot, else the first token seen is it.

    `clock` dates messages, `monotonic` drives the flood limits and `webhook_retry` is the first
    and the largest pause between webhook attempts; tests shorten or replace them.
    `cors_origins` may call the control API from a browser (the sandbox page on another port).
    `first_ids` are the first update id and message id to hand out (a bot with a kept database
    must see no id again).
    """
    bot_id = botapi.bot_id_of(bot_token) if bot_token else None
    if bot_token and bot_id is None:
        raise ValueError("bot_token must look like <digits>:<secret>")
    sandbox = Sandbox(bot_id, limits, clock, monotonic, webhook_retry)
    sandbox.world.continue_numbering(*first_ids)
    app = web.Application(client_max_size=60 * 2**20)
    app[SANDBOX_KEY] = sandbox
    app[events.STREAMS_KEY] = set()
    app.on_shutdown.append(events.end_streams)
    botapi.add_routes(app)
    control.add_routes(app)
    app.router.add_get("/", _index)
    _allow_cross_origin(app, frozenset(cors_origins))

    async def end_long_polls(_: web.Application) -> None:
        sandbox.end_long_polls()

    async def close_sandbox(_: web.Application) -> None:
        await sandbox.close()

    app.on_shutdown.append(end_long_polls)
    app.on_cleanup.append(close_sandbox)
    return app


async def _index(request: web.Request) -> web.Response:
    """A one-line hint for whoever opens the root in a browser."""
    return web.Response(
        text="Frontdoor sandbox Bot API server: /bot<token>/<method>, control API under /sandbox/\n"
    )


CORS_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, PUT",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}


def _allowed_origin(request: web.Request, origins: frozenset[str]) -> str | None:
    """The request's Origin if it may read control API answers, else None."""
    origin = request.headers.get("Origin")
    if origin in origins and request.path.startswith("/sandbox/"):
        return origin
    return None


def _allow_cross_origin(app: web.Application, origins: frozenset[str]) -> None:
    """CORS for the control API: refuse other web pages, answer preflights, and mark every
    response to those origins.

    The headers go on in `on_response_prepare`, which also reaches the event stream: its
    handler prepares the response itself, before any middleware could add to it.
    """

    @web.middleware
    async def preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and request.path.startswith("/sandbox/"):
            if origin not in origins:  # any other web page, even by a "simple" text/plain POST
                return web.json_response(
                    {"ok": False, "description": f"origin {origin} may not use the control API"},
                    status=403,
                )
            if request.method == "OPTIONS":
                return web.Response(status=204, headers=CORS_PREFLIGHT_HEADERS)
        return await handler(request)

    async def mark(request: web.Request, response: web.StreamResponse) -> None:
        origin = _allowed_origin(request, origins)
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers.add("Vary", "Origin")

    app.middlewares.append(preflight)
    app.on_response_prepare.append(mark)
