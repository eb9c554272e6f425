"""The async database engine: SQLite (WAL) by default, PostgreSQL through the same code."""

from __future__ import annotations

import asyncio
import uuid
import weakref
from typing import Any

from sqlalchemy import Connection, Engine, Table, event, insert, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert
from sqlmodel import SQLModel

import handoff.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _asyncpg_connection_errors() -> tuple[type[Exception], ...]:
    try:
        from asyncpg import exceptions
    except ImportError:  # PostgreSQL's driver is an extra
        return ()
    return (
        exceptions.PostgresConnectionError,
        exceptions.CannotConnectNowError,  # the server is starting or shutting down
        exceptions.InterfaceError,  # e.g. "connection is closed"
    )


# What asyncpg raises unwrapped when the server cannot be reached (SQLAlchemy wraps the rest):
# callers that retry while the database is away count these with SQLAlchemy's and OSError.
ASYNCPG_CONNECTION_ERRORS = _asyncpg_connection_errors()
DATABASE_AWAY: tuple[type[Exception], ...] = (SQLAlchemyError, OSError, *ASYNCPG_CONNECTION_ERRORS)
WRITES = "frontdoor_writes"  # execution option: this connection's transaction will write


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def is_memory(url: str) -> bool:
    """A SQLite database in this process's memory, shared by its connections (`memory_url`)."""
    return is_sqlite(url) and "mode=memory" in url


def memory_url() -> str:
    """A new SQLite database in memory, shared by this process's connections while one is open:
    for one-process runs that keep nothing (the simulation, fast tests). The unit of work runs
    its steps on it inline, on the event loop's thread (`handoff.unit_of_work`)."""
    return (
        f"sqlite+aiosqlite:///file:frontdoor-{uuid.uuid4().hex}?mode=memory&cache=shared&uri=true"
    )


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite with WAL, a busy timeout, and write transactions that lock up front."""
    if not is_sqlite(url):
        # No pool_pre_ping: with asyncpg it costs BEGIN, a ping and ROLLBACK at every checkout
        # (about 20 of the 48 statements an answer sent). A connection that went stale (the
        # server restarted) fails once; SQLAlchemy then drops the pool's older connections, and
        # the callers retry (inbox, outbox, cards, timers).
        return create_async_engine(url, **kwargs)
    engine = create_async_engine(url, **kwargs)
    configure_sqlite(engine.sync_engine)
    return engine


def configure_sqlite(sync_engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE for transactions that write."""

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below be the only transaction control (pysqlite's own is off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer's BEGIN IMMEDIATE takes the write lock first, so two writers queue on
        # busy_timeout instead of one failing with "database is locked" when its read lock cannot
        # be upgraded. Readers begin deferred: in WAL they never wait for the writer, nor hold it up.
        immediate = connection.get_execution_options().get(WRITES, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_sqlite_writers: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


def writer_lock(engine: AsyncEngine) -> asyncio.Lock:
    """The turn of this process's SQLite writers on `engine`. SQLite lets one writer in at a
    time anyway, but a writer that finds the lock taken sleeps in SQLite's busy handler (in steps
    up to 100 ms) instead of being woken when it is free: under load that cost seconds of latency
    at low CPU. Other processes still meet the busy timeout; PostgreSQL writers run side by side,
    guarded by row locks and compare-and-set."""
    return _sqlite_writers.setdefault(engine, asyncio.Lock())


def ping(conn: Connection) -> None:
    """A query that only asks the database to answer (readiness checks)."""
    conn.execute(select(literal(1)))


async def create_schema(engine: AsyncEngine) -> None:
    """Create every table that is missing (tests, the sandbox); production uses `frontdoor db upgrade`."""
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)


def insert_ignoring_duplicates(dialect: str, table: Table) -> Insert:
    """INSERT that skips rows whose unique key exists, for the named dialect: ON CONFLICT DO
    NOTHING on PostgreSQL, INSERT OR IGNORE on SQLite (the same there for the unique keys;
    written as a plain INSERT with a prefix, SQLAlchemy compiles it once, where its SQLite
    `on_conflict_do_nothing` construct is compiled again on every execution)."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("OR IGNORE", dialect="sqlite")
