"""Schema migrations (Alembic), configured in code: no alembic.ini, any working directory.

Apply them with `frontdoor db upgrade` (or `await upgrade(url)`).

After changing `handoff/tables.py`, write the migration that goes with it:

    python -m handoff.migrations revision -m "add customer phone"

It upgrades a scratch SQLite database to the newest revision, compares it with the tables and
writes `versions/NNNN_add_customer_phone.py`; read it before committing (autogenerate misses
renames and server defaults). `tests/handoff/test_migrations.py` fails until the two agree.
Until the first release, rewrite the initial migration in place instead:

    rm handoff/migrations/versions/0001_initial.py
    python -m handoff.migrations revision -m initial
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    """An Alembic config for this package's scripts and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.set_main_option("truncate_slug_length", "40")
    # env.py reads the URL from here; ConfigParser would mangle a "%" in an encoded password.
    config.attributes["url"] = url
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    _format_new_scripts_with_ruff(config)
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (the newest by default)."""
    # Alembic's commands are synchronous and env.py runs its own event loop, so off this one.
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


async def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` back to `revision` ("base" empties it)."""
    await asyncio.to_thread(command.downgrade, alembic_config(url), revision)


async def current(url: str) -> str | None:
    """The revision the database at `url` is at, None if it has never been migrated."""
    from handoff.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def head() -> str | None:
    """The newest revision in `versions/`."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def next_revision_id(config: Config) -> str:
    """Revision ids count up from 0001, so `versions/` lists in the order they apply."""
    count = sum(1 for _ in ScriptDirectory.from_config(config).walk_revisions())
    return f"{count + 1:04d}"


def _format_new_scripts_with_ruff(config: Config) -> None:
    ruff = shutil.which("ruff") or _beside_python("ruff")
    if ruff is None:
        return
    config.set_section_option("post_write_hooks", "hooks", "ruff_format, ruff_fix")
    for name, options in (
        ("ruff_format", "format --quiet REVISION_SCRIPT_FILENAME"),
        ("ruff_fix", "check --fix --quiet REVISION_SCRIPT_FILENAME"),
    ):
        config.set_section_option("post_write_hooks", f"{name}.type", "exec")
        config.set_section_option("post_write_hooks", f"{name}.executable", ruff)
        config.set_section_option("post_write_hooks", f"{name}.options", options)


def _beside_python(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None
