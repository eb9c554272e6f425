"""The stored inbox (SPEC §8): every update is written down before anything acts on it.

`store` keeps updates by their `update_id` (a redelivered one is ignored) and says which are new;
`Processor` acts on them, one at a time per chat and chats side by side, and marks each done.
After a crash, `resume` acts on whatever was stored but not marked.

With several workers (`handoff.workers`, PostgreSQL) any of them may have stored a chat's
updates: whoever holds the chat's turn handles all of the chat's stored updates, in `update_id`
order, marking each done before the next; after letting go it looks again, so an update stored
by a worker that found the turn taken is never left behind. `run` looks every few seconds for
updates nobody is handling (their worker died).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import NetworkError, TimedOut

from handoff import log_context, unit_of_work
from handoff.db import ASYNCPG_CONNECTION_ERRORS, insert_ignoring_duplicates
from handoff.replay import writes_of_update
from handoff.store import Conflict
from handoff.tables import InboxUpdate
from handoff.workers import SingleProcess, Workers
from telegram_io.retry import backoff

log = logging.getLogger(__name__)

inbox = InboxUpdate.__table__
RawUpdate = dict[str, Any]
Handler = Callable[[RawUpdate], Awaitable[None]]
FLUSH_EVERY = 0.02  # seconds between writes that mark processed updates
# Worth trying again: the database busy or away, the pool exhausted, the network down, a routing
# step that lost its compare-and-set every time it ran (other workers busy with the same agents).
# (PTB's BadRequest and Forbidden subclass NetworkError, but are final.)
TRANSIENT_DATABASE = (
    Conflict,
    OperationalError,
    InterfaceError,
    PoolTimeout,
    OSError,
    *ASYNCPG_CONNECTION_ERRORS,
)
RETRIES = 8
RETRY_SECONDS = (0.1, 0.5, 1, 2, 5, 10, 30)
ORPHANS_EVERY = 2.0  # seconds between looks for updates no worker handles (several workers)
ORPHAN_AFTER = timedelta(seconds=1)  # younger ones are in the hands of the worker that stored them
BATCH = 20  # a chat's stored updates read at a time


async def store(engine: AsyncEngine, updates: Sequence[RawUpdate]) -> list[RawUpdate]:
    """Store updates (one transaction); return those not stored before, in order.

    An update is a redelivery when the same update, id and content, is stored already. Telegram
    may hand an old `update_id` out again (after a week without updates it picks the next one at
    random), so one stored with other content is a new update: it takes the old one's place, once
    that one is done with.
    """
    if not updates:
        return []
    ids = [u["update_id"] for u in updates]
    now = datetime.now(UTC)
    dialect = engine.dialect.name

    def write(conn: Connection) -> tuple[list[RawUpdate], list[RawUpdate]]:
        known = {
            row.update_id: row
            for row in conn.execute(
                select(inbox.c.update_id, inbox.c.payload, inbox.c.processed_at).where(
                    inbox.c.update_id.in_(ids)
                )
            )
        }
        fresh, reused = [], []
        for u in updates:
            before = known.get(u["update_id"])
            if before is None:
                fresh.append(u)
            elif json.loads(before.payload) != u and before.processed_at is not None:
                reused.append(u)
            elif json.loads(before.payload) != u:  # cannot be, short of a clash within minutes
                log.error("update id %s came again with other content while the first is "
                          "pending; the second is dropped", u["update_id"])  # fmt: skip
        rows = [
            {
                "update_id": u["update_id"],
                "payload": json.dumps(u),
                "chat_id": chat_of(u),
                "received_at": now,
            }
            for u in fresh
        ]
        if rows:
            conn.execute(insert_ignoring_duplicates(dialect, inbox), rows)
        for u in reused:
            conn.execute(
                update(inbox)
                .where(inbox.c.update_id == u["update_id"])
                .values(
                    payload=json.dumps(u), chat_id=chat_of(u), received_at=now, processed_at=None
                )
            )
        return fresh, reused

    fresh, reused = await unit_of_work.write(engine, write)
    new = {u["update_id"] for u in fresh + reused}
    return [u for u in updates if u["update_id"] in new]


def unprocessed(conn: Connection) -> tuple[int, datetime | None]:
    """How many stored updates wait to be processed, and when the oldest arrived (/metrics)."""
    count, oldest = conn.execute(
        select(func.count(), func.min(inbox.c.received_at)).where(inbox.c.processed_at.is_(None))
    ).one()
    return int(count), oldest


def chat_of(update: RawUpdate) -> int:
    """The chat an update belongs to (its order matters within it); else an id of its own."""
    found = chat_in(update)
    return found if found is not None else -int(update["update_id"]) - 10**15  # no chat has it


def chat_in(update: RawUpdate) -> int | None:
    """The chat of a message or member update, the presser's chat for a button; else None."""
    for kind in ("message", "edited_message", "my_chat_member", "chat_member"):
        body = update.get(kind)
        chat = body.get("chat") if isinstance(body, dict) else None
        if isinstance(chat, dict) and _is_int(chat.get("id")):
            return int(chat["id"])
    query = update.get("callback_query")
    sender = query.get("from") if isinstance(query, dict) else None
    if isinstance(sender, dict) and _is_int(sender.get("id")):
        return int(sender["id"])
    return None


