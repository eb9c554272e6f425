"""Several workers on one database (issue 18): each chat's updates are handled by one worker at a
time, and one worker leads (it alone sends to Telegram and keeps the group's cards, so Telegram's
limits hold for all of them together).

On PostgreSQL both are advisory locks: a chat's turn is a lock on the chat's id held while its
updates are handled, the lead a lock held on a connection of its own. A worker that dies drops
its connection and with it its locks, so another takes over at once: nothing to expire or tune.
Whoever stages work for the leader says so with NOTIFY (delivered when the transaction commits);
the leader LISTENs on its lock's connection.

On SQLite there is one process (`frontdoor run` refuses more): it leads from the start, and the
inbox keeps each chat in turn with asyncio locks (`telegram_io.inbox`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from handoff.db import is_sqlite

log = logging.getLogger(__name__)

WAKE_CHANNEL = "frontdoor_leader"
RELOAD_CHANNEL = "frontdoor_reload"  # a worker reloaded its config on `/reload`: the others do too
LOCK_CLASS = 0x46440000  # "FD": the two-key lock space, apart from the chats' one-key locks
LEADER_KEY = 1
MIGRATIONS_KEY = 2
ROUTING_KEY = 3
CHAT_TURNS = 10  # connections a worker holds chats' turns on, so chats handled side by side
HEARTBEAT_SECONDS = 2.0  # the leader checks its lock's connection this often
RETRY_SECONDS = 1.0  # a worker that does not lead asks again this often
_NOTIFY = text(f"SELECT pg_notify('{WAKE_CHANNEL}', '')")
_ROUTING_LOCK = text(f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, {ROUTING_KEY})")


def wake_leader(conn: Connection) -> None:
    """Within a transaction that staged work for the leader (calls to send, cards to show): tell
    it when the transaction commits. Nothing to do on SQLite (one process)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY)


def routing_lock(conn: Connection) -> None:
    """PostgreSQL: wait for the routing lock and hold it until the transaction ends.

    A step that lost a compare-and-set runs again holding it from its first statement: workers
    routing side by side all pick the same idle agent, and without it all but one would lose
    again and again. Taken first, it cannot deadlock: its holder may wait for rows other steps
    hold, but those never wait for it. (Only the retry takes it: a first attempt sends no more
    statements than on SQLite, where writes go one at a time anyway.)"""
    if conn.dialect.name == "postgresql":
        conn.execute(_ROUTING_LOCK)


class Workers(Protocol):
    """What the workers of one bot share: `shared` is False for a single process."""

    shared: bool

    def turn(self, chat: int) -> contextlib.AbstractAsyncContextManager[bool]:
        """Hold the chat's turn while inside, if no other worker holds it (True)."""
        ...

    async def lead(
        self,
        work: Callable[[], Awaitable[None]],
        woken: Callable[[], None],
        reload: Callable[[], None],
    ) -> None:
        """Run `work` while this worker leads, `woken` on each NOTIFY to the leader, `reload` when
        another worker reloaded its config (`tell_reloaded`); until cancelled."""
        ...

    async def tell_reloaded(self) -> None:
        """Tell the other workers that this one reloaded its config on a manager's `/reload`."""
        ...

    @property
    def leading(self) -> bool: ...

    async def close(self) -> None: ...


class SingleProcess:
    """SQLite: the one process leads; chats take turns in the inbox's own locks."""

    shared = False
    leading = True

    @contextlib.asynccontextmanager
    async def turn(self, chat: int) -> AsyncIterator[bool]:
        yield True

    async def lead(
        self,
        work: Callable[[], Awaitable[None]],
        woken: Callable[[], None],
        reload: Callable[[], None],
    ) -> None:
        await work()

    async def tell_reloaded(self) -> None:
        pass

    async def close(self) -> None:
        pass


class PostgresWorkers:
    """PostgreSQL: turns and the lead as advisory locks, taken with asyncpg directly (a lock lives
    on one connection for as long as it is held, which a pool of SQLAlchemy's does not keep)."""

    shared = True

    def __init__(self, url: str) -> None:
        self.dsn = asyncpg_dsn(url)
        self.leading = False
        self._pool: Any = None
        self._name = uuid.uuid4().hex  # its own NOTIFY of a reload comes back to it: skipped

    async def _turns(self) -> Any:
        import asyncpg

        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=0, max_size=CHAT_TURNS, reset=_kept_as_is
            )
        return self._pool

    @contextlib.asynccontextmanager
    async def turn(self, chat: int) -> AsyncIterator[bool]:
        pool = await self._turns()
        async with pool.acquire() as conn:
            mine = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", chat))
            try:
                yield mine
            finally:
                if mine:
                    await _unlock(conn, chat)

    async def lead(
        self,
        work: Callable[[], Awaitable[None]],
        woken: Callable[[], None],
        reload: Callable[[], None],
    ) -> None:
        """Every worker keeps this connection, asking for the lead on it: it also hears of the
        other workers' reloads, whether this one leads or not."""
        import asyncpg

        def reloaded_elsewhere(_conn: Any, _pid: int, _channel: str, sender: str) -> None:
            if sender != self._name:
                reload()

        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn)
                await conn.add_listener(RELOAD_CHANNEL, reloaded_elsewhere)
                while not await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS, LEADER_KEY
                ):
                    await asyncio.sleep(RETRY_SECONDS)
                await conn.add_listener(WAKE_CHANNEL, lambda *_: woken())
                log.info("this worker leads: it sends to Telegram and keeps the cards")
                await self._while_held(conn, work)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("the lead's connection failed (%s); trying again", error)
            except Exception:
                log.exception("the leader's work failed; trying again")
            finally:
                if self.leading:
                    log.warning("this worker no longer leads")
                self.leading = False
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(RETRY_SECONDS)

    async def _while_held(self, conn: Any, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` until it ends or the lock's connection stops answering."""
        self.leading = True
        task = asyncio.create_task(work(), name="leader")
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_SECONDS)
                if done:
                    task.result()  # what it raised goes to `lead`, which tries again
                    log.error("the leader's work ended by itself; leading again")
                    return
                async with asyncio.timeout(HEARTBEAT_SECONDS):
                    await conn.fetchval("SELECT 1")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def tell_reloaded(self) -> None:
        pool = await self._turns()
        async with pool.acquire() as conn:
            await conn.execute("SELECT pg_notify($1, $2)", RELOAD_CHANNEL, self._name)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _unlock(conn: Any, chat: int) -> None:
    """Let go of a chat's turn; if the connection cannot say so (the server went away, or this
    is cancelled), close it: the lock goes with it."""
    try:
        await conn.fetchval("SELECT pg_advisory_unlock($1)", chat)
    except BaseException as error:
        with contextlib.suppress(Exception):  # already closed, or handed back by asyncpg
            conn.terminate()
        if not isinstance(error, Exception):
            raise


async def _kept_as_is(conn: Any) -> None:
    """A turn's connection goes back to the pool as it is: a turn always lets go of its lock
    (or the connection is closed), so asyncpg's reset (four statements) buys nothing."""


def workers_for(url: str) -> Workers:
    return SingleProcess() if is_sqlite(url) else PostgresWorkers(url)


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as asyncpg takes it (`postgresql://…`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
