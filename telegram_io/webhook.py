"""Webhook intake (SPEC §8, §9): check Telegram's secret-token header, store the update, answer 200.

Telegram retries a delivery until it gets a 2xx, so an update is acknowledged only once it is in
the inbox; a duplicate delivery is stored once and acted on once.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff.db import DATABASE_AWAY
from telegram_io import inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"


@dataclass(frozen=True)
class WebhookIntake:
    """Where deliveries go: the inbox's database, the secret they must carry, the processor."""

    engine: AsyncEngine
    secret: str
    submit: Callable[[Sequence[inbox.RawUpdate]], None]

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(WEBHOOK_PATH, self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        """One delivery from Telegram: check the secret, store the update, hand it on."""
        secret = self.secret
        given = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return web.json_response({"ok": False, "description": "wrong secret token"}, status=403)
        try:
            payload = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"ok": False, "description": "body is not JSON"}, status=400)
        if not inbox.is_update(payload):
            return web.json_response(
                {"ok": False, "description": "not an Update: no update_id from 0 to 2^63-1"},
                status=400,
            )
        try:
            fresh = await inbox.store(self.engine, [payload])
        except DATABASE_AWAY as error:
            log.warning("webhook: could not store update %s: %s", payload["update_id"], error)
            # Not 2xx: Telegram delivers it again later (SPEC §8, a database that is down).
            return web.json_response({"ok": False, "description": "try again"}, status=503)
        self.submit(fresh)
        return web.json_response({"ok": True})
