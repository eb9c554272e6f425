"""The Alembic migrations build exactly the schema `handoff/tables.py` describes."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from frontdoor.cli import main
from handoff.db import create_engine
from handoff.migrations import (
    MIGRATIONS_DIR,
    alembic_config,
    current,
    downgrade,
    head,
    upgrade,
)
from tests.support.postgres import empty_postgres, needs_postgres

REGENERATE = "python -m handoff.migrations revision -m 'describe the change'"
TABLES = set(SQLModel.metadata.tables)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def table_names(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


async def schema_differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}),
                    SQLModel.metadata,
                )
            )
    finally:
        await engine.dispose()


def assert_no_differences(differences: list[object]) -> None:
    assert not differences, (
        "handoff/tables.py and the migrations disagree; run:\n"
        f"    {REGENERATE}\n"
        "and review the new file in handoff/migrations/versions/ (until the first release you may\n"
        "instead delete versions/0001_initial.py and run it with -m initial). Differences:\n"
        + "\n".join(f"  {difference}" for difference in differences)
    )


async def test_upgrade_creates_every_table_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "fresh.db")

    await upgrade(url)

    assert table_names(tmp_path / "fresh.db") == TABLES | {"alembic_version"}
    assert await current(url) == head()


async def test_upgrading_twice_is_a_no_op_that_keeps_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "twice.db"
    await upgrade(sqlite_url(path))
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO customer (id, name, language, is_vip, blocked, created_at)"
            " VALUES (42, 'Sari', 'id', 0, 0, '2025-01-01 00:00:00')"
        )

    await upgrade(sqlite_url(path))

    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT name FROM customer").fetchall() == [("Sari",)]
    assert await current(sqlite_url(path)) == head()


async def test_a_database_never_migrated_has_no_current_revision(tmp_path: Path) -> None:
    assert await current(sqlite_url(tmp_path / "empty.db")) is None


# SQLite cannot reflect an index on an expression (ix_agent_free): it is left out of the comparison
# there, and compared on PostgreSQL.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_the_migrations_match_the_tables_on_sqlite(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "compare.db")
    await upgrade(url)

    assert_no_differences(await schema_differences(url))


async def test_downgrading_to_base_and_back_rebuilds_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "roundtrip.db"
    await upgrade(sqlite_url(path))

    await downgrade(sqlite_url(path), "base")
    assert table_names(path) == {"alembic_version"}

    await upgrade(sqlite_url(path))
    assert table_names(path) == TABLES | {"alembic_version"}


def test_migrations_do_not_import_the_application() -> None:
    # A migration must still run after tables.py has moved on; env.py's render_item sees to it.
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = script.read_text()
        assert "handoff" not in source and "sqlmodel" not in source, script.name


async def test_a_batch_migration_keeps_rows_that_other_tables_reference(tmp_path: Path) -> None:
    """SQLite batch mode copies and drops `conversation` under BEGIN IMMEDIATE; offers survive."""
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_conversation_note.py").write_text(
        "import sqlalchemy as sa\n"
        "from alembic import op\n"
        "revision = 'scratch_note'\n"
        f"down_revision = {head()!r}\n"
        "def upgrade():\n"
        "    with op.batch_alter_table('conversation', recreate='always') as batch:\n"
        "        batch.add_column(sa.Column('note', sa.String(), nullable=True))\n"
    )
    path = tmp_path / "batch.db"
    url = sqlite_url(path)
    await upgrade(url)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO conversation (id, customer_id, state, version, priority, is_lead,"
            " sticky_tried, open_to_anyone, attempts, transfers, first_message, created_at,"
            " sla_alerted) VALUES (7, 42, 'queued', 0, 0, 1, 0, 0, 0, 0, 'hi',"
            " '2025-01-01 00:00:00', 0)"
        )
        connection.execute(
            "INSERT INTO offer (conversation_id, agent_id, state, sticky, created_at, deadline)"
            " VALUES (7, 1, 'pending', 0, '2025-01-01 00:00:00', '2025-01-01 00:01:00')"
        )
    config = alembic_config(url)
    config.set_main_option("script_location", str(scripts))

    await asyncio.to_thread(command.upgrade, config, "scratch_note")

    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT id, note FROM conversation").fetchall() == [(7, None)]
        assert connection.execute("SELECT conversation_id FROM offer").fetchall() == [(7,)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


def test_cli_db_upgrade_brings_the_database_up_to_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "x.db")

    assert main(["db", "upgrade", "--database-url", url]) == 0

    assert capsys.readouterr().out.strip() == f"database at {url} is up to date"
    assert table_names(tmp_path / "x.db") == TABLES | {"alembic_version"}


def test_a_failed_upgrade_does_not_reveal_the_password(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("asyncpg")
    caplog.set_level("DEBUG")
    url = "postgresql+asyncpg://frontdoor:s3cret-pw@127.0.0.1:1/frontdoor"  # nothing listens

    with pytest.raises(OSError) as failure:
        main(["db", "upgrade", "--database-url", url])

    captured = capsys.readouterr()
    for text in (str(failure.value), captured.out, captured.err, caplog.text):
        assert "s3cret-pw" not in text


@needs_postgres
async def test_the_migrations_match_the_tables_on_postgresql() -> None:
    url = await empty_postgres()  # earlier tests may have left tables made by create_all

    await upgrade(url)
    await upgrade(url)

    assert await current(url) == head()
    assert_no_differences(await schema_differences(url))
