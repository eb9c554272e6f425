"""Nothing is lost (SPEC §8): the bot process is killed with SIGKILL mid-traffic and restarted, or
Telegram answers 5xx and 429; every customer message is still answered, and duplicates stay within
the sends that were in flight at the kill (one per chat at most: the outbox sends one at a time per
chat).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.sandbox_support import SandboxClient
from tests.support.frontdoor import example_config, running_frontdoor
from tests.support.processes import (
    answered,
    bot_process,
    customers_write,
    sqlite_url,
    transcripts,
    wait_until_answered,
)

CUSTOMERS = 50
MESSAGES_EACH = 10
REAL_CUSTOMERS = 20  # at Telegram's real limits: a chat takes one message a second
REAL_MESSAGES_EACH = 6  # under the spam throttle's 8 in 10 s


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
    for customer_id, lines in (await transcripts(sqlite_url(tmp_path), customers)).items():
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
