"""/healthz and /readyz of the running bot, against the sandbox Bot API server (/metrics is
tests/frontdoor/test_metrics.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from frontdoor.bootstrap import Frontdoor
from frontdoor.web import health
from handoff import unit_of_work
from handoff.db import create_engine
from handoff.unit_of_work import Database
from tests.sandbox_support import BOT_TOKEN, SandboxClient
from tests.support.frontdoor import running_frontdoor


async def get(bot: Frontdoor, path: str) -> tuple[int, str, Any]:
    """(status, Content-Type, body: JSON when it is JSON, else text) of a GET to the bot."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{bot.web.port}{path}") as response,
    ):
        body = await (
            response.json() if response.content_type == "application/json" else response.text()
        )
        return response.status, response.headers["Content-Type"], body


@contextlib.asynccontextmanager
async def database_unreachable(bot: Frontdoor, directory: Path) -> AsyncIterator[None]:
    """The web server's database swapped for one whose file cannot be opened, then put back
    (the rest of the bot keeps its own reference to the working one)."""
    working = bot.database
    broken = create_engine(f"sqlite+aiosqlite:///{directory / 'no-such-dir' / 'x.db'}")
    bot.database = Database(broken)
    try:
        yield
    finally:
        await unit_of_work.dispose(broken)
        bot.database = working


# ---- the running bot ------------------------------------------------------------------------


async def test_healthz_and_readyz_answer_ok_while_the_database_and_telegram_answer(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        assert await get(bot, "/healthz") == (200, "application/json; charset=utf-8", {"ok": True})
        status, _, body = await get(bot, "/readyz")
        checks = {"database": "ok", "telegram": "ok"}
        assert (status, body) == (200, {"ok": True, "leads": True, "checks": checks})


async def test_readyz_names_telegram_while_it_fails_get_me_and_recovers_after(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        # The error quotes the token, as a URL in an error might: the answer must not.
        await sandbox.fault("getMe", 502, f"Bad Gateway at /bot{BOT_TOKEN}/getMe")

        status, _, body = await get(bot, "/readyz")

        assert status == 503
        assert body["ok"] is False
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["telegram"].startswith("unreachable: Bad Gateway")
        assert BOT_TOKEN not in str(body) and BOT_TOKEN.split(":")[1] not in str(body)
        status, _, body = await get(bot, "/readyz")
        assert (status, body["checks"]["telegram"]) == (200, "ok")


async def test_readyz_and_metrics_name_the_database_while_it_cannot_be_opened(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        async with database_unreachable(bot, tmp_path):
            status, _, body = await get(bot, "/readyz")
            assert status == 503 and body["ok"] is False
            assert body["checks"]["database"] == "unreachable: unable to open database file"
            assert body["checks"]["telegram"] == "ok"
            assert (await get(bot, "/metrics"))[0] == 503
            assert (await get(bot, "/healthz"))[0] == 200

        assert (await get(bot, "/readyz"))[0] == 200
        assert (await get(bot, "/metrics"))[0] == 200


class StuckDatabase:
    """A database whose read does not stop when cancelled, as a query on SQLite's thread."""

    def __init__(self) -> None:
        self.finished = asyncio.Event()

    async def read(self, query: Any) -> Any:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            await asyncio.sleep(0.3)
            raise
        finally:
            self.finished.set()


async def test_readyz_says_the_database_is_unreachable_within_its_timeout_even_if_the_read_hangs(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(health, "DATABASE_TIMEOUT", 0.05)
    stuck = StuckDatabase()
    started = time.monotonic()
    assert await health.check_database(stuck) == "unreachable: no answer within 0.05 s"
    assert time.monotonic() - started < 0.25  # not held up by the read
    assert not stuck.finished.is_set()  # left to finish on its own
