"""Nothing is lost (SPEC §8): the bot process is killed with SIGKILL mid-traffic and restarted, or
Telegram answers 5xx and 429; every customer message is still answered, and duplicates stay within
the sends that were in flight at the kill (one per chat at most: the outbox sends one at a time per
chat).
"""

from __future__ import annotations

import asyncio
import os
import signal
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
from tests.support.frontdoor import EXAMPLE, example_config, running_frontdoor

CUSTOMERS = 50
MESSAGES_EACH = 10
REAL_CUSTOMERS = 20  # at Telegram's real limits: a chat takes one message a second
REAL_MESSAGES_EACH = 6  # under the spam throttle's 8 in 10 s
PROMPT = "Apakah jawaban ini membantu?"  # how every FAQ answer (one message) ends
ROOT = Path(__file__).resolve().parents[2]


def fast_config(directory: Path, real: bool = False) -> Path:
    """The example config, paced for a local server and with spam throttling out of the way; or,
    `real`, paced and throttled as in production (Telegram's limits)."""
    text = EXAMPLE.read_text()
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
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`frontdoor run` in its own process, started and ready (`real`: see `fast_config`), with
    more `options` and `environment` if given, its log written to `log`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "frontdoor",
        "run",
        "--config",
        str(fast_config(directory, real)),
        "--api-url",
        sandbox_url,
        "--database-url",
        f"sqlite+aiosqlite:///{directory / 'frontdoor.db'}",
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


async def test_a_killed_bot_answers_every_message_after_its_restart(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    await sandbox.set_limits(enabled=False)
    customers = [(await sandbox.add_user(f"C{i}"))["id"] for i in range(CUSTOMERS)]
    half = MESSAGES_EACH // 2

    async with bot_process(sandbox.base_url, tmp_path) as first:
        await customers_write(sandbox, customers, range(half))
        first.send_signal(signal.SIGKILL)
        await first.wait()
    await customers_write(sandbox, customers, range(half, MESSAGES_EACH))  # while it is down
    async with bot_process(sandbox.base_url, tmp_path):
        counts = await wait_until_answered(sandbox, customers, MESSAGES_EACH, 90)

    assert min(counts.values()) >= MESSAGES_EACH, counts
    duplicates = sum(counts.values()) - CUSTOMERS * MESSAGES_EACH
    assert duplicates <= CUSTOMERS, f"{duplicates} duplicate answers"


async def transcripts(directory: Path, customers: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Each customer's transcript as the bot's database keeps it: (sender, text), in order."""
    engine = create_engine(f"sqlite+aiosqlite:///{directory / 'frontdoor.db'}")
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


async def test_killed_twice_at_telegrams_real_limits_it_loses_nothing_and_keeps_each_chat_in_order(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    """Paced and throttled as in production, against the sandbox's real limits: killed while
    answering, and again while catching up after the restart."""
    customers = [(await sandbox.add_user(f"C{i}"))["id"] for i in range(REAL_CUSTOMERS)]
    for customer_id in customers:  # every customer known before the first kill
        await sandbox.send(customer_id, "/start")
    await sandbox.set_limits(enabled=True)  # Telegram's: 1/s a chat (burst 3), 30/s overall
    asked = [f"cara bayar tagihan ke-{i}" for i in range(REAL_MESSAGES_EACH)]

    async with bot_process(sandbox.base_url, tmp_path, real=True) as first:
        await customers_write(sandbox, customers, range(3))
        await asyncio.sleep(0.5)  # mid-answer
        first.send_signal(signal.SIGKILL)
        await first.wait()
    await customers_write(sandbox, customers, range(3, REAL_MESSAGES_EACH))  # while it is down
    async with bot_process(sandbox.base_url, tmp_path, real=True) as second:
        before = sum((await answered(sandbox, customers)).values())
        while sum((await answered(sandbox, customers)).values()) < before + 10:
            await asyncio.sleep(0.05)
        second.send_signal(signal.SIGKILL)  # while catching up
        await second.wait()
    async with bot_process(sandbox.base_url, tmp_path, real=True):
        counts = await wait_until_answered(sandbox, customers, REAL_MESSAGES_EACH, 90)

    assert min(counts.values()) >= REAL_MESSAGES_EACH, counts
    duplicates = sum(counts.values()) - len(customers) * REAL_MESSAGES_EACH
    assert duplicates <= 2 * len(customers), f"{duplicates} duplicate answers"  # in flight, twice
    for customer_id, lines in (await transcripts(tmp_path, customers)).items():
        said = [text for sender, text in lines if sender == "customer"]
        assert said == ["/start", *asked] or said == asked, (customer_id, said)
        assert sum(1 for sender, _ in lines if sender == "bot") == REAL_MESSAGES_EACH


async def test_5xx_and_429_answers_delay_messages_but_lose_none_and_break_no_limit(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    await sandbox.set_limits(enabled=True, per_chat_per_s=50, per_chat_burst=20, global_per_s=2000)
    customers = [(await sandbox.add_user(f"C{i}"))["id"] for i in range(10)]
    for agent in example_config().agents:  # told their shift started as the bot starts
        await sandbox.add_user(agent.name.split()[0], id=agent.id)
        await sandbox.send(agent.id, "/start")
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        await sandbox.fault("sendMessage", 502, "Bad Gateway", count=5)
        await customers_write(sandbox, customers, range(1))
        await wait_until_answered(sandbox, customers, 1, 30)
        await sandbox.fault(
            "sendMessage", 429, "Too Many Requests: retry after 1", count=3, retry_after=1
        )
        await customers_write(sandbox, customers, range(1, 3))
        counts = await wait_until_answered(sandbox, customers, 3, 30)
        stats = bot.outbox.stats

    assert counts == dict.fromkeys(customers, 3)
    assert stats.too_many_requests == 3 and stats.retried == 5 and stats.failed == 0
