"""APScheduler timers carry out deadlines; after a restart they are recomputed from the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from handoff import unit_of_work
from handoff.clock import ManualClock, SystemClock
from handoff.db import create_engine, create_schema
from handoff.events import OfferEnded, OfferMade
from handoff.router import Router
from handoff.states import AgentStatus
from handoff.timers import RoutingScheduler
from handoff.workers import Heard, PostgresWorkers
from tests.support.configs import make_config
from tests.support.postgres import empty_postgres, needs_postgres
from tests.support.routing import new_chat, pending_offer_agent


async def wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def test_an_offer_deadline_fires_on_time_and_requeues_to_the_next_agent(tmp_path):
    config = make_config(agents=[{"id": 1}, {"id": 2}], claim_timeout="300ms", sweep_every="60s")
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    await create_schema(engine)
    router = Router(engine, config, SystemClock())
    await router.sync_agents()
    seen = []

    async def record(events):
        seen.extend(events)

    router.listeners.append(record)
    timers = RoutingScheduler(router)
    await timers.start()
    try:
        started = asyncio.get_running_loop().time()  # before the offer: its 300 ms count from it
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) == 1

        async def moved_on() -> bool:
            return await pending_offer_agent(router, chat) == 2

        await wait_until(moved_on)
        elapsed = asyncio.get_running_loop().time() - started
        assert 0.25 < elapsed < 2.0  # the timer, not the 60 s sweep
        assert any(isinstance(e, OfferEnded) and e.agent_id == 1 for e in seen)
    finally:
        timers.shutdown()
        await unit_of_work.dispose(engine)


async def test_after_a_restart_overdue_offers_are_requeued_from_stored_deadlines(tmp_path):
    config = make_config(agents=[{"id": 1}, {"id": 2}], claim_timeout="60s")
    url = f"sqlite+aiosqlite:///{tmp_path / 'f.db'}"
    clock = ManualClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))

    engine = create_engine(url)
    await create_schema(engine)
    first = Router(engine, config, clock)
    await first.sync_agents()
    chat = await new_chat(first, 100)
    assert await pending_offer_agent(first, chat) == 1
    await unit_of_work.dispose(engine)  # the process dies here, its timers with it

    clock.advance(120)
    engine = create_engine(url)
    second = Router(engine, config, clock)
    made = []

    async def record(events):
        made.extend(e for e in events if isinstance(e, OfferMade))

    second.listeners.append(record)
    timers = RoutingScheduler(second)
    try:
        await timers.start()  # recover(): overdue deadline → expire now, then a sweep
        assert await pending_offer_agent(second, chat) == 2
        assert [e.agent_id for e in made] == [2]
        # The recovered timer for the old offer may still run; it must change nothing.
        await asyncio.sleep(0.1)
        assert await pending_offer_agent(second, chat) == 2
    finally:
        timers.shutdown()
        await unit_of_work.dispose(engine)


async def test_the_next_shift_boundary_is_armed(tmp_path):
    config = make_config(agents=[{"id": 1, "shift": "office"}])
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    await create_schema(engine)
    clock = ManualClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # Mon 10:00 WIB, on shift
    router = Router(engine, config, clock)
    await router.sync_agents()
    timers = RoutingScheduler(router)
    try:
        timers.arm_shift_boundary()
        timers.timers.scheduler.start(paused=True)
        job = timers.timers.scheduler.get_job("shift-boundary")
        remaining = (job.trigger.run_date - datetime.now(UTC)).total_seconds()
        assert abs(remaining - 7 * 3600) < 5  # ends 17:00 WIB, seven hours later
    finally:
        timers.shutdown()
        await unit_of_work.dispose(engine)


async def test_a_chat_joining_a_queue_with_backup_teams_arms_a_drain_when_it_may_overflow(
    tmp_path,
):
    config = make_config(
        teams={"support": {}, "billing": {"secondary": ["support"]}},
        agents=[{"id": 1, "teams": ["billing"]}],
        intents={"invoice": {"keywords": {"id": ["tagihan"]}, "team": "billing"}},
        overflow_after="5m",
    )
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    await create_schema(engine)
    clock = ManualClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    router = Router(engine, config, clock)
    await router.sync_agents()
    await router.set_agent_status(1, AgentStatus.AWAY)
    timers = RoutingScheduler(router)
    try:
        timers.timers.scheduler.start(paused=True)
        billing = await router.request_handoff(7, intent="invoice", text="tagihan")
        support = await router.request_handoff(8, intent=None, text="halo")

        job = timers.timers.scheduler.get_job(f"overflow-{billing.conversation_id}")
        remaining = (job.trigger.run_date - datetime.now(UTC)).total_seconds()
        assert abs(remaining - 300) < 5
        # Support backs nobody up through a secondary team: nothing to wait for.
        assert timers.timers.scheduler.get_job(f"overflow-{support.conversation_id}") is None
    finally:
        timers.shutdown()
        await unit_of_work.dispose(engine)


@needs_postgres
async def test_a_deadline_armed_by_a_worker_that_died_fires_on_time_in_another(tmp_path):
    """Worker A makes an offer and dies before its deadline (its timers with it); worker B was
    told of the offer (NOTIFY) and times it out at the deadline, not at its next sweep (an hour
    away here)."""
    config = make_config(agents=[{"id": 1}, {"id": 2}], claim_timeout="400ms", sweep_every="1h")
    url = await empty_postgres()
    engines = [create_engine(url), create_engine(url)]
    await create_schema(engines[0])
    a, b = (Router(engine, config, SystemClock()) for engine in engines)
    await a.sync_agents()
    a_workers, b_workers = PostgresWorkers(url), PostgresWorkers(url)
    a_timers = RoutingScheduler(a, workers=a_workers)
    b_timers = RoutingScheduler(b, workers=b_workers)
    listening = asyncio.Event()

    async def lead() -> None:
        listening.set()  # (B leads: A never asks) its connection hears the others from now on
        await asyncio.Event().wait()

    heard = Heard(lambda: None, lambda: None, b_timers.arm_offer)
    b_listens = asyncio.create_task(b_workers.lead(lead, heard))
    try:
        await asyncio.gather(a_timers.start(), b_timers.start())
        await listening.wait()
        started = asyncio.get_running_loop().time()
        chat = await new_chat(a, 100)
        assert await pending_offer_agent(a, chat) == 1
        a_timers.shutdown()  # A dies: its timer for the offer never fires

        async def moved_on() -> bool:
            return await pending_offer_agent(b, chat) == 2

        await wait_until(moved_on)
        elapsed = asyncio.get_running_loop().time() - started
        assert 0.35 < elapsed < 3.0  # B's timer for A's offer, not B's sweep
    finally:
        b_listens.cancel()
        await asyncio.gather(b_listens, return_exceptions=True)
        b_timers.shutdown()
        for workers in (a_workers, b_workers):
            await workers.close()
        for engine in engines:
            await unit_of_work.dispose(engine)


@needs_postgres
async def test_workers_firing_the_same_deadlines_at_once_each_time_out_different_offers(
    tmp_path,
):
    """Every worker armed the deadlines: when they fall due, three routers time the overdue
    offers out side by side, each claiming the rows the others have not (FOR UPDATE SKIP
    LOCKED): every offer is timed out once, and its chat offered again once."""
    clock = ManualClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
    agents = [{"id": i, "capacity": 1} for i in range(1, 61)]
    config = make_config(agents=agents, claim_timeout="60s")
    url = await empty_postgres()
    engines = [create_engine(url) for _ in range(3)]
    await create_schema(engines[0])
    routers = [Router(engine, config, clock) for engine in engines]
    await routers[0].sync_agents()
    try:
        chats = [await new_chat(routers[0], 100 + n) for n in range(30)]
        first = {chat: await pending_offer_agent(routers[0], chat) for chat in chats}
        clock.advance(61)
        outcomes = await asyncio.gather(*(router.expire_overdue() for router in routers))
        ended = [e for o in outcomes for e in o.events if isinstance(e, OfferEnded)]
        made = [e for o in outcomes for e in o.events if isinstance(e, OfferMade)]
        assert sorted(e.conversation_id for e in ended) == sorted(chats)
        assert sorted(e.conversation_id for e in made) == sorted(chats)
        for chat in chats:
            assert await pending_offer_agent(routers[0], chat) not in (None, first[chat])
    finally:
        for engine in engines:
            await unit_of_work.dispose(engine)
