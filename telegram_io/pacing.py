"""Client-side pacing under Telegram's flood limits, so the outbox never earns a 429 (SPEC §8).

Telegram's FAQ: about one message a second to one chat (short bursts pass), 20 a minute to a group,
about 30 a second overall. Each chat's limit is kept as the earliest moment its next message may go
(a virtual schedule: one interval per message, a burst allowance on top); the overall one as the
moments of the last 30 messages. A 429 from Telegram pauses that one chat for `retry_after`, nothing
else. Pure: the caller passes the time in.
"""

from __future__ import annotations

from collections import deque

from handoff.config import Pacing

# Telegram counts a message when it arrives, a little after it leaves here, and not always equally
# late: every gap between messages gets this much more, so arrivals never bunch over the limit.
JITTER_MARGIN = 0.05  # seconds


class _Lane:
    """One limit: `rate` messages a second, `burst` of them back to back after a quiet spell."""

    __slots__ = ("burst", "interval", "next_free")

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate + JITTER_MARGIN
        self.burst = burst
        self.next_free = float("-inf")

    def wait(self, now: float) -> float:
        earliest = self.next_free - (self.burst - 1) * self.interval
        return max(0.0, earliest - now)

    def take(self, now: float) -> None:
        # After a quiet spell the schedule restarts at `now`; the burst allowance lives in `wait`
        # alone (granting it here too let 2 * burst - 1 messages through back to back).
        self.next_free = max(self.next_free, now) + self.interval


class _Window:
    """One limit taken literally: at most `count` messages in any `seconds`, all at once if need be.

    The overall limit is kept so rather than as a `_Lane`: a lane bursting `count` on top of a rate
    of `count` a second lets nearly twice that through in the first second.
    """

    __slots__ = ("seconds", "sent")

    def __init__(self, count: int, seconds: float) -> None:
        self.seconds = seconds
        self.sent: deque[float] = deque(maxlen=count)  # the last `count` send times

    def wait(self, now: float) -> float:
        if len(self.sent) < (self.sent.maxlen or 0):
            return 0.0
        return max(0.0, self.sent[0] + self.seconds - now)

    def take(self, now: float) -> None:
        self.sent.append(now)


class Pacer:
    """Says how long one more message to a chat must wait, and books it when it goes."""

    def __init__(self, limits: Pacing | None = None) -> None:
        self.limits = limits or Pacing()
        self._chats: dict[int, _Lane] = {}
        self._paused_until: dict[int, float] = {}
        # Whole messages per whole second (or one per 1/rate seconds below one a second).
        per_s = self.limits.global_per_s
        count = max(1, int(per_s))
        self._global = _Window(count, max(1.0, count / per_s) + JITTER_MARGIN)

    def _lane(self, chat_id: int) -> _Lane:
        lane = self._chats.get(chat_id)
        if lane is None:
            if is_group(chat_id):
                lane = _Lane(self.limits.per_group_per_min / 60.0, 1)
            else:
                lane = _Lane(self.limits.per_chat_per_s, self.limits.per_chat_burst)
            self._chats[chat_id] = lane
        return lane

    def wait(self, chat_id: int, now: float) -> float:
        """Seconds until a message to `chat_id` may go (0: now)."""
        paused = self._paused_until.get(chat_id, 0.0) - now
        return max(paused, self._lane(chat_id).wait(now), self._global.wait(now))

    def interval(self, chat_id: int) -> float:
        """Seconds between messages to this chat once its burst is spent."""
        return self._lane(chat_id).interval

    def take(self, chat_id: int, now: float) -> None:
        """Book one message to `chat_id` at `now` (call only when `wait` said 0)."""
        self._lane(chat_id).take(now)
        self._global.take(now)

    def pause(self, chat_id: int, seconds: float, now: float) -> None:
        """Telegram said `retry_after`: nothing more to this chat until then."""
        self._paused_until[chat_id] = max(self._paused_until.get(chat_id, 0.0), now + seconds)


def is_group(chat_id: int) -> bool:
    """Groups and supergroups have negative ids in the Bot API; users positive ones."""
    return chat_id < 0