def _transient(error: Exception) -> bool:
    return (
        isinstance(error, TRANSIENT_DATABASE)
        or (isinstance(error, DBAPIError) and error.connection_invalidated)  # the server went
        or type(error) in (NetworkError, TimedOut)
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


MAX_ID = 2**63 - 1  # Telegram's ids fit a signed 64-bit integer, as the database's columns do


def is_update(payload: Any) -> bool:
    """Has the one field every Update has, as Telegram types it (a positive 64-bit integer)."""
    return (
        isinstance(payload, dict)
        and _is_int(payload.get("update_id"))
        and 0 <= payload["update_id"] <= MAX_ID
    )


def _left_behind(conn: Connection) -> Sequence[int | None]:
    """Chats with updates stored a while ago and not yet done with."""
    before = datetime.now(UTC) - ORPHAN_AFTER
    return conn.scalars(
        select(inbox.c.chat_id)
        .where(inbox.c.processed_at.is_(None), inbox.c.received_at < before)
        .distinct()
    ).all()


class Processor:
    """Runs `handler` on each stored update: in order within a chat, chats concurrently."""

    def __init__(
        self, engine: AsyncEngine, handler: Handler, workers: Workers | None = None
    ) -> None:
        self.engine = engine
        self.handler = handler
        self.workers = workers if workers is not None else SingleProcess()
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._queued: dict[int, int] = {}  # updates per chat submitted and not yet finished
        self._tasks: set[asyncio.Task[None]] = set()
        self._done: list[int] = []
        self._flusher: asyncio.Task[None] | None = None
        self._draining: set[int] = set()  # chats whose turn this worker holds or asks for
        self._again: set[int] = set()  # chats that got updates while this worker drained them
        self.handled = 0  # updates this process has handled (/metrics)

    def submit(self, updates: Sequence[RawUpdate]) -> None:
        """Start acting on stored updates (returns at once)."""
        if self.workers.shared:
            for chat in dict.fromkeys(chat_of(raw) for raw in updates):
                self._start(self._drain(chat))
            return
        for raw in updates:
            self._start(self._process(raw))

    def _start(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resume(self) -> int:
        """Act on updates stored but never marked processed (after a crash); how many."""
        rows = await unit_of_work.read(
            self.engine,
            lambda conn: conn.execute(
                select(inbox.c.payload)
                .where(inbox.c.processed_at.is_(None))
                .order_by(inbox.c.update_id)
            ).all(),
        )
        self.submit([json.loads(row.payload) for row in rows])
        return len(rows)

    async def run(self) -> None:
        """With several workers: every few seconds, take up the chats whose stored updates
        nobody handles (a worker died holding them, or stored them and died); until cancelled."""
        if not self.workers.shared:
            return
        while True:
            await asyncio.sleep(ORPHANS_EVERY)
            try:
                chats = await unit_of_work.read(self.engine, _left_behind)
            except TRANSIENT_DATABASE as error:
                log.warning("inbox: cannot look for updates left behind: %s", error)
                continue
            for chat in chats:
                if chat is not None and chat not in self._draining:
                    self._start(self._drain(chat))

    async def drain(self) -> None:
        """Wait until every submitted update is processed and marked."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._flusher is not None:
            await self._flusher
        await self._flush()

    async def _process(self, raw: RawUpdate) -> None:
        chat = chat_of(raw)
        lock = self._chat_locks.setdefault(chat, asyncio.Lock())
        self._queued[chat] = self._queued.get(chat, 0) + 1
        async with lock:
            await self._handle(raw)
            self._done.append(raw["update_id"])
        self._queued[chat] -= 1
        if not self._queued[chat]:  # nobody waits behind: forget the chat
            del self._queued[chat], self._chat_locks[chat]
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def _drain(self, chat: int) -> None:
        """Several workers: handle the chat's stored updates if its turn is free; then look
        again, for updates stored meanwhile by a worker that found the turn taken."""
        if chat in self._draining:
            self._again.add(chat)
            return
        self._draining.add(chat)
        try:
            while True:
                self._again.discard(chat)
                async with self.workers.turn(chat) as mine:
                    if mine:
                        await self._handle_stored(chat)
                if not mine:  # its holder looks again after letting go, and finds them
                    return
                if chat not in self._again and not await self._waiting(chat, 1):
                    return
        except Exception as error:  # `run` takes the chat up again in a few seconds
            if _transient(error):  # the database went away, or the turn's connection
                log.warning("inbox: chat %s left for later: %s", chat, error)
            else:
                log.exception("inbox: chat %s left for later", chat)
        finally:
            self._draining.discard(chat)
            self._again.discard(chat)

    async def _handle_stored(self, chat: int) -> None:
        """Handle the chat's stored updates in order, each marked done before the next."""
        while waiting := await self._waiting(chat, BATCH):
            for update_id, payload in waiting:
                await self._handle(json.loads(payload))
                await self._mark_done([update_id])
            if len(waiting) < BATCH:  # all of them: `_drain` looks again after letting go
                return

    async def _waiting(self, chat: int, limit: int) -> list[Any]:
        return await unit_of_work.read(
            self.engine,
            lambda conn: conn.execute(
                select(inbox.c.update_id, inbox.c.payload)
                .where(inbox.c.chat_id == chat, inbox.c.processed_at.is_(None))
                .order_by(inbox.c.update_id)
                .limit(limit)
            ).all(),
        )

    async def _handle(self, raw: RawUpdate) -> None:
        """Act on one update. The database or the network failing is retried (the chat waits);
        any other error is logged and the update is done with: a bad one must not stop the rest."""
        log_context.bind(update_id=raw["update_id"], chat_id=chat_in(raw), conversation_id=None)
        for attempt in itertools.count():
            try:
                with writes_of_update(raw):
                    await self.handler(raw)
                self.handled += 1
                return
            except Exception as error:
                if not _transient(error):
                    log.exception("update %s failed", raw["update_id"])
                    return
                if attempt + 1 >= RETRIES:
                    log.error(
                        "update %s failed %s times, given up: %s", raw["update_id"], RETRIES, error
                    )
                    return
                log.warning("update %s: %s; retrying", raw["update_id"], type(error).__name__)
                await asyncio.sleep(backoff(attempt, RETRY_SECONDS))

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_EVERY)
        await self._flush()

    async def _flush(self) -> None:
        if not self._done:
            return
        done, self._done = self._done, []
        await self._mark_done(done)

    async def _mark_done(self, update_ids: list[int]) -> None:
        marked = (
            update(inbox)
            .where(inbox.c.update_id.in_(update_ids))
            .values(processed_at=datetime.now(UTC))
        )
        await unit_of_work.write(self.engine, lambda conn: conn.execute(marked))
