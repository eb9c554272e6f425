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
from tests.support.configs import make_config
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
