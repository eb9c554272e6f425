"""Several workers on one PostgreSQL behind nginx (issue 18): three `frontdoor run` processes in
webhook mode, Telegram's deliveries spread over them by nginx with the sample config of the repo,
at Telegram's real limits. Every message is answered once, in order per chat, one winner per
claim, no limit broken; a worker killed mid-burst (the leader, which sends) loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdoor.sandbox_command import free_port
from handoff.db import create_engine
from tests.sandbox_support import SandboxClient
from tests.support.desk import GROUP_ID, from_bot, text_of
from tests.support.frontdoor import example_config
from tests.support.nginx import NGINX, nginx
from tests.support.postgres import (
    cluster,
    empty_postgres,
    needs_postgres,
    new_database,
    server_binaries,
)
from tests.support.processes import (
    ROOT,
    bot_process,
    customers_write,
    transcripts,
    wait_until_answered,
)

pytestmark = [
    needs_postgres,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/nginx.sh)"),
]
WORKERS = 3
CUSTOMERS = 40
ROUNDS = 4  # FAQ questions each (under the spam throttle's 8 in 10 s)
SECRET = "workers-test-secret"
AGENTS = {agent.id: agent.name.split()[0] for agent in example_config().agents}
TUESDAY_10_WIB = "2026-11-24T10:00:00+07:00"  # the support team's morning shift is on


@contextlib.asynccontextmanager
async def workers(
    sandbox: SandboxClient,
    directory: Path,
    database_url: str,
    count: int,
    claim_timeout: str = "60s",
) -> AsyncIterator[list[tuple[asyncio.subprocess.Process, int]]]:
    """`count` workers behind nginx, each its own `frontdoor run` with its own port: (process,
    port) each, the first started first (it leads)."""
    ports = [free_port("127.0.0.1") for _ in range(count)]
    async with nginx(directory, ports) as entry, contextlib.AsyncExitStack() as stack:
        environment = {
            "FRONTDOOR_BOT_MODE": "webhook",
            "FRONTDOOR_WEBHOOK_URL": f"http://127.0.0.1:{entry}/telegram/webhook",
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
        }
        started = []
        for number, port in enumerate(ports):
            home = directory / f"worker{number}"
            home.mkdir()
            config = group_config(home, claim_timeout)
            process = await stack.enter_async_context(
                bot_process(
                    sandbox.base_url,
                    home,
                    real=True,
                    database_url=database_url,
                    environment={**environment, "FRONTDOOR_WEB_PORT": str(port)},
                    config=config,
                    options=["--clock", TUESDAY_10_WIB],
                    log=stack.enter_context((home / "worker.log").open("wb")),
                )
            )
            started.append((process, port))
        yield started


def group_config(directory: Path, claim_timeout: str = "60s") -> Path:
    """The example config with the agents' group set (and a claim timeout, a sweep a second)."""
    path = directory / "group.yaml"
    text = (ROOT / "config" / "frontdoor.yaml").read_text()
    text = text.replace("  agents_group_id: null", f"  agents_group_id: {GROUP_ID}", 1)
    text = text.replace(
        "  claim_timeout: 60s", f"  claim_timeout: {claim_timeout}\n  sweep_every: 1s", 1
    )
    path.write_text(text)
    return path


async def start_agents(sandbox: SandboxClient) -> None:
    for agent_id, name in AGENTS.items():
        await sandbox.add_user(name, id=agent_id)
    await sandbox.add_group("Agents", list(AGENTS), id=GROUP_ID)
    for agent_id in AGENTS:
        await sandbox.send(agent_id, "/start")


async def worker_metrics(port: int) -> dict[str, float]:
    """A worker's /metrics: each sample's value by its name (samples without labels)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        body = await response.text()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if not sample.labels
    }


async def ready(port: int) -> tuple[int, bool]:
    """A worker's /readyz: its status, and whether it says it leads."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/readyz") as response,
    ):
        return response.status, (await response.json())["leads"]


async def leaders(ports: list[int]) -> list[int]:
    """The ports of the workers that say they lead."""
    return [port for port in ports if (await worker_metrics(port))["frontdoor_leader"] == 1]


async def refused(sandbox: SandboxClient) -> int:
    return (await sandbox.request("GET", "/sandbox/limits"))[1]["refused"]


