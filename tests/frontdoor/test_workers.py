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
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdoor.cli import CLOCK_SET_AT_ENV
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
MIXED_CUSTOMERS = 300
MIXED_ROUNDS = 2
MIXED_HANDOFFS = 40
MIXED_AGENTS = 20
MIXED_ABSENT = 4  # agents who never claim: their offers time out
MIXED_AGENT_BASE = 3001
RELAYED_WITHIN = 60  # seconds: see `talk_and_close`
TIMED_OUT_OFFERS = "SELECT count(*) FROM offer WHERE state = 'timed_out'"
TIMEOUT_NOTES = "SELECT count(*) FROM trail_event WHERE kind = 'timed_out'"  # one per timeout


@contextlib.asynccontextmanager
async def workers(
    sandbox: SandboxClient,
    directory: Path,
    database_url: str,
    count: int,
    claim_timeout: str = "60s",
    config: Path | None = None,
) -> AsyncIterator[list[tuple[asyncio.subprocess.Process, int]]]:
    """`count` workers behind nginx, each its own `frontdoor run` with its own port: (process,
    port) each, the first started first (it leads)."""
    ports = [free_port("127.0.0.1") for _ in range(count)]
    async with nginx(directory, ports) as entry, contextlib.AsyncExitStack() as stack:
        environment = {
            "FRONTDOOR_BOT_MODE": "webhook",
            "FRONTDOOR_WEBHOOK_URL": f"http://127.0.0.1:{entry}/telegram/webhook",
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            # Their clocks agree, though started one after another (as `--workers` makes them).
            CLOCK_SET_AT_ENV: datetime.now(UTC).isoformat(),
        }
        started = []
        for number, port in enumerate(ports):
            home = directory / f"worker{number}"
            home.mkdir()
            process = await stack.enter_async_context(
                bot_process(
                    sandbox.base_url,
                    home,
                    real=True,
                    database_url=database_url,
                    environment={**environment, "FRONTDOOR_WEB_PORT": str(port)},
                    config=config or group_config(home, claim_timeout),
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


async def start_agents(sandbox: SandboxClient, agents: dict[int, str] = AGENTS) -> None:
    for agent_id, name in agents.items():
        await sandbox.add_user(name, id=agent_id)
    await sandbox.add_group("Agents", list(agents), id=GROUP_ID)
    for agent_id in agents:
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


async def test_three_workers_300_customers_20_agents_mixed_traffic(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    """The issue's mixed run: 300 customers ask FAQ questions while 40 of them ask for a person;
    16 of 20 agents claim what they are offered (3 of them also race for each card in the group),
    4 never answer so their offers time out; each winner talks with the customer both ways and
    closes. Every FAQ answered once and in order, one winner per chat, each timeout fired once,
    no Telegram limit broken."""
    url = await empty_postgres()
    agents = {MIXED_AGENT_BASE + i: f"Agen{i}" for i in range(MIXED_AGENTS)}
    absent = set(list(agents)[-MIXED_ABSENT:])
    await start_agents(sandbox, agents)
    customers = [(await sandbox.add_user(f"M{i}"))["id"] for i in range(MIXED_CUSTOMERS)]
    wanting = customers[:MIXED_HANDOFFS]
    await sandbox.set_limits(enabled=True)  # Telegram's: 1/s a chat, 20/min a group, 30/s overall
    before = await refused(sandbox)
    asked = [f"cara bayar tagihan ke-{i}" for i in range(MIXED_ROUNDS)]
    config = mixed_config(tmp_path, agents)
    engine = create_engine(url)
    stop = asyncio.Event()
    try:
        async with workers(sandbox, tmp_path, url, WORKERS, config=config) as started:
            ports = [port for _, port in started]
            readiness = [await ready(port) for port in ports]
            assert readiness == [(200, True), (200, False), (200, False)], readiness
            present = [agent for agent in agents if agent not in absent]
            pressing = [
                asyncio.create_task(claim_offers(sandbox, agent, stop)) for agent in present
            ]
            pressing.append(asyncio.create_task(race_for_cards(sandbox, present, stop)))
            others = customers[MIXED_HANDOFFS:]
            await asyncio.gather(
                customers_write(sandbox, others, range(MIXED_ROUNDS)),
                ask_then_want_a_person(sandbox, wanting),
            )
            talks = await asyncio.gather(
                *(talk_and_close(sandbox, engine, customer) for customer in wanting)
            )
            counts = await wait_until_answered(sandbox, customers, MIXED_ROUNDS, 60)
            closed = "SELECT count(*) FROM conversation WHERE state = 'closed'"
            await until(engine, closed, MIXED_HANDOFFS)
            handled = [
                (await worker_metrics(port))["frontdoor_updates_handled_total"] for port in ports
            ]
            assert await leaders(ports) == ports[:1]
            stop.set()
            await asyncio.gather(*pressing)
            winners = [await holders(sandbox, list(agents), number) for number, _ in talks]
        timed_out = await count(engine, TIMED_OUT_OFFERS)
        notes = await count(engine, TIMEOUT_NOTES)
        async with engine.connect() as conn:
            to_absent = (
                await conn.execute(
                    text("SELECT count(*) FROM offer WHERE agent_id IN :absent").bindparams(
                        bindparam("absent", expanding=True)
                    ),
                    {"absent": sorted(absent)},
                )
            ).scalar_one()
    finally:
        stop.set()
        await engine.dispose()

    assert all(share > 0 for share in handled), handled  # nginx spread the deliveries
    assert counts == dict.fromkeys(customers, MIXED_ROUNDS), counts  # once each: none lost
    for customer, lines in (await transcripts(url, customers)).items():
        said = [text for sender, text in lines if sender == "customer"]
        assert said[:MIXED_ROUNDS] == asked, (customer, said)  # in order
    assert [len(found) for found in winners] == [1] * MIXED_HANDOFFS, winners
    assert [{agent} for _, agent in talks] == winners  # the winner is the one who talked
    assert to_absent > 0 and timed_out >= to_absent, (to_absent, timed_out)
    assert notes == timed_out  # each deadline fired once
    assert await refused(sandbox) == before


async def ask_then_want_a_person(sandbox: SandboxClient, customers: list[int]) -> None:
    await customers_write(sandbox, customers, range(MIXED_ROUNDS))
    await asyncio.gather(*(sandbox.send(customer, "minta cs") for customer in customers))


def mixed_config(directory: Path, agents: dict[int, str]) -> Path:
    """`group_config` with `agents` in the support and billing teams, on the morning shift, two
    chats each (fewer places than chats, so the agents who never answer are offered some too),
    and a short claim timeout."""
    path = group_config(directory, claim_timeout="5s")
    listed = "".join(
        f"  - id: {agent}\n    name: {name} Test\n    teams: [support, billing]\n"
        f"    capacity: 2\n    shift: shift_pagi\n"
        for agent, name in agents.items()
    )
    text = re.sub(
        r"\nagents:\n(  .*\n|    .*\n)+", f"\nagents:\n{listed}", path.read_text(), count=1
    )
    mixed = directory / "mixed.yaml"
    mixed.write_text(text)
    return mixed


def claim_buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [
        button["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for button in row
        if str(button.get("callback_data", "")).startswith("claim:")
    ]


async def claim_offers(sandbox: SandboxClient, agent: int, stop: asyncio.Event) -> None:
    """An agent who presses Claim on each offer the bot's notices show them, once each."""
    pressed: set[tuple[int, str]] = set()
    while not stop.is_set():
        for message in await sandbox.messages(agent):
            for data in claim_buttons(message):
                if (message["message_id"], data) not in pressed:
                    pressed.add((message["message_id"], data))
                    await sandbox.press(agent, agent, message["message_id"], data)
        await asyncio.sleep(0.3)


async def race_for_cards(sandbox: SandboxClient, agents: list[int], stop: asyncio.Event) -> None:
    """Three agents press each card's Claim button in the group at the same moment."""
    pressed: set[int] = set()
    turn = 0
    while not stop.is_set():
        for card in await sandbox.messages(GROUP_ID):
            data = card_claim(card) if from_bot(card) else ""
            if data and card["message_id"] not in pressed:
                pressed.add(card["message_id"])
                racers = [agents[(turn + k) % len(agents)] for k in range(3)]
                turn += 1
                await asyncio.gather(
                    *(sandbox.press(a, GROUP_ID, card["message_id"], data) for a in racers)
                )
        await asyncio.sleep(0.3)


async def talk_and_close(
    sandbox: SandboxClient, engine: AsyncEngine, customer: int
) -> tuple[str, int]:
    """Once an agent holds the customer's chat: they talk both ways through the bot and the
    agent closes it. The chat's number and the agent."""
    query = text(
        "SELECT id, agent_id FROM conversation WHERE customer_id = :customer AND state = 'assigned'"
    )
    async with asyncio.timeout(90):
        while True:
            async with engine.connect() as conn:
                held = (await conn.execute(query, {"customer": customer})).first()
            if held is not None:
                break
            await asyncio.sleep(0.3)
    number, agent = str(held.id), held.agent_id
    # A relay to a customer queues with the other customers' answers: some 600 FAQ answers at
    # Telegram's ~25 a second take up to 24 s, more on a loaded machine.
    context = await sandbox.wait_for(agent, lambda m: is_context(m, number), RELAYED_WITHIN)
    await sandbox.send(
        agent, f"Halo, saya bantu #{number}.", reply_to_message_id=context["message_id"]
    )
    await sandbox.wait_for(customer, lambda m: f"bantu #{number}." in text_of(m), RELAYED_WITHIN)
    await sandbox.send(customer, f"modem saya merah {number}.")
    relayed = await sandbox.wait_for(
        agent, lambda m: f"modem saya merah {number}." in text_of(m), RELAYED_WITHIN
    )
    await sandbox.send(agent, "/close", reply_to_message_id=relayed["message_id"])
    return number, agent


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
    return (
        from_bot(message)
        and re.search(rf"#{number}(?!\d)", shown) is not None
        and not shown.startswith("🔔")
    )


async def holders(sandbox: SandboxClient, agents: list[int], number: str) -> set[int]:
    """The agents whose private chat got chat `number`'s context (a claim's win)."""
    return {
        agent for agent in agents for m in await sandbox.messages(agent) if is_context(m, number)
    }


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


async def test_a_reload_on_one_worker_reloads_every_worker(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    """A manager's `/reload` reaches one worker (nginx picks it); it tells the others (NOTIFY),
    which read their config file again: every customer gets the new answer, whichever worker
    handles them. The file is not watched (`config_check_every: 0`), so only `/reload` changes
    anything; the manager is answered once."""
    url = await empty_postgres()
    await start_agents(sandbox)
    customers = [(await sandbox.add_user(f"L{i}"))["id"] for i in range(12)]
    unwatched = tmp_path / "unwatched.yaml"
    watched = group_config(tmp_path).read_text()
    unwatched.write_text(watched.replace("config_check_every: 2s", "config_check_every: 0s", 1))
    manager = next(agent.id for agent in example_config().agents if agent.manager)
    async with workers(sandbox, tmp_path, url, 2, config=unwatched) as started:
        ports = [port for _, port in started]
        for number in range(len(ports)):
            own = tmp_path / f"worker{number}" / "fast.yaml"
            own.write_text(own.read_text().replace("Cara bayar tagihan:", "Cara bayar (baru):"))
        await sandbox.send(manager, "/reload")
        await sandbox.wait_for(manager, lambda m: "Config reloaded" in text_of(m), 20)
        async with asyncio.timeout(20):  # each worker reloaded once
            while await reloads(ports) != [1] * len(ports):
                await asyncio.sleep(0.2)
        await customers_write(sandbox, customers, range(2))
        counts = await wait_until_answered(sandbox, customers, 2, 30)
        handled = [(await worker_metrics(p))["frontdoor_updates_handled_total"] for p in ports]
    assert counts == dict.fromkeys(customers, 2), counts
    assert all(share > 0 for share in handled), handled
    for customer in customers:
        answers = [text_of(m) for m in await sandbox.messages(customer) if from_bot(m)]
        assert sum("(baru)" in answer for answer in answers) == 2, answers
    replies = [m for m in await sandbox.messages(manager) if "Config reloaded" in text_of(m)]
    assert len(replies) == 1


async def reloads(ports: list[int]) -> list[float]:
    return [(await worker_metrics(port))["frontdoor_config_reloads_total"] for port in ports]


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
            await until(engine, TIMED_OUT_OFFERS, len(customers), seconds=60)
            # The next agents' offers time out too, until the support team is all away.
            pending = "SELECT count(*) = 0 FROM offer WHERE state = 'pending'"
            await until(engine, pending, 1, seconds=60)
        offers = await count(engine, TIMED_OUT_OFFERS)
        notes = await count(engine, TIMEOUT_NOTES)
        async with engine.connect() as conn:
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
        while await count(engine, query) < at_least:
            await asyncio.sleep(0.2)


async def count(engine: AsyncEngine, query: str) -> int:
    """The number `query` gives."""
    async with engine.connect() as conn:
        return (await conn.execute(text(query))).scalar_one()
