"""`frontdoor sandbox` as a newcomer runs it: stopped with Ctrl-C or SIGTERM it exits at once (not
after its long poll's 25 s), and restarted on a kept database (`--db`) it answers the first
message, as Telegram never hands a bot an update or message id it has seen (SPEC §7, §8)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from frontdoor.sandbox_command import free_port
from tests.sandbox_support import SandboxClient

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "Apakah jawaban ini membantu?"  # how every FAQ answer ends


@asynccontextmanager
async def sandbox_command(
    database: Path,
) -> AsyncIterator[tuple[SandboxClient, asyncio.subprocess.Process]]:
    """`frontdoor sandbox --db DATABASE` running; a control API client for it."""
    api_port = free_port("127.0.0.1")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "frontdoor", "sandbox", "--db", str(database),
        "--api-port", str(api_port), "--web-port", str(free_port("127.0.0.1")),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    async with asyncio.timeout(60):
        while b"is running" not in (line := await process.stdout.readline()):
            assert line, "frontdoor sandbox exited before it was running"
    try:
        async with aiohttp.ClientSession() as session:
            yield SandboxClient(f"http://127.0.0.1:{api_port}", session), process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def asks_and_is_answered(sandbox: SandboxClient) -> int:
    """Budi, the sandbox's first customer, asks how to pay; the update id of his question."""
    budi = next(u for u in await sandbox.users() if u["first_name"] == "Budi")
    sent = await sandbox.send(budi["id"], "cara bayar tagihan")
    await sandbox.wait_for(
        budi["id"],
        lambda m: (
            m["message_id"] > sent["message"]["message_id"] and PROMPT in (m.get("text") or "")
        ),
        timeout=20,
    )
    return int(sent["update_id"])


async def stopped_within(process: asyncio.subprocess.Process, signum: int) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    process.send_signal(signum)
    async with asyncio.timeout(30):
        assert await process.wait() == 0
    return loop.time() - started


async def test_a_restarted_sandbox_on_a_kept_database_answers_and_each_stop_is_prompt(
    tmp_path: Path,
) -> None:
    database = tmp_path / "kept.db"
    async with sandbox_command(database) as (sandbox, process):
        first_question = await asks_and_is_answered(sandbox)
        first_stop = await stopped_within(process, signal.SIGTERM)
    async with sandbox_command(database) as (sandbox, process):
        second_question = await asks_and_is_answered(sandbox)
        second_stop = await stopped_within(process, signal.SIGINT)

    assert second_question > first_question  # numbered on, as Telegram would
    assert first_stop < 10 and second_stop < 10  # the long poll waits 25 s
