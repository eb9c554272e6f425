"""Random sequences of arrivals, claims, timeouts, releases, status changes and closes against the
routing service on a real SQLite file, checking SPEC §4's promises after every step."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import select

from handoff import store, unit_of_work
from handoff.clock import ManualClock
from handoff.db import create_engine, create_schema, memory_url
from handoff.events import OfferMade
from handoff.router import Router
from handoff.states import AgentStatus, ConversationState, OfferState
from tests.support.configs import make_config
from tests.support.routing import MONDAY_10_WIB, trail

C = ConversationState
AGENTS = [
    {"id": 1, "teams": ["support"], "capacity": 1},
    {"id": 2, "teams": ["support"], "capacity": 2},
    {"id": 3, "teams": ["billing"], "capacity": 1},
    {"id": 4, "teams": ["billing", "support"], "capacity": 2, "manager": True},
]
CONFIG = make_config(
    teams={"support": {}, "billing": {"secondary": ["support"]}},
    agents=AGENTS,
    intents={"invoice": {"keywords": {"id": ["tagihan"]}, "team": "billing"}},
    claim_timeout="60s",
    overflow_after="5m",
    max_attempts=3,
    max_missed_offers=2,
    aging="60s",
    vip={"customers": [100, 101], "boost": 3},
)
AGENT_IDS = [a["id"] for a in AGENTS]
TEAMS_OF = {a["id"]: set(a["teams"]) for a in AGENTS}


class RoutingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(memory_url())  # the same SQL, steps inline: many examples
        self.clock = ManualClock(MONDAY_10_WIB)
        self.router = Router(self.engine, CONFIG, self.clock)
        self.offers_this_step: list[OfferMade] = []

        async def remember(events):
            self.offers_this_step += [e for e in events if isinstance(e, OfferMade)]

        self.router.listeners.append(remember)
        self.run(create_schema(self.engine))
        self.run(self.router.sync_agents())
        self.customers = 0
        self.conversation_ids: list[int] = []

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(unit_of_work.dispose(self.engine))
        self.loop.close()

    def step(self, coroutine) -> None:
        self.offers_this_step = []
        self.run(coroutine)

    # ---- actions ------------------------------------------------------------------------

    @rule(billing=st.booleans(), vip=st.booleans())
    def arrive(self, billing: bool, vip: bool) -> None:
        self.customers += 1
        customer = (100 + self.customers % 2) if vip else 1000 + self.customers

        async def go():
            await self.router.ensure_customer(customer)
            outcome = await self.router.request_handoff(
                customer, intent="invoice" if billing else None, text="x"
            )
            if outcome.conversation_id not in self.conversation_ids:
                self.conversation_ids.append(outcome.conversation_id)

        self.step(go())

    @precondition(lambda self: self.conversation_ids)
    @rule(data=st.data(), agent=st.sampled_from(AGENT_IDS), how=st.sampled_from(["claim", "take"]))
    def claim(self, data, agent: int, how: str) -> None:
        conversation = data.draw(st.sampled_from(self.conversation_ids))
        self.step(self.router.claim(conversation, agent, how=how))

    @precondition(lambda self: self.conversation_ids)
    @rule(data=st.data())
    def offered_agent_claims(self, data) -> None:
        conversation = data.draw(st.sampled_from(self.conversation_ids))

        async def go():
            async with self.engine.connect() as conn:
                offer = await conn.run_sync(store.pending_offer, conversation)
            if offer is not None:
                await self.router.claim(conversation, offer.agent_id)

        self.step(go())

    @rule(seconds=st.integers(min_value=1, max_value=400))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.step(self.router.sweep())

    @precondition(lambda self: self.conversation_ids)
    @rule(data=st.data(), by_holder=st.booleans())
    def release(self, data, by_holder: bool) -> None:
        conversation = data.draw(st.sampled_from(self.conversation_ids))
        agent = data.draw(st.sampled_from(AGENT_IDS))

        async def go():
            row = await self._conversation(conversation)
            await self.router.release(
                conversation, row.agent_id if by_holder and row.agent_id else agent
            )

        self.step(go())

    @precondition(lambda self: self.conversation_ids)
    @rule(data=st.data())
    def close(self, data) -> None:
        conversation = data.draw(st.sampled_from(self.conversation_ids))
        agent = data.draw(st.sampled_from(AGENT_IDS))
        self.step(self.router.close(conversation, by_agent_id=agent))

    @precondition(lambda self: self.conversation_ids)
    @rule(data=st.data(), to_team=st.booleans())
    def transfer(self, data, to_team: bool) -> None:
        conversation = data.draw(st.sampled_from(self.conversation_ids))
        by = data.draw(st.sampled_from(AGENT_IDS))
        if to_team:
            target = data.draw(st.sampled_from(["support", "billing"]))
            self.step(self.router.transfer(conversation, by, to_team=target))
        else:
            target = data.draw(st.sampled_from(AGENT_IDS))
            self.step(self.router.transfer(conversation, by, to_agent_id=target))

    @precondition(lambda self: self.conversation_ids)
    @rule(data=st.data())
    def offer_deadline_passes(self, data) -> None:
        """The scheduler's deadline timer (`handoff.timers`): one offer's claim window ends
        unclaimed, so it times out and its conversation goes to someone else or back to wait."""
        conversation = data.draw(st.sampled_from(self.conversation_ids))

        async def go():
            async with self.engine.connect() as conn:
                offer = await conn.run_sync(store.pending_offer, conversation)
            if offer is None:
                return
            deadline = max(self.clock.now(), offer.deadline)
            # Timers fire in time order: a chat that may go to its backup teams before the
            # deadline is offered to their free agents at that moment (`handoff.timers`).
            for due in await self._overflow_moments(deadline):
                self.clock.set(due)
                await self.router.dispatch_free_agents()
            self.clock.set(deadline)
            await self.router.expire_overdue()

        self.step(go())

    @rule(agent=st.sampled_from(AGENT_IDS), status=st.sampled_from(list(AgentStatus)))
    def status_changes(self, agent: int, status: AgentStatus) -> None:
        self.step(self.router.set_agent_status(agent, status))

    async def _overflow_moments(self, until):
        """When waiting chats of teams with backup teams may overflow, from now to `until`."""
        conversations, _, _ = await self._world()
        after = timedelta(seconds=CONFIG.routing.overflow_after)
        return sorted(
            {
                r.queued_at + after
                for r in conversations
                if r.state == C.QUEUED
                and CONFIG.teams[r.team].secondary
                and self.clock.now() < r.queued_at + after <= until
            }
        )

    # ---- what must always hold ---------------------------------------------------------------

    async def _conversation(self, conversation_id: int):
        async with self.engine.connect() as conn:
            return await conn.run_sync(store.get_conversation, conversation_id)

    async def _world(self):
        async with self.engine.connect() as conn:
            conversations = list(await conn.execute(select(store.conversations)))
            agents = {r.id: r for r in await conn.execute(select(store.agents))}
            offers = list(await conn.execute(select(store.offers)))
        return conversations, agents, offers

    @invariant()
    def the_promises_of_spec_4_hold(self) -> None:
        conversations, agents, offers = self.run(self._world())
        self.nothing_is_lost_or_held_twice_and_nobody_is_over_capacity(
            conversations, agents, offers
        )
        refused = {
            (o.conversation_id, o.agent_id)
            for o in offers
            if o.state in (OfferState.TIMED_OUT, OfferState.DECLINED)
        }
        self.every_waiting_conversation_is_offered_or_has_no_eligible_agent(
            conversations, agents, refused
        )
        self.offers_from_the_queue_respect_priority_with_aging(conversations, offers, refused)

    def nothing_is_lost_or_held_twice_and_nobody_is_over_capacity(
        self, conversations, agents, offers
    ) -> None:
        assert sorted(r.id for r in conversations) == sorted(self.conversation_ids)
        pending = [o for o in offers if o.state == OfferState.PENDING]
        pending_by_conversation = Counter(o.conversation_id for o in pending)
        for row in conversations:
            assert row.state in (C.QUEUED, C.OFFERED, C.ASSIGNED, C.CLOSED)
            if row.state == C.ASSIGNED:
                assert row.agent_id in agents
            elif row.state != C.CLOSED:
                assert row.agent_id is None
            assert pending_by_conversation[row.id] == (1 if row.state == C.OFFERED else 0)
        holds = Counter(r.agent_id for r in conversations if r.state == C.ASSIGNED)
        offered = Counter(o.agent_id for o in pending)
        for agent in agents.values():
            assert agent.load == holds[agent.id]
            assert agent.pending_offers == offered[agent.id]
            assert agent.load + agent.pending_offers <= agent.capacity

    def every_waiting_conversation_is_offered_or_has_no_eligible_agent(
        self, conversations, agents, refused
    ) -> None:
        now = self.clock.now()
        for row in conversations:
            if row.state != C.QUEUED:
                continue
            for agent in agents.values():
                assert not self._could_take(agent, row, refused, now), (
                    f"conversation {row.id} waits while agent {agent.id} could take it"
                )

    def offers_from_the_queue_respect_priority_with_aging(
        self, conversations, offers, refused
    ) -> None:
        by_id = {r.id: r for r in conversations}
        made = {o.id: o.created_at for o in offers}
        now = self.clock.now()
        for offer in self.offers_this_step:
            given_key = by_id[offer.conversation_id].queue_key
            # A step may pass several moments (a drain, then a deadline): a chat that was on
            # offer to someone when this offer was made was not waiting then.
            on_offer_then = {
                o.conversation_id
                for o in offers
                if o.created_at <= made[offer.offer_id]
                and (o.resolved_at is None or o.resolved_at > made[offer.offer_id])
                and o.id != offer.offer_id
            }
            for row in conversations:
                if row.id in on_offer_then:
                    continue
                if row.state == C.QUEUED and self._serves(offer.agent_id, row, refused, now):
                    assert row.queue_key >= given_key or offer.sticky, (
                        f"agent {offer.agent_id} got {offer.conversation_id} before {row.id}; "
                        f"trail of {row.id}: {self.run(trail(self.router, row.id))}; "
                        f"of {offer.conversation_id}: "
                        f"{self.run(trail(self.router, offer.conversation_id))}"
                    )

    def _serves(self, agent_id: int, row, refused, now) -> bool:
        if (row.id, agent_id) in refused:
            return False
        if row.team in TEAMS_OF[agent_id]:
            return True
        overflowing = now - row.queued_at >= timedelta(seconds=CONFIG.routing.overflow_after)
        return overflowing and any(
            t in TEAMS_OF[agent_id] for t in CONFIG.teams[row.team].secondary
        )

    def _could_take(self, agent, row, refused, now) -> bool:
        free = agent.load + agent.pending_offers < agent.capacity
        return (
            agent.active
            and agent.on_shift
            and agent.reachable
            and free
            and agent.status == AgentStatus.AVAILABLE
            and self._serves(agent.id, row, refused, now)
        )


RoutingMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestRoutingInvariants = RoutingMachine.TestCase


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(agent_count=st.integers(2, 5), batches=st.lists(st.integers(1, 5), min_size=1, max_size=12))
def test_round_robin_gives_equally_available_agents_the_same_count_within_one(agent_count, batches):
    config = make_config(agents=[{"id": i, "capacity": 1} for i in range(1, agent_count + 1)])

    async def scenario() -> Counter[int]:
        engine = create_engine(memory_url())
        try:
            await create_schema(engine)
            clock = ManualClock(MONDAY_10_WIB)
            router = Router(engine, config, clock)
            await router.sync_agents()
            assigned: Counter[int] = Counter()
            customer = 0
            for size in batches:
                chats = []
                for _ in range(min(size, agent_count)):  # every agent is free at each arrival
                    customer += 1
                    clock.advance(1)
                    outcome = await router.request_handoff(customer, intent=None)
                    chats.append(outcome.conversation_id)
                for chat in chats:
                    async with engine.connect() as conn:
                        offer = await conn.run_sync(store.pending_offer, chat)
                    assert (await router.claim(chat, offer.agent_id)).holder_id == offer.agent_id
                    assigned[offer.agent_id] += 1
                for chat in chats:
                    clock.advance(5)
                    await router.close(chat, reason="agent")
            return assigned
        finally:
            await unit_of_work.dispose(engine)

    counts = asyncio.run(scenario())
    totals = [counts[i] for i in range(1, agent_count + 1)]
    assert max(totals) - min(totals) <= 1, totals
