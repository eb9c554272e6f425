"""Spam throttling (SPEC-level product rule): a customer over the configured rate is warned once,
and their further messages wait their turn instead of being dropped. Pure: time is passed in."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from handoff.config import Spam


@dataclass(frozen=True)
class ThrottleVerdict:
    wait: float  # seconds this message must wait before it is handled (0: now)
    warn: bool  # send the one polite warning of this burst


class Throttle:
    """A sliding window of each customer's recent messages."""

    def __init__(self, spam: Spam) -> None:
        self.spam = spam
        self._seen: dict[int, deque[float]] = {}
        self._warned: set[int] = set()

    def check(self, customer_id: int, now: float) -> ThrottleVerdict:
        """Book one message at `now` (or at the moment it may be handled) and say how to treat it."""
        window = self._seen.setdefault(customer_id, deque())
        while window and window[0] <= now - self.spam.per:
            window.popleft()
        if len(window) < self.spam.messages:
            self._warned.discard(customer_id)
            window.append(now)
            return ThrottleVerdict(0.0, False)
        # Handled once the oldest of the last `messages` leaves the window.
        at = window[-self.spam.messages] + self.spam.per
        window.append(at)
        warn = customer_id not in self._warned
        self._warned.add(customer_id)
        return ThrottleVerdict(at - now, warn)

    def forget_idle(self, now: float) -> None:
        """Drop customers with nothing in their window (keeps memory flat over a long day)."""
        for customer_id in [
            c for c, w in self._seen.items() if not w or w[-1] <= now - self.spam.per
        ]:
            del self._seen[customer_id]
            self._warned.discard(customer_id)