async def test_three_workers_behind_nginx_answer_every_message_once_in_order(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    url = await empty_postgres()
    await start_agents(sandbox)
    customers = [(await sandbox.add_user(f"C{i}"))["id"] for i in range(CUSTOMERS)]
    await sandbox.set_limits(enabled=True)  # Telegram's: 1/s a chat, 20/min a group, 30/s overall
    before = await refused(sandbox)
    asked = [f"cara bayar tagihan ke-{i}" for i in range(ROUNDS)]

    engine = create_engine(url)
    async with workers(sandbox, tmp_path, url, WORKERS) as started:
        ports = [port for _, port in started]
        readiness = [await ready(port) for port in ports]
        assert readiness == [(200, True), (200, False), (200, False)], readiness
        await customers_write(sandbox, customers, range(ROUNDS))
        counts = await wait_until_answered(sandbox, customers, ROUNDS, 60)
        # nginx spread the deliveries over all three; one of them sent every answer.
        handled = [
            (await worker_metrics(port))["frontdoor_updates_handled_total"] for port in ports
        ]
        assert all(share > 0 for share in handled), handled
        assert await leaders(ports) == ports[:1]
        # Two customers ask for a person; their cards reach the group, one claim wins each.
        wanting = customers[:2]
        for customer in wanting:
            await sandbox.send(customer, "minta cs")
        cards = [await card_of(sandbox, customer) for customer in wanting]
        for card in cards:
            data = card_claim(card)
            answers = await asyncio.gather(
                *(sandbox.press(agent, GROUP_ID, card["message_id"], data) for agent in AGENTS)
            )
            assert len(answers) == len(AGENTS)
        winners = await claimed_by(sandbox, cards)
        # Each winner talks with their customer through the bot, both ways, and closes.
        for card, customer, found in zip(cards, wanting, winners, strict=True):
            (agent,) = found
            number = card_claim(card).split(":")[1]
            context = await sandbox.wait_for(agent, lambda m, n=number: is_context(m, n), 10)
            await sandbox.send(
                agent, f"Halo, saya bantu #{number}", reply_to_message_id=context["message_id"]
            )
            await sandbox.wait_for(customer, lambda m, n=number: f"bantu #{n}" in text_of(m), 10)
            await sandbox.send(customer, f"modem saya merah {number}")
            relayed = await sandbox.wait_for(
                agent, lambda m, n=number: f"modem saya merah {n}" in text_of(m), 10
            )
            await sandbox.send(agent, "/close", reply_to_message_id=relayed["message_id"])
        await until(engine, "SELECT count(*) FROM conversation WHERE state = 'closed'", 2)

    await engine.dispose()
    assert counts == dict.fromkeys(customers, ROUNDS), counts
    for customer, lines in (await transcripts(url, customers)).items():
        said = [text for sender, text in lines if sender == "customer"]
        assert said[:ROUNDS] == asked, (customer, said)
        assert sum(1 for sender, text in lines[: 2 * ROUNDS] if sender == "bot") == ROUNDS
    assert all(len(found) == 1 for found in winners), winners
    assert await refused(sandbox) == before


async def card_of(sandbox: SandboxClient, customer: int) -> dict:
    name = next(u["first_name"] for u in await sandbox.users() if u["id"] == customer)
    return await sandbox.wait_for(
        GROUP_ID, lambda m: from_bot(m) and f"· {name}" in text_of(m) and card_claim(m), 20
    )


def card_claim(message: dict) -> str:
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if str(button.get("callback_data", "")).startswith("claim:"):
                return button["callback_data"]
    return ""


def is_context(message: dict, number: str) -> bool:
    """The context message a claim's winner gets (not an offer notice)."""
    shown = text_of(message)
    return from_bot(message) and f"#{number}" in shown and not shown.startswith("🔔")


async def claimed_by(sandbox: SandboxClient, cards: list[dict]) -> list[set[int]]:
    """For each card's chat, the agents whose private chat got its context (the claim's win),
    once some agent has it."""

    async def holders(number: str) -> set[int]:
        return {
            agent
            for agent in AGENTS
            for m in await sandbox.messages(agent)
            if is_context(m, number)
        }

    found: list[set[int]] = []
    for card in cards:
        number = card_claim(card).split(":")[1]
        async with asyncio.timeout(10):
            while not await holders(number):
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # a second winner would have heard by now
        found.append(await holders(number))
    return found


async def test_workers_started_together_carry_on_when_the_leader_is_killed_mid_burst(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    """`frontdoor run --workers 3`: the leader (it sends) killed mid-burst; the others carry on,
    another leads, nothing is lost, and the killed worker is started again."""
    url = await empty_postgres()
    await start_agents(sandbox)
    customers = [(await sandbox.add_user(f"K{i}"))["id"] for i in range(CUSTOMERS)]
    await sandbox.set_limits(enabled=True)
    before = await refused(sandbox)
    asked = [f"cara bayar tagihan ke-{i}" for i in range(ROUNDS)]
    said: list[str] = []
    base = free_port("127.0.0.1")
    ports = [base + number for number in range(WORKERS)]
    environment = {
        "FRONTDOOR_BOT_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "FRONTDOOR_WEB_PORT": str(base),
    }

    async with nginx(tmp_path, ports) as entry:
        environment["FRONTDOOR_WEBHOOK_URL"] = f"http://127.0.0.1:{entry}/telegram/webhook"
        async with bot_process(
            sandbox.base_url,
            tmp_path,
            real=True,
            database_url=url,
            environment=environment,
            config=group_config(tmp_path),
            options=["--clock", TUESDAY_10_WIB, "--workers", str(WORKERS)],
            said=said,
        ):
            pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", "".join(said))]
            assert len(pids) == WORKERS, said
            (leader,) = await leaders(ports)
            await customers_write(sandbox, customers, range(2))
            await asyncio.sleep(0.5)
            os.kill(pids[ports.index(leader)], signal.SIGKILL)  # its sends in flight, chats in hand
            await customers_write(sandbox, customers, range(2, ROUNDS))
            counts = await wait_until_answered(sandbox, customers, ROUNDS, 60)
            assert len(await leaders([p for p in ports if p != leader])) == 1  # another leads
            restarted = await worker_metrics_when_up(leader)
            assert restarted["frontdoor_leader"] == 0

    assert min(counts.values()) >= ROUNDS, counts
    duplicates = sum(counts.values()) - CUSTOMERS * ROUNDS
    assert duplicates <= 10, f"{duplicates} duplicate answers"  # the sends in flight at the kill
    for customer, lines in (await transcripts(url, customers)).items():
        said_by = [text for sender, text in lines if sender == "customer"]
        assert said_by == asked, (customer, said_by)
    assert await refused(sandbox) == before


async def worker_metrics_when_up(port: int, seconds: float = 30) -> dict[str, float]:
    """A worker's /metrics once it answers (it is being started again)."""
    async with asyncio.timeout(seconds):
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                return await worker_metrics(port)
            await asyncio.sleep(0.2)


@pytest.mark.skipif(server_binaries() is None, reason="PostgreSQL's server binaries are missing")
async def test_the_workers_recover_by_themselves_when_postgresql_restarts_mid_run(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    """PostgreSQL stopped at once (connections cut, as in a crash) and started again while two
    workers answer: they recover without help, and every message is answered, in order."""
    with cluster() as pg:
        url, _ = await new_database(pg.superuser)
        await start_agents(sandbox)
        customers = [(await sandbox.add_user(f"R{i}"))["id"] for i in range(20)]
        await sandbox.set_limits(enabled=True)
        before = await refused(sandbox)
        asked = [f"cara bayar tagihan ke-{i}" for i in range(ROUNDS)]
        async with workers(sandbox, tmp_path, url, 2) as started:
            await customers_write(sandbox, customers, range(2))
            await asyncio.sleep(0.3)  # mid-answer
            await asyncio.to_thread(pg.restart)
            await customers_write(sandbox, customers, range(2, ROUNDS))
            counts = await wait_until_answered(sandbox, customers, ROUNDS, 90)
            assert all(process.returncode is None for process, _ in started)
        kept = await transcripts(url, customers)

    assert min(counts.values()) >= ROUNDS, counts
    duplicates = sum(counts.values()) - len(customers) * ROUNDS
    assert duplicates <= len(customers), f"{duplicates} duplicate answers"
    for customer, lines in kept.items():
        said = [text for sender, text in lines if sender == "customer"]
        assert said == asked, (customer, said)
    assert await refused(sandbox) == before


async def test_offers_nobody_claims_time_out_once_though_the_worker_that_made_them_died(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    """Handoffs nobody claims, with a 2 s claim timeout: the worker that leads (and made some of
    the offers, and armed their timers) is killed; the others' sweeps time the offers out, each
    once (one trail entry per offer timed out), and the chats go on to the next agents until
    the support team's agents, two offers missed each, are all set away."""
    url = await empty_postgres()
    await start_agents(sandbox)
    customers = [(await sandbox.add_user(f"T{i}"))["id"] for i in range(8)]
    await sandbox.set_limits(enabled=True)
    before = await refused(sandbox)
    engine = create_engine(url)
    try:
        async with workers(sandbox, tmp_path, url, WORKERS, claim_timeout="2s") as started:
            await asyncio.gather(*(sandbox.send(customer, "minta cs") for customer in customers))
            await until(engine, "SELECT count(*) FROM offer", len(customers))
            first, _ = started[0]
            first.send_signal(signal.SIGKILL)
            await first.wait()
            timed_out = "SELECT count(*) FROM offer WHERE state = 'timed_out'"
            await until(engine, timed_out, len(customers), seconds=60)
            # The next agents' offers time out too, until the support team is all away.
            pending = "SELECT count(*) = 0 FROM offer WHERE state = 'pending'"
            await until(engine, pending, 1, seconds=60)
        async with engine.connect() as conn:
            offers = (await conn.execute(text(timed_out))).scalar_one()
            notes = (
                await conn.execute(
                    text("SELECT count(*) FROM trail_event WHERE kind = 'timed_out'")
                )
            ).scalar_one()
            twice = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM (SELECT conversation_id, agent_id, created_at "
                        "FROM offer GROUP BY 1, 2, 3 HAVING count(*) > 1) AS doubled"
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()

    assert notes == offers > len(customers)  # each timeout fired once
    assert twice == 0  # no offer made twice
    assert await refused(sandbox) == before


async def until(engine: AsyncEngine, query: str, at_least: int, seconds: float = 20) -> None:
    """Wait until the number `query` gives reaches `at_least`."""
    async with asyncio.timeout(seconds):
        while True:
            async with engine.connect() as conn:
                if (await conn.execute(text(query))).scalar_one() >= at_least:
                    return
            await asyncio.sleep(0.2)
