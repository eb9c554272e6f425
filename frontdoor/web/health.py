"""Health on the bot's web server (SPEC §9): /healthz and /readyz.

/healthz answers while the process serves (liveness, no I/O). /readyz asks the database for
`SELECT 1` and Telegram for getMe, each within a short timeout, and says whether this worker leads
(`handoff.workers`); a successful getMe stands for a
few seconds, so a scraper polling /readyz cannot flood Telegram. Neither answer ever carries the
bot token or a password, even when an error message quotes a URL. (/metrics is
frontdoor/web/metrics.py.)
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from telegram import Bot
from telegram.error import NetworkError, TelegramError

from frontdoor.web.server import FRONTDOOR
from handoff.db import ping
from handoff.unit_of_work import Reader

OK = "ok"
DATABASE_TIMEOUT = 2.0  # seconds
TELEGRAM_TIMEOUT = 3.0
TELEGRAM_OK_FOR = 5.0  # seconds a successful getMe stands for the next /readyz
TELEGRAM_CHECK: web.AppKey[TelegramCheck] = web.AppKey("telegram_check")


def add_routes(app: web.Application) -> None:
    app[TELEGRAM_CHECK] = TelegramCheck()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process serves requests."""
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 when the database and Telegram both answer, else 503 naming each check."""
    frontdoor = request.app[FRONTDOOR]
    database, telegram = await asyncio.gather(
        check_database(frontdoor.database),
        request.app[TELEGRAM_CHECK].run(frontdoor.application.bot),
    )
    secrets = (
        frontdoor.token,
        frontdoor.token.partition(":")[2],  # the token's secret half, should the rest be encoded
        frontdoor.database.password,
        frontdoor.webhook_secret,
        frontdoor.dashboard_token,
    )
    checks = {"database": redact(database, secrets), "telegram": redact(telegram, secrets)}
    ready = database == OK and telegram == OK
    # Whether this worker leads (sends, keeps the cards): one of several does; a worker that
    # does not is as ready to take updates as the one that does.
    answer = {"ok": ready, "leads": frontdoor.workers.leading, "checks": checks}
    return web.json_response(answer, status=200 if ready else 503)


async def check_database(database: Reader) -> str:
    """OK, or why the database did not answer `SELECT 1` within DATABASE_TIMEOUT. A ping that
    has not answered by then is left to finish on its own: on SQLite it runs on a thread, which
    nothing can interrupt, and the answer must not wait for it."""
    pinged = asyncio.ensure_future(database.read(ping))
    done, _ = await asyncio.wait({pinged}, timeout=DATABASE_TIMEOUT)
    if not done:
        pinged.add_done_callback(_forget)
        return f"unreachable: no answer within {DATABASE_TIMEOUT:g} s"
    try:
        pinged.result()
    except DBAPIError as error:
        return f"unreachable: {error.orig}"  # the driver's words, without SQLAlchemy's SQL
    except (SQLAlchemyError, OSError) as error:
        return f"unreachable: {str(error) or type(error).__name__}"
    return OK


def _forget(task: asyncio.Future[None]) -> None:
    """A late ping's outcome, taken so asyncio does not warn it was never retrieved."""
    if not task.cancelled():
        task.exception()


class TelegramCheck:
    """getMe within a timeout; a success stands for TELEGRAM_OK_FOR seconds."""

    def __init__(self) -> None:
        self._ok_until = 0.0  # time.monotonic() until which the last success stands

    async def run(self, bot: Bot) -> str:
        """OK, or why Telegram (the Bot API server the bot uses) did not answer getMe."""
        if time.monotonic() < self._ok_until:
            return OK
        try:
            async with asyncio.timeout(TELEGRAM_TIMEOUT):
                await bot.get_me()
        except TimeoutError:
            return f"unreachable: no answer within {TELEGRAM_TIMEOUT:g} s"
        except NetworkError as error:  # 5xx, timeouts, no connection
            return f"unreachable: {error}"
        except TelegramError as error:  # a refusal: a revoked token, say
            return f"refused: {error}"
        self._ok_until = time.monotonic() + TELEGRAM_OK_FOR
        return OK


def redact(message: str, secrets: tuple[str | None, ...]) -> str:
    """The message with every secret in it blotted out (PTB's errors may quote the call's URL,
    which holds the token; a database error may quote its URL)."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message
