"""Many agents press Claim on the same conversation at once: exactly one wins (SPEC §4.1)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from handoff import unit_of_work
from handoff.db import create_engine
from handoff.router import ClaimResult, Router
from handoff.states import AgentStatus
from tests.support.configs import make_config
from tests.support.postgres import needs_postgres
from tests.support.routing import DATABASES, agent, conversation, new_chat, running_router

CLAIMANTS = 50


@pytest.mark.parametrize("database", DATABASES)
async def test_fifty_simultaneous_claims_of_one_offered_conversation_have_exactly_one_winner(
    tmp_path, database
):
    config = make_config(
        agents=[{"id": i, "capacity": 2} for i in range(1, CLAIMANTS + 1)], claim="anyone"
    )
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        outcomes = await asyncio.gather(
            *(router.claim(chat, agent_id, how="take") for agent_id in range(1, CLAIMANTS + 1))
        )
        results = Counter(o.result for o in outcomes)
        assert results[ClaimResult.CLAIMED] == 1
        assert results[ClaimResult.ALREADY_CLAIMED] == CLAIMANTS - 1
        winner = next(o.holder_id for o in outcomes if o.result is ClaimResult.CLAIMED)
        assert {o.holder_id for o in outcomes} == {winner}  # every loser is told who won
        row = await conversation(router, chat)
        assert row.agent_id == winner
        loads = [(await agent(router, i)).load for i in range(1, CLAIMANTS + 1)]
        assert sorted(loads) == [0] * (CLAIMANTS - 1) + [1]


@pytest.mark.parametrize("database", DATABASES)
async def test_the_offered_agent_double_pressing_claims_once(tmp_path, database):
    config = make_config(agents=[{"id": 1}])
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        outcomes = await asyncio.gather(*(router.claim(chat, 1) for _ in range(10)))
        assert Counter(o.result for o in outcomes)[ClaimResult.CLAIMED] == 1
        assert (await agent(router, 1)).load == 1


ARRIVALS = 90


@needs_postgres
async def test_ninety_arrivals_at_once_through_three_workers_are_each_routed_once(tmp_path):
    """Three routers on one PostgreSQL (three workers' worth of connections) decide 90 arrivals
    side by side: they all pick the agent idle longest, all but one lose the compare-and-set and
    run again holding the routing lock, so none fails (without it, about half failed after five
    tries), and no agent is offered more chats than it has places."""
    config = make_config(agents=[{"id": i, "capacity": 2} for i in range(1, 31)])
    async with running_router(tmp_path, config, database="postgresql") as router:
        url = router.engine.url.render_as_string(hide_password=False)
        others = [Router(create_engine(url), config, router.clock) for _ in range(2)]
        workers = [router, *others]
        customers = range(100, 100 + ARRIVALS)
        for customer in customers:
            await router.ensure_customer(customer, name=f"Customer{customer}")
        try:
            outcomes = await asyncio.gather(
                *(
                    workers[customer % 3].request_handoff(customer, intent=None, text="halo")
                    for customer in customers
                )
            )
        finally:
            for other in others:
                await unit_of_work.dispose(other.engine)
        chats = [outcome.conversation_id for outcome in outcomes]
        assert None not in chats and len(set(chats)) == ARRIVALS
        states = Counter([(await conversation(router, chat)).state for chat in chats])
        assert states == {"offered": 60, "queued": 30}
        offered = [(await agent(router, i)).pending_offers for i in range(1, 31)]
        assert offered == [2] * 30


@pytest.mark.parametrize("database", DATABASES)
async def test_a_chat_taken_from_under_an_offer_frees_the_offered_agent_for_the_next(
    tmp_path, database
):
    """Agent 3 (away, so offered nothing) cherry-picks the first chat, offered to agent 1 (idle
    longest): agent 1's place is free again, and the chat waiting next is offered to them."""
    config = make_config(agents=[{"id": i, "capacity": 1} for i in (1, 2, 3)], claim="anyone")
    async with running_router(tmp_path, config, database=database) as router:
        await router.set_agent_status(3, AgentStatus.AWAY)
        first, _, third = [await new_chat(router, customer) for customer in (100, 101, 102)]
        assert (await conversation(router, third)).state == "queued"
        assert (await agent(router, 1)).pending_offers == 1

        outcome = await router.claim(first, 3, how="take")

        assert outcome.result is ClaimResult.CLAIMED
        assert (await conversation(router, third)).state == "offered"
        assert (await agent(router, 1)).pending_offers == 1
