"""Keeps the agents group's cards in step with the routing core (SPEC §5).

As a router stager, `CardSync` marks a conversation's card changed in the same transaction as the
change itself, so a crash cannot lose it. Its loop then sends one message at a time to the group
through the outbox (which paces the group at its ~20 a minute): a card or digest for conversations
not shown yet, else an edit, each rendered from the database as it is at that moment. The `card`
table is the truth; after a restart the loop carries on from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from agents_app import views
from agents_app.cards import (
    TEXT_LIMIT,
    DirtyCard,
    Edit,
    Forget,
    Post,
    is_waiting,
    next_send,
    render,
)
from handoff import store
from handoff.events import (
    Assigned,
    Closed,
    Event,
    HeldAfterHours,
    OfferEnded,
    OfferMade,
    OpenedToAnyone,
    Queued,
    Requeued,
)
from handoff.router import Router
from telegram_io.calls import Call, Priority, inline_keyboard, send_text
from telegram_io.outbox import Outbox
from telegram_io.retry import until_database_answers

log = logging.getLogger(__name__)
IDLE_SECONDS = 1.0
BACKOFF_SECONDS = (0.5, 1, 2, 5, 10, 30)
DIRTY_BATCH = 200
# Events that give a conversation a card; the others only change a card it already has.
SHOWN_FROM = (Queued, HeldAfterHours, OfferMade, Requeued, OpenedToAnyone)
CHANGES = (*SHOWN_FROM, OfferEnded, Assigned, Closed)


class CardSync:
    """A router stager (marks cards changed) and the loop that sends them (`run`)."""

    def __init__(self, router: Router, outbox: Outbox) -> None:
        self.router = router
        self.database = router.database
        self.outbox = outbox
        self._wake = asyncio.Event()
        self.sent = 0  # messages and edits sent to the group (for tests and benchmarks)

    @property
    def group_id(self) -> int | None:
        return self.router.config.bot.agents_group_id  # read each time: a reload may set it

    # ---- the stager -------------------------------------------------------------------------

    def __call__(self, conn: Connection, events: Sequence[Event]) -> Callable[[], None]:
        """Mark the cards these events change, in the routing change's transaction."""
        if self.group_id is None:
            return _nothing
        changed: dict[int, bool] = {}
        for event in events:
            if not isinstance(event, CHANGES) or event.conversation_id is None:
                continue
            if isinstance(event, Queued) and not event.first:
                continue  # a customer's new place in line: the card does not show it
            creates = isinstance(event, SHOWN_FROM)
            changed[event.conversation_id] = changed.get(event.conversation_id, False) or creates
        if not changed:
            return _nothing
        store.mark_cards(conn, changed, self.group_id, self.router.clock.now())
        self.outbox.tell_leader(conn)  # the leader keeps the cards, perhaps in another worker
        return self._wake.set

    def nudge(self) -> None:
        """Another worker changed cards: look now."""
        self._wake.set()

    # ---- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Send what the group should see until cancelled; database trouble is retried."""
        if self.group_id is None:
            log.warning("bot.agents_group_id is not set: no cards until a config sets it")
        recovered = False

        async def attempt() -> bool:
            nonlocal recovered
            self._wake.clear()
            if not recovered:
                await self._recover()
                recovered = True
            return await self.step()

        while True:
            busy = await until_database_answers(
                attempt, steps=BACKOFF_SECONDS, log=log, what="cards"
            )
            if not busy:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(IDLE_SECONDS):
                        await self._wake.wait()

    async def step(self) -> bool:
        """Do the next thing the group needs; False when every card is up to date."""
        if self.group_id is None:
            return False
        # Choose what to send only once it can go: the group's turn comes every few seconds, and
        # whatever changed meanwhile then goes out in the same message.
        pause = self.outbox.ready_in(self.group_id)
        if pause > 0:
            await asyncio.sleep(pause)
        await self._mark_opened()

        def dirty(conn: Connection) -> tuple[list[Any], list[views.CardView]]:
            rows = views.dirty_cards(conn, DIRTY_BATCH)
            return rows, views.card_views(conn, [r.conversation_id for r in rows])

        rows, shown = await self.database.read(dirty)
        if not rows:
            return False
        waiting = {v.conversation_id for v in shown if is_waiting(v)}
        versions = {r.conversation_id: r.version for r in rows}
        action = next_send(
            [DirtyCard(r.conversation_id, r.message_id, r.conversation_id in waiting) for r in rows]
        )
        match action:
            case Forget(conversation_ids=ids):
                await self._clean(ids, versions, None)
            case Post(conversation_ids=ids):
                by_id = {v.conversation_id: v for v in shown}
                await self._post([by_id[i] for i in ids], versions)
            case Edit(message_id=message_id):
                await self._edit(message_id, versions)
        return True

    async def _post(self, shown: Sequence[views.CardView], versions: dict[int, int]) -> None:
        """A card, or a digest, for conversations just read (they only ever wait to be shown)."""
        assert self.group_id is not None
        now = self.router.clock.now()
        text, buttons = render(shown, self.router.config, now)
        while len(text) > TEXT_LIMIT and len(shown) > 1:  # long names: fewer in this digest
            shown = shown[: len(shown) // 2]
            text, buttons = render(shown, self.router.config, now)
        ids = [v.conversation_id for v in shown]
        call = send_text(self.group_id, text, buttons, priority=Priority.CARD)
        message_id = await self._deliver(call, ids)
        await self._clean(ids, versions, message_id, now)

    async def _edit(self, message_id: int, versions: dict[int, int]) -> None:
        assert self.group_id is not None
        group_id = self.group_id

        def shown_in(conn: Connection) -> tuple[list[int], list[views.CardView]]:
            ids = views.conversations_of_card(conn, group_id, message_id)
            return ids, views.card_views(conn, ids)

        ids, shown = await self.database.read(shown_in)
        now = self.router.clock.now()
        text, buttons = render(shown, self.router.config, now)
        params = {
            "chat_id": self.group_id,
            "message_id": message_id,
            "text": text[:4096],
            "reply_markup": inline_keyboard(buttons),
        }
        call = Call(self.group_id, "editMessageText", params, Priority.CARD_EDIT)
        await self._deliver(call, ids)
        await self._clean(ids, versions, message_id, now)

    async def _deliver(self, call: Call, ids: Sequence[int]) -> int | None:
        """Send through the outbox, noting the call on the cards first (a restart finds it)."""
        (row_id,) = await self.outbox.put(call)
        await self._set(ids, outbox_id=row_id)
        state, message_id = await self.outbox.outcome(row_id)
        self.sent += 1
        if state != "sent":
            log.error("cards: %s for %s did not go through (%s)", call.method, list(ids), state)
        return message_id

    async def _clean(
        self,
        ids: Sequence[int],
        versions: dict[int, int],
        message_id: int | None,
        rendered_at: datetime | None = None,
    ) -> None:
        """Sent (or nothing to send): clean, unless the conversation changed again meanwhile."""
        await self.database.write(
            lambda conn: store.cards_shown(conn, versions, ids, message_id, rendered_at)
        )

    async def _mark_opened(self) -> None:
        """Cards shown while their chat was held for the team's opening say so; once the team
        has opened they are out of date, though the chat itself has not changed."""
        now = self.router.clock.now()
        ids = await self.database.read(lambda conn: views.cards_opened_since_shown(conn, now))
        if ids:
            await self.database.write(lambda conn: store.mark_cards_opened(conn, ids))

    async def _set(self, ids: Sequence[int], **values: object) -> None:
        await self.database.write(lambda conn: store.set_cards(conn, ids, **values))

    async def _recover(self) -> None:
        """A send in flight when the process stopped: wait for it, and keep its message id."""
        in_flight = await self.database.read(views.cards_in_flight)
        for row_id, ids in in_flight.items():
            _, message_id = await self.outbox.outcome(row_id)
            await self.database.write(
                lambda conn, ids=ids, message_id=message_id: store.card_message_recovered(
                    conn, ids, message_id
                )
            )

    async def settled(self) -> bool:
        """Every card shows its conversation as it is now (tests, the dashboard)."""
        return not await self.database.read(views.any_dirty_card)


def _nothing() -> None:
    return None
