"""Many agents press Claim on the same conversation at once: exactly one wins (SPEC §4.1)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from handoff.router import ClaimResult
from tests.support.configs import make_config
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
