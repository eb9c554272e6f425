"""Time, injected: production reads the system clock, tests and `--clock` move a manual one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; for tests and simulations."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


class TickingClock:
    """A clock that reads `start` at the wall-clock moment `set_at` (default: now) and runs on at
    real speed (`--clock`). Workers of one bot share `set_at`, so their clocks agree."""

    def __init__(self, start: datetime, set_at: datetime | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("--clock needs a timezone, e.g. 2026-11-28T22:00+07:00")
        self._offset = start.astimezone(UTC) - (set_at or datetime.now(UTC))

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset
