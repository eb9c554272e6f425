"""How long to wait before trying again: one backoff rule and Telegram's `retry_after`, shared by
polling, the inbox, the outbox and startup; and one retry of database trouble, shared by the
loops that must outlive a database going away (the outbox, the agents group's cards)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from telegram.error import RetryAfter

from handoff.db import DATABASE_AWAY

T = TypeVar("T")


def backoff(attempt: int, steps: Sequence[float]) -> float:
    """Seconds to wait after failure number `attempt` (0 for the first): the steps, then the last."""
    return steps[min(attempt, len(steps) - 1)]


def retry_after_seconds(error: RetryAfter) -> float:
    """Telegram's `retry_after` in seconds (PTB gives an int now, a timedelta in a later version)."""
    seconds = error.retry_after
    return seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)


async def until_database_answers(
    attempt: Callable[[], Awaitable[T]],
    *,
    steps: Sequence[float],
    log: logging.Logger,
    what: str,
    pause: Callable[[float], Awaitable[object]] | None = None,
) -> T:
    """`attempt()`'s result, calling it again for as long as the database fails: on each
    `DATABASE_AWAY` error a warning (`<what>: database trouble (…); retrying in Ns`) to
    `log`, then `pause(backoff(failures, steps))` (`asyncio.sleep` unless given), failures counted
    from 0 on each call. Any other error (and cancellation) goes to the caller."""
    failures = 0
    while True:
        try:
            return await attempt()
        except DATABASE_AWAY as error:
            seconds = backoff(failures, steps)
            failures += 1
            log.warning("%s: database trouble (%s); retrying in %ss", what, error, seconds)
            await (pause or asyncio.sleep)(seconds)
