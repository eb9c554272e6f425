"""Client-side pacing under Telegram's flood limits, so the outbox never earns a 429 (SPEC §8).

Telegram's FAQ: about one message a second to one chat (short bursts pass), 20 a minute to a group,
about 30 a second overall. Each chat's limit is kept as the earliest moment its next message may go
(a virtual schedule: one interval per message, a burst allowance on top); the overall one the
same way, evenly spaced with a margin, no burst beyond what falls due within one `TICK`. A 429
from Telegram pauses that one chat for `retry_after`, nothing else. Pure: the caller passes the
time in.
"""

from __future__ import annotations

from handoff.config import Pacing

# Telegram counts a message when it arrives, a little after it leaves here, and not always equally
# late: every gap between messages to one chat gets this much more, so arrivals never bunch over
# the limit.
JITTER_MARGIN = 0.05  # seconds
# The overall limit is kept evenly at this share of it: arrivals bunched by up to 0.15 s of jitter
# still make at most (1 + 0.15) * 0.85 = 98 % of it in any second.
OVERALL_SHARE = 0.85
# The shortest pause a sender takes between two turns. The overall limit lets through back to back
# what falls due within one tick (none more at Telegram's ~30 a second; at a limit of thousands a
# second, one message per tick would cap it far below).
TICK = 0.001  # seconds


class _Lane:
    """One limit: one message per `interval` seconds, `burst` of them back to back after a quiet
    spell."""

    __slots__ = ("burst", "interval", "next_free")

    def __init__(self, interval: float, burst: int) -> None:
        self.interval = interval
        self.burst = burst
        self.next_free = float("-inf")

    def wait(self, now: float) -> float:
        earliest = self.next_free - (self.burst - 1) * self.interval
        return max(0.0, earliest - now)

    def take(self, now: float) -> None:
        # After a quiet spell the schedule restarts at `now`; the burst allowance lives in `wait`
        # alone (granting it here too let 2 * burst - 1 messages through back to back).
        self.next_free = max(self.next_free, now) + self.interval


class Pacer:
    """Says how long one more message to a chat must wait, and books it when it goes."""

    def __init__(self, limits: Pacing | None = None) -> None:
        self.limits = limits or Pacing()
        self._chats: dict[int, _Lane] = {}
        self._paused_until: dict[int, float] = {}
        # Evenly spaced, no burst beyond one tick's worth: thirty sent at once and thirty more a
        # second later arrive bunched by the network's jitter, and Telegram answered 429 to 3-4
        # in 1,160.
        overall = 1.0 / (self.limits.global_per_s * OVERALL_SHARE)
        self._overall = _Lane(overall, max(1, int(TICK / overall)) if overall > 0 else 1)

    def _lane(self, chat_id: int) -> _Lane:
        lane = self._chats.get(chat_id)
        if lane is None:
            if is_group(chat_id):
                lane = _Lane(60.0 / self.limits.per_group_per_min + JITTER_MARGIN, 1)
            else:
                interval = 1.0 / self.limits.per_chat_per_s + JITTER_MARGIN
                lane = _Lane(interval, self.limits.per_chat_burst)
            self._chats[chat_id] = lane
        return lane

    def wait(self, chat_id: int, now: float) -> float:
        """Seconds until a message to `chat_id` may go (0: now)."""
        paused = self._paused_until.get(chat_id, 0.0) - now
        return max(paused, self._lane(chat_id).wait(now), self._overall.wait(now))

    def overall_wait(self, now: float) -> float:
        """Seconds until any message may go, whatever its chat (0: now)."""
        return self._overall.wait(now)

    def interval(self, chat_id: int) -> float:
        """Seconds between messages to this chat once its burst is spent."""
        return self._lane(chat_id).interval

    def take(self, chat_id: int, now: float) -> None:
        """Book one message to `chat_id` at `now` (call only when `wait` said 0)."""
        self._lane(chat_id).take(now)
        self._overall.take(now)

    def pause(self, chat_id: int, seconds: float, now: float) -> None:
        """Telegram said `retry_after`: nothing more to this chat until then."""
        self._paused_until[chat_id] = max(self._paused_until.get(chat_id, 0.0), now + seconds)


def is_group(chat_id: int) -> bool:
    """Groups and supergroups have negative ids in the Bot API; users positive ones."""
    return chat_id < 0
