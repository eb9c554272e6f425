"""One routing step = one transaction on one connection, run in one hop off the event loop.

The routing core is synchronous SQLAlchemy Core over a `Connection`; this module runs it.

- SQLite: the whole step runs on a thread of its own with the standard `sqlite3` driver. aiosqlite
  hops to its thread and back for every statement (~0.2–0.5 ms each on a busy machine), which
  made a decision of 15–30 statements cost 15–50 ms; here a step costs one hop. Every write of
  the process (routing steps, the inbox, the outbox, group commits) is such a step, and they take
  turns on `handoff.db.writer_lock`.
- PostgreSQL: the step runs in one asyncpg transaction through `run_sync` (each statement is a
  round trip to the server anyway).
- SQLite in memory (`handoff.db.memory_url`: the simulation, fast tests): the step runs inline on
  the caller's thread, on one connection kept for the database's life; no hop, no file, no log.
  Only for one process that keeps nothing: a step blocks the event loop while it runs.

Context variables (the update being handled, see `telegram_io.outbox`) travel with the step;
`current_task` tells the step's code which task it runs for.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

from handoff.config import Config
from handoff.db import WRITES, configure_sqlite, is_memory, is_sqlite, writer_lock
from handoff.events import Event

log = logging.getLogger(__name__)
T = TypeVar("T")
CHECKPOINT_EVERY = 1.0  # seconds
Note = tuple[int, str, str]  # a trail entry: conversation, kind, reason
Step = Callable[[Connection], T]

_caller: contextvars.ContextVar[asyncio.Task[object] | None] = contextvars.ContextVar(
    "unit_of_work_caller", default=None
)


def current_task() -> asyncio.Task[object] | None:
    """The asyncio task this code runs for: the running one, or the one whose step this is."""
    try:
        return asyncio.current_task()
    except RuntimeError:  # on a step's thread: no event loop here
        return _caller.get()


@dataclass
class Unit:
    """One routing step's working state: its connection, its moment, the config it follows, the
    events it produced and the trail entries it noted (written together at its end)."""

    conn: Connection
    now: datetime
    config: Config  # the live config as the step began
    events: list[Event] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    routed: int = 0
    derived: dict[str, Any] = field(default_factory=dict)  # worked out once from now and config

    def note(self, conversation_id: int, kind: str, reason: str) -> None:
        self.notes.append((conversation_id, kind, reason))

    def routed_at(self) -> datetime:
        """`now` for an agent's "last routed" time, a microsecond later for each agent routed in
        this unit: who was routed first is then idle longest, not whoever has the lower id."""
        self.routed += 1
        return self.now + timedelta(microseconds=self.routed)


class _SqliteThreads:
    """A synchronous twin of an aiosqlite engine, a writer thread, reader threads, and a thread
    that checkpoints the write-ahead log.

    A step's commit never checkpoints (SQLite's automatic checkpoint made every thousandth or so
    commit wait 10-20 ms to copy the log into the database): the checkpointer does it, beside
    them, every `CHECKPOINT_EVERY` seconds (PASSIVE: it never waits for readers), which keeps
    the log bounded; the few writes the aiosqlite engine still makes (migrations, schema) keep
    SQLite's own automatic checkpoint.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        url = engine.url.set(drivername="sqlite")
        self.inline = is_memory(str(engine.url))
        if self.inline:
            self.engine: Engine = create_sync_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            self.engine = create_sync_engine(url)
        configure_sqlite(self.engine)
        event.listen(self.engine, "connect", _no_automatic_checkpoint)
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="frontdoor-write")
        self.readers = ThreadPoolExecutor(2, thread_name_prefix="frontdoor-read")
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint, name="frontdoor-checkpoint", daemon=True
        )
        if not self.inline:  # a database in memory has no log to checkpoint
            self._checkpointer.start()

    def _checkpoint(self) -> None:
        while not self._stop.wait(CHECKPOINT_EVERY):
            try:
                raw = self.engine.raw_connection()
                try:
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    raw.close()
            except Exception:  # a checkpoint missed is made by the next one
                log.warning("WAL checkpoint failed", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer.is_alive():
            self._checkpointer.join()
        self.writer.shutdown(wait=True)
        self.readers.shutdown(wait=True)
        self.engine.dispose()


def _no_automatic_checkpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


_threads: weakref.WeakKeyDictionary[AsyncEngine, _SqliteThreads] = weakref.WeakKeyDictionary()


def _sqlite_threads(engine: AsyncEngine) -> _SqliteThreads:
    found = _threads.get(engine)
    if found is None:
        found = _threads[engine] = _SqliteThreads(engine)
        weakref.finalize(engine, found.close)
    return found


def step_engine(engine: AsyncEngine) -> Engine:
    """The synchronous engine `engine`'s steps send their SQL through (to watch it)."""
    return _sqlite_threads(engine).engine if is_sqlite(str(engine.url)) else engine.sync_engine


async def dispose(engine: AsyncEngine) -> None:
    """Close the engine: the threads and connections its steps used, then its own pool."""
    found = _threads.pop(engine, None)
    if found is not None:
        await asyncio.to_thread(found.close)
    await engine.dispose()


async def write(engine: AsyncEngine, step: Step[T]) -> T:
    """Run `step` in one write transaction: committed when it returns, rolled back if it raises."""
    if not is_sqlite(str(engine.url)):
        async with engine.begin() as conn:
            return await conn.run_sync(step)
    threads = _sqlite_threads(engine)

    def in_transaction() -> T:
        with threads.engine.connect() as conn:
            conn.execution_options(**{WRITES: True})
            with conn.begin():
                return step(conn)

    async with writer_lock(engine):
        if threads.inline:
            return in_transaction()
        return await _on_thread(threads.writer, in_transaction)


async def read(engine: AsyncEngine, query: Step[T]) -> T:
    """Run `query` on a connection of its own (a consistent snapshot, nothing written)."""
    if not is_sqlite(str(engine.url)):
        async with engine.connect() as conn:
            return await conn.run_sync(query)
    threads = _sqlite_threads(engine)

    def in_snapshot() -> T:
        with threads.engine.connect() as conn:
            return query(conn)

    if threads.inline:
        return in_snapshot()
    return await _on_thread(threads.readers, in_snapshot)


async def _on_thread(executor: ThreadPoolExecutor, call: Callable[[], T]) -> T:
    context = contextvars.copy_context()
    context.run(_caller.set, asyncio.current_task())
    future = asyncio.get_running_loop().run_in_executor(executor, context.run, call)
    # A cancelled caller cannot stop a transaction under way: it ends (and releases the writers'
    # turn) only when the thread is done with it.
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


class Reader(Protocol):
    """Anything that runs a query of the database on a connection of its own (`Database`,
    `EngineReader`)."""

    async def read(self, query: Step[T]) -> T: ...


class EngineReader:
    """Reads through the engine's own connection pool, not the routing steps' two reader
    threads: for long reads (the reports) that must not hold up a customer's message, and, over
    a plain engine, for a database nothing may be switched on (`frontdoor report`, `simulate
    --from-history` write nothing to the file)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def read(self, query: Step[T]) -> T:
        async with self._engine.connect() as conn:
            return await conn.run_sync(query)


class Database:
    """The handle the adapters get on the database: `write` runs a step in one transaction,
    `read` a query on a snapshot of its own. The engine stays inside (issue 13: SQL lives in the
    store and the read models, and what runs it is the unit of work)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def reports(self) -> Reader:
        """Where long reads go (the KPI reports), beside the routing steps' readers."""
        return EngineReader(self._engine)

    @property
    def password(self) -> str | None:
        """The database URL's password (to keep it out of what the bot says)."""
        return self._engine.url.password

    async def write(self, step: Step[T]) -> T:
        return await write(self._engine, step)

    async def read(self, query: Step[T]) -> T:
        return await read(self._engine, query)
