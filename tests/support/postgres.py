"""The throwaway PostgreSQL database the PostgreSQL variants of the tests share."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from handoff.db import create_engine

POSTGRES_URL = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="set FRONTDOOR_TEST_POSTGRES_URL to a disposable PostgreSQL database"
)


async def empty_postgres() -> str:
    """Drop everything an earlier test left (tables made by create_all or by migrations alike)."""
    assert POSTGRES_URL, "FRONTDOOR_TEST_POSTGRES_URL is not set"
    engine = create_engine(POSTGRES_URL)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
    return POSTGRES_URL


@dataclass(frozen=True)
class Cluster:
    """A PostgreSQL cluster of a test's or a benchmark's own, which it may stop and restart."""

    bin_dir: Path
    data: Path
    superuser: str  # asyncpg DSN of the `postgres` database

    def pg_ctl(self, *arguments: str) -> None:
        _as_postgres(f"{self.bin_dir}/pg_ctl", "-D", str(self.data), *arguments)

    def restart(self) -> None:
        """Stop at once (clients cut off, as in a crash or a failover) and start again."""
        self.pg_ctl("-m", "immediate", "-w", "restart")


def server_binaries() -> Path | None:
    """PostgreSQL's server binaries (Debian's `postgresql`), the newest; None when missing."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return found[-1] if found else None


@contextlib.contextmanager
def cluster(*settings: str) -> Iterator[Cluster]:
    """A throwaway cluster on a free port, with pg_stat_statements and more `settings`
    (`-c name=value`); stopped and removed at the end."""
    from frontdoor.sandbox_command import free_port

    bin_dir = server_binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's server binaries are missing (apt-get install postgresql)")
    # Its own folder right under the temporary one: the server's user must reach it.
    with tempfile.TemporaryDirectory(prefix="frontdoor-cluster-") as folder:
        yield from _started(bin_dir, Path(folder), settings, free_port("127.0.0.1"))


def _started(
    bin_dir: Path, directory: Path, settings: tuple[str, ...], port: int
) -> Iterator[Cluster]:
    data = directory / "pg"
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres", str(directory)], check=True)
    _as_postgres(f"{bin_dir}/initdb", "-D", str(data), "-U", "postgres", "-A", "trust")
    options = " ".join(
        (f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off",
         "-c shared_preload_libraries=pg_stat_statements -c max_connections=200", *settings)
    )  # fmt: skip
    found = Cluster(bin_dir, data, f"postgresql://postgres@127.0.0.1:{port}/postgres")
    found.pg_ctl("-o", f"'{options}'", "-l", f"{data}/log", "-w", "start")
    try:
        yield found
    finally:
        found.pg_ctl("-m", "immediate", "stop")


def _as_postgres(*command: str) -> None:
    """Run a server command as the `postgres` user (PostgreSQL refuses to run as root)."""
    line = " ".join(command)
    wrapped = (
        ["su", "postgres", "-s", "/bin/sh", "-c", line] if os.geteuid() == 0 else ["sh", "-c", line]
    )
    subprocess.run(wrapped, check=True, stdout=subprocess.DEVNULL)


async def new_database(superuser: str) -> tuple[str, str]:
    """A new database in a cluster of one's own, pg_stat_statements in it: (the bot's SQLAlchemy
    URL, an asyncpg DSN to it as the superuser)."""
    import time

    import asyncpg

    name = f"frontdoor_{time.time_ns()}"
    conn = await asyncpg.connect(superuser)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    inside = superuser.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(inside)
    try:
        await conn.execute("CREATE EXTENSION pg_stat_statements")
    finally:
        await conn.close()
    return inside.replace("postgresql://", "postgresql+asyncpg://", 1), inside
