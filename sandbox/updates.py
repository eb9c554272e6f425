"""The bot's queue of unconfirmed updates, with Telegram's confirmation and filter rules."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

# getUpdates/setWebhook: "Specify an empty list to receive all update types except chat_member,
# message_reaction, and message_reaction_count (default)."
OPT_IN_ONLY = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class UpdateQueue:
    """Updates wait here until getUpdates confirms them or a webhook accepts them."""

    def __init__(self) -> None:
        self._pending: deque[dict[str, Any]] = deque()
        self._next_id = 1
        self._waiters: list[tuple[asyncio.Future[None], bool]] = []  # (waiter, long poll?)
        self.allowed: frozenset[str] | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def number_from(self, update_id: int) -> None:
        """The next update's id is at least `update_id`."""
        self._next_id = max(self._next_id, update_id)

    def set_allowed(self, allowed: list[str] | None) -> None:
        """Remember `allowed_updates`; absent keeps the previous setting, as Telegram does."""
        if allowed is not None:
            self.allowed = frozenset(allowed) if allowed else None

    def accepts(self, kind: str) -> bool:
        """Whether an update of this kind is wanted (the filter applies when it is created)."""
        if self.allowed is None:
            return kind not in OPT_IN_ONLY
        return kind in self.allowed

    def put(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue `{update_id, kind: payload}`; the update_id, or None when filtered out."""
        if not self.accepts(kind):
            return None
        update_id = self._next_id
        self._next_id += 1
        self._pending.append({"update_id": update_id, kind: payload})
        waiters, self._waiters = self._waiters, []
        self._wake([waiter for waiter, _ in waiters])
        return update_id

    def confirm(self, offset: int) -> None:
        """Forget updates the offset confirms (getUpdates: positive id, or -N = keep last N)."""
        pending = self._pending
        if offset > 0:
            while pending and pending[0]["update_id"] < offset:
                pending.popleft()
        elif offset < 0:
            while len(pending) > -offset:
                pending.popleft()

    def peek(self, limit: int = 100) -> list[dict[str, Any]]:
        """The oldest `limit` unconfirmed updates, left in the queue until confirmed."""
        if limit >= len(self._pending):
            return list(self._pending)
        return [self._pending[i] for i in range(limit)]

    def remove(self, update_id: int) -> None:
        """Drop an update a webhook accepted."""
        for index, update in enumerate(self._pending):
            if update["update_id"] == update_id:
                del self._pending[index]
                return

    def drop_all(self) -> None:
        """Forget every pending update (`drop_pending_updates`)."""
        self._pending.clear()

    def _wake(self, waiters: list[asyncio.Future[None]]) -> None:
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def end_long_polls(self) -> None:
        """Let every waiting getUpdates return now (the server stops); webhook delivery waits on."""
        self._wake([waiter for waiter, long_poll in self._waiters if long_poll])

    async def wait(self, timeout: float, long_poll: bool = False) -> None:
        """Return when an update is queued or `timeout` seconds pass (or, for a `long_poll`,
        when the server stops)."""
        if self._pending or timeout <= 0:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (waiter, long_poll)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)
