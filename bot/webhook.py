"""Webhook intake (SPEC §8, §9): check Telegram's secret-token header, store the update, answer 200.

Telegram retries a delivery until it gets a 2xx, so an update is acknowledged only once it is in
the inbox; a duplicate delivery is stored once and acted on once.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"
MAX_UPDATE_BYTES = 1 << 20


class WebhookServer:
    def __init__(self, engine: AsyncEngine, processor: inbox.Processor, secret: str) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret token")
        self.engine = engine
        self.processor = processor
        self.secret = secret
        self.app = web.Application(client_max_size=MAX_UPDATE_BYTES)
        self.app.router.add_post(WEBHOOK_PATH, self.receive)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def receive(self, request: web.Request) -> web.Response:
        """One delivery from Telegram."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.json_response({"ok": False, "description": "wrong secret token"}, status=403)
        try:
            payload = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"ok": False, "description": "body is not JSON"}, status=400)
        if not inbox.is_update(payload):
            return web.json_response(
                {"ok": False, "description": "not an Update: no integer update_id"}, status=400
            )
        try:
            fresh = await inbox.store(self.engine, [payload])
        except SQLAlchemyError:
            log.exception("webhook: could not store update %s", payload["update_id"])
            # Not 2xx: Telegram delivers it again later (SPEC §8, a database that is down).
            return web.json_response({"ok": False, "description": "try again"}, status=503)
        self.processor.submit(fresh)
        return web.json_response({"ok": True})

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
