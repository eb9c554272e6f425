"""Customers' statuses (the customer and their open conversation) kept in memory between routing
steps, so a customer's message does not read them again (issue 13: the read per message was the
bot's largest query).

Valid for one process that alone writes the database (SQLite): every routing step may change any
customer's status, so each step forgets them all, and a status read while a step ran is not kept.
Writes outside the routing steps (transcripts, cards, snippets) touch nothing a status holds.
With several workers another process's steps are not seen here: `enabled` is False there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Status = tuple[Any | None, Any | None]  # the customer, their open conversation
KEPT_AT_MOST = 100_000  # customers; past it the memory starts afresh


class CustomerStatuses:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._kept: dict[int, Status] = {}
        self._steps = 0  # routing steps ended: a read across the end of one is not kept

    async def get(self, customer_id: int, read: Callable[[], Awaitable[Status]]) -> Status:
        """The customer's status: as kept, else `read` (and kept if no step ran meanwhile)."""
        if not self.enabled:
            return await read()
        found = self._kept.get(customer_id)
        if found is not None:
            return found
        steps = self._steps
        status = await read()
        if steps == self._steps:
            if len(self._kept) >= KEPT_AT_MOST:
                self._kept.clear()
            self._kept[customer_id] = status
        return status

    def forget(self) -> None:
        """A routing step has ended: what is kept may be out of date."""
        self._steps += 1
        self._kept.clear()
