"""How long to wait before trying again: one backoff rule and Telegram's `retry_after`, shared by
polling, the inbox, the outbox and startup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from telegram.error import RetryAfter


def backoff(attempt: int, steps: Sequence[float]) -> float:
    """Seconds to wait after failure number `attempt` (0 for the first): the steps, then the last."""
    return steps[min(attempt, len(steps) - 1)]


def retry_after_seconds(error: RetryAfter) -> float:
    """Telegram's `retry_after` in seconds (PTB gives an int now, a timedelta in a later version)."""
    seconds = error.retry_after
    return seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
