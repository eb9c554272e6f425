"""The async database engine: SQLite (WAL) by default, PostgreSQL through the same code."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert
from sqlmodel import SQLModel

import handoff.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite with WAL, a busy timeout, and write transactions that lock up front."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True, **kwargs)
    engine = create_async_engine(url, **kwargs)
    sync_engine = engine.sync_engine

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
        # BEGIN IMMEDIATE takes the write lock first, so two writers queue on busy_timeout instead
        # of one failing with "database is locked" when its read lock cannot be upgraded.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def create_schema(engine: AsyncEngine) -> None:
    """Create every table that is missing (tests, the sandbox); production uses `frontdoor db upgrade`."""
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)


def insert_ignoring_duplicates(engine: AsyncEngine, table: Table) -> Insert:
    """INSERT that skips rows whose unique key exists (ON CONFLICT DO NOTHING, either dialect)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()
