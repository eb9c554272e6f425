"""Alembic's entry point: run the migrations on `handoff.db`'s engine, SQLite and PostgreSQL alike.

Alembic runs this file for every command; `handoff.migrations` hands it the URL in
`config.attributes["url"]` (never written to a file or a log, since it may hold a password).
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import event, make_url
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from handoff.db import configure_sqlite, create_engine, is_sqlite
from handoff.tables import UtcDateTime
from handoff.workers import LOCK_CLASS, MIGRATIONS_KEY

config = context.config
MIGRATING_LOCK = sqlalchemy.text("SELECT pg_advisory_xact_lock(:space, :key)")
target_metadata = SQLModel.metadata


def database_url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: use handoff.migrations.alembic_config(url)")
    return url


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render the project's own column types as plain SQLAlchemy ones, so migrations stand alone.

    A migration must keep working after tables.py changes, so it may not import it; UtcDateTime
    stores a naive UTC DATETIME and AutoString is a VARCHAR, which is all the schema needs.
    """
    if type_ != "type":
        return False
    if isinstance(obj, UtcDateTime):
        return "sa.DateTime()"
    if isinstance(obj, AutoString):
        return "sa.String()" if obj.length is None else f"sa.String(length={obj.length})"
    return False


def skip_empty_revision(_context: Any, _revision: Any, directives: list[Any]) -> None:
    """Write no file when autogenerate finds nothing to do (`python -m handoff.migrations`)."""
    if config.attributes.get("skip_empty") and directives[0].upgrade_ops.is_empty():
        directives[:] = []


def configure_options(url: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_item": render_item,
        "process_revision_directives": skip_empty_revision,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        "render_as_batch": is_sqlite(url),
    }


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (`--sql`), for a DBA to review."""
    url = database_url()
    context.configure(url=url, literal_binds=True, **configure_options(url))
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    url = database_url()
    context.configure(connection=connection, **configure_options(url))
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Workers starting together migrate one at a time; the others then find it done.
            connection.execute(MIGRATING_LOCK, {"space": LOCK_CLASS, "key": MIGRATIONS_KEY})
        context.run_migrations()
    if is_sqlite(url):
        check_foreign_keys(connection)


def check_foreign_keys(connection: Connection) -> None:
    """Fail loudly if a batch table copy left a row pointing nowhere (the checks were off)."""
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign keys broken after migrating: {problems[:10]}")


def run_sqlite_migrations(url: str) -> None:
    """SQLite through its synchronous driver, as Alembic is synchronous: no aiosqlite worker
    thread is left to answer a loop that has closed when the file cannot be opened."""
    connectable = sqlalchemy.create_engine(make_url(url).set(drivername="sqlite"))
    configure_sqlite(connectable)

    @event.listens_for(connectable, "connect")
    def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
        # Runs after handoff.db's listener turned them on. A batch migration drops and
        # re-creates a table; with enforcement on, dropping `conversation` would fail or
        # cascade into `offer`. The pragma is ignored inside a transaction, hence here.
        # https://www.sqlite.org/lang_altertable.html#otheralter
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.close()

    try:
        with connectable.connect() as connection:
            do_run_migrations(connection)
            # Alembic commits its own transactions; this ends the one a read may have begun.
            connection.commit()
    finally:
        connectable.dispose()


async def run_async_migrations(url: str) -> None:
    connectable = create_engine(url)
    try:
        async with connectable.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await connectable.dispose()


def run_migrations_online() -> None:
    # The command API is synchronous; handoff.migrations calls it from a worker thread, so
    # this thread has no event loop of its own.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        url = database_url()
        if is_sqlite(url):
            run_sqlite_migrations(url)
        else:
            asyncio.run(run_async_migrations(url))
        return
    raise RuntimeError(
        "Alembic command called inside an event loop; await handoff.migrations.upgrade() "
        "or run it with asyncio.to_thread()"
    )


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
