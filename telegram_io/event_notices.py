"""Routing events → outbox: the base of what each side tells its people about routing changes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection

from handoff.config import Config
from handoff.events import Event
from handoff.router import Router
from telegram_io.calls import Call
from telegram_io.outbox import Outbox


class EventNotices:
    """A router stager: each event's messages (`calls_for`) go into the outbox in the routing
    change's transaction, so a crash between the two cannot lose them."""

    def __init__(self, router: Router, outbox: Outbox) -> None:
        self.router = router
        self.outbox = outbox

    @property
    def config(self) -> Config:
        return self.router.config

    def __call__(self, conn: Connection, events: Sequence[Event]) -> Callable[[], None]:
        calls: list[Call] = []
        for event in events:
            calls += self.calls_for(conn, event)
        # Of calls that replace one another (one coalesce key), the step's last says it all.
        last = {call.coalesce_key: call for call in calls if call.coalesce_key is not None}
        calls = [c for c in calls if c.coalesce_key is None or last[c.coalesce_key] is c]
        stored = self.outbox.stage(conn, calls)
        return lambda: self.outbox.staged(stored)

    def calls_for(self, conn: Connection, event: Event) -> list[Call]:
        """The messages one event calls for, read on the transaction's connection."""
        raise NotImplementedError
