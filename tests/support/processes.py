"""`frontdoor run` in processes of its own against a sandbox server, and what customers see."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import select

from frontdoor.sandbox_command import free_port
from handoff.db import create_engine
from handoff.tables import Message
from tests.sandbox_support import BOT_TOKEN, SandboxClient
from tests.support.frontdoor import EXAMPLE

PROMPT = "Apakah jawaban ini membantu?"  # how every FAQ answer (one message) ends
ROOT = Path(__file__).resolve().parents[2]


def fast_config(directory: Path, real: bool = False, source: Path = EXAMPLE) -> Path:
    """The example config, paced for a local server and with spam throttling out of the way; or,
    `real`, paced and throttled as in production (Telegram's limits)."""
    text = source.read_text()
    fast = (
        "  pacing: {per_chat_per_s: 50, per_chat_burst: 20, global_per_s: 2000}\n"
        "  spam: {messages: 1000, per: 1s}\n"
    )
    text = text.replace(
        "  default_language: id ",
        ("" if real else fast) + "  poll_timeout: 1\n  default_language: id ",
        1,
    )
    text = text.replace("  port: 8088", f"  port: {free_port('127.0.0.1')}", 1)
    path = directory / "fast.yaml"
    path.write_text(text)
    return path


@asynccontextmanager
async def bot_process(
    sandbox_url: str,
    directory: Path,
    real: bool = False,
    options: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
    log: IO[bytes] | None = None,
    database_url: str | None = None,
    config: Path = EXAMPLE,
    said: list[str] | None = None,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`frontdoor run` in its own process, started and ready (`real`: see `fast_config`), with
    more `options` and `environment` if given, its log written to `log`, what it prints before it
    runs added to `said`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "frontdoor",
        "run",
        "--config",
        str(fast_config(directory, real, config)),
        "--api-url",
        sandbox_url,
        "--database-url",
        database_url or sqlite_url(directory),
        *options,
        cwd=ROOT,
        env={**os.environ, "TELEGRAM_BOT_TOKEN": BOT_TOKEN, **(environment or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=log or asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    async with asyncio.timeout(30):
        while b"frontdoor is running" not in (line := await process.stdout.readline()):
            assert line, "frontdoor run exited before it was running"
            if said is not None:  # what it printed before it was running
                said.append(line.decode())
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def answered(sandbox: SandboxClient, customers: list[int]) -> dict[int, int]:
    """How many FAQ answers each customer's chat shows."""
    counts = {}
    for customer in customers:
        shown = await sandbox.messages(customer)
        counts[customer] = sum(
            1 for m in shown if m["from"]["is_bot"] and m.get("text", "").endswith(PROMPT)
        )
    return counts


async def wait_until_answered(
    sandbox: SandboxClient, customers: list[int], each: int, seconds: float
) -> dict[int, int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        counts = await answered(sandbox, customers)
        if all(n >= each for n in counts.values()) or loop.time() > deadline:
            return counts
        await asyncio.sleep(0.2)


async def customers_write(sandbox: SandboxClient, customers: list[int], rounds: range) -> None:
    """Each customer asks one FAQ question per round, all customers at once."""
    for i in rounds:
        await asyncio.gather(*(sandbox.send(c, f"cara bayar tagihan ke-{i}") for c in customers))


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'frontdoor.db'}"


async def transcripts(url: str, customers: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Each customer's transcript as the bot's database keeps it: (sender, text), in order."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Message.customer_id, Message.sender, Message.text)
                .where(Message.customer_id.in_(customers))
                .order_by(Message.id)
            )
            kept: dict[int, list[tuple[str, str]]] = {c: [] for c in customers}
            for row in rows:
                kept[row.customer_id].append((row.sender, row.text))
            return kept
    finally:
        await engine.dispose()
