"""Telegram's flood limits as token buckets, with an injectable clock.

Telegram's FAQ: "avoid sending more than one message per second" in a chat (short bursts pass),
"no more than 20 messages per minute" to a group, and "about 30 messages per second" overall.
Going past them answers 429 with `retry_after`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(slots=True)
class LimitSettings:
    """Rates of the three limits; `enabled=False` lets everything through."""

    enabled: bool = True
    per_chat_per_s: float = 1.0
    per_chat_burst: int = 3
    per_group_per_min: float = 20.0
    global_per_s: float = 30.0

    def as_dict(self) -> dict[str, float | bool]:
        """The settings as the control API shows them."""
        return asdict(self)


class _Bucket:
    """A token bucket: `capacity` tokens, refilled at `rate` per second."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now

    def wait_for_token(self, now: float) -> float:
        """Seconds until a token is free (0 when one is free now), after refilling."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate > 0 else math.inf


class RateLimiter:
    """Decides whether one more message to a chat may go now; how long to wait if not."""

    def __init__(
        self, settings: LimitSettings | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        self.settings = settings or LimitSettings()
        self.refused = 0  # messages answered 429 since the server started (limits broken)
        self._reset_buckets()

    def configure(self, settings: LimitSettings) -> None:
        """Replace the rates; buckets start full under the new ones."""
        self.settings = settings
        self._reset_buckets()

    def _reset_buckets(self) -> None:
        self._chats: dict[int, _Bucket] = {}
        self._groups: dict[int, _Bucket] = {}
        s = self.settings
        self._global = _Bucket(max(1.0, s.global_per_s), s.global_per_s, self.clock())

    def retry_after(self, chat_id: int, is_group: bool) -> int:
        """0 and a token taken when the message may go; else whole seconds to wait."""
        s = self.settings
        if not s.enabled:
            return 0
        now = self.clock()
        buckets = [
            self._global,
            self._bucket(self._chats, chat_id, s.per_chat_burst, s.per_chat_per_s, now),
        ]
        if is_group:
            per_min = s.per_group_per_min
            buckets.append(self._bucket(self._groups, chat_id, per_min, per_min / 60, now))
        wait = max(bucket.wait_for_token(now) for bucket in buckets)
        if wait > 0:
            self.refused += 1
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1
        return 0

    def _bucket(
        self, table: dict[int, _Bucket], key: int, capacity: float, rate: float, now: float
    ) -> _Bucket:
        bucket = table.get(key)
        if bucket is None:
            bucket = table[key] = _Bucket(max(1.0, capacity), rate, now)
        return bucket
