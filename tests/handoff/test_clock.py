"""`--clock`'s ticking clock: several workers' clocks agree when they share the moment it was set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff.clock import TickingClock

TUESDAY_10_WIB = datetime.fromisoformat("2026-11-24T10:00:00+07:00")


def test_clocks_set_at_one_moment_agree_though_made_seconds_apart() -> None:
    set_at = datetime.now(UTC) - timedelta(seconds=30)  # the first worker started 30 s ago
    first = TickingClock(TUESDAY_10_WIB, set_at)
    later = TickingClock(TUESDAY_10_WIB, set_at)
    assert abs((later.now() - first.now()).total_seconds()) < 0.5
    assert 29 < (first.now() - TUESDAY_10_WIB).total_seconds() < 31


def test_a_clock_without_a_moment_set_starts_now() -> None:
    clock = TickingClock(TUESDAY_10_WIB)
    assert abs((clock.now() - TUESDAY_10_WIB).total_seconds()) < 0.5


def test_a_start_without_its_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a timezone"):
        TickingClock(datetime(2026, 11, 24, 10))
