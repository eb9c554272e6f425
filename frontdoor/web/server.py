"""The bot's one aiohttp server (SPEC §9): the webhook, health checks, metrics and the dashboard.

Each part adds its routes with an `add_routes(app)` of its own module and reaches the running bot
through `app[FRONTDOOR]`, so the parts never hold a stale config or engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from frontdoor.bootstrap import Frontdoor

MAX_BODY_BYTES = 1 << 20
FRONTDOOR: web.AppKey[Frontdoor] = web.AppKey("frontdoor")

RouteAdder = Callable[[web.Application], None]


class WebServer:
    """Serves the routes the adders put on one application, on one host and port."""

    def __init__(self, frontdoor: Frontdoor, adders: list[RouteAdder]) -> None:
        self.app = web.Application(client_max_size=MAX_BODY_BYTES)
        self.app[FRONTDOOR] = frontdoor
        for add_routes in adders:
            add_routes(self.app)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
