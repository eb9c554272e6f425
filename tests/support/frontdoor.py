"""The whole bot, started in this event loop against a sandbox server, on a fresh SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from frontdoor.bootstrap import Frontdoor
from handoff.clock import Clock, ManualClock
from handoff.config import Config
from handoff.config_loader import load_config
from tests.sandbox_support import BOT_TOKEN

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "frontdoor.yaml"
STOP_WITHIN = 30.0  # seconds: a stop that takes longer fails the test, naming what still runs
# Tuesday 24 Nov 2026, 10:00 in Jakarta: every day team is open, the morning shift is on.
TUESDAY_10_WIB = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def example_config(**bot: Any) -> Config:
    """The example company, with fast pacing so tests do not wait on Telegram's 1 msg/s."""
    data = load_config(EXAMPLE).model_dump()
    data["bot"] |= {
        "pacing": {"per_chat_per_s": 50, "per_chat_burst": 20},
        "poll_timeout": 1,
        **bot,
    }
    return Config.model_validate(data)


@contextlib.asynccontextmanager
async def running_frontdoor(
    sandbox_url: str,
    directory: Path,
    *,
    config: Config | None = None,
    start: datetime = TUESDAY_10_WIB,
    clock: Clock | None = None,
    webhook_secret: str | None = None,
    config_path: Path | None = None,
    dashboard_token: str | None = None,
) -> AsyncIterator[Frontdoor]:
    """Start Frontdoor (polling, or webhook when a secret is given) and stop it afterwards; its
    clock stands still at `start` unless another `clock` is given."""
    bot = Frontdoor(
        config or example_config(),
        BOT_TOKEN,
        api_url=sandbox_url,
        database_url=f"sqlite+aiosqlite:///{directory / 'frontdoor.db'}",
        clock=clock or ManualClock(start),
        webhook_secret=webhook_secret,
        web_port=0,
        config_path=str(config_path) if config_path else None,
        dashboard_token=dashboard_token,
    )
    await bot.start()
    try:
        yield bot
    finally:
        await stopped(bot)


async def stopped(bot: Frontdoor) -> None:
    """Stop the bot; if that hangs, fail with the stacks of every task still running, so a
    rare hang in teardown is a readable failure instead of a stuck test run."""
    stopping = asyncio.create_task(bot.stop(), name="frontdoor-stop")
    done, _ = await asyncio.wait({stopping}, timeout=STOP_WITHIN)
    if done:
        stopping.result()
        return
    report = io.StringIO()
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            task.print_stack(limit=8, file=report)
    stopping.cancel()
    raise AssertionError(
        f"Frontdoor.stop() still running after {STOP_WITHIN} s:\n{report.getvalue()}"
    )
