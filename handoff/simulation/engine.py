"""The simulation itself (`frontdoor simulate`): the real router, its services, policies and
timers, on a virtual clock that jumps from one event to the next, with people modelled around it.

Customers arrive per intent as a Poisson process by hour of the day or week, ask for a person the way the
bot asks the router, and leave after a sampled patience if nobody claimed them; agents claim an
offer after a sampled delay (or miss it, and the router's own offer timeout requeues it), hold it
for a sampled handle time and close it. Every routing decision is the router's: sticky agents,
skills, priorities, round robin, offer timeouts, overflow, hours and after-hours policies.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from handoff import unit_of_work
from handoff.clock import ManualClock
from handoff.config import Config
from handoff.db import create_engine, create_schema, memory_url
from handoff.events import (
    AgentStatusChanged,
    Assigned,
    Closed,
    Event,
    HeldAfterHours,
    OfferMade,
    Queued,
)
from handoff.kpis.loading import load_report
from handoff.kpis.report import Report, report_zone
from handoff.router import Router
from handoff.states import AgentStatus
from handoff.timers import Action, RoutingScheduler

HOURS = 24
HOURS_OF_WEEK = 7 * HOURS
# The router's periodic sweep catches timers a wall clock missed; on a virtual clock none is
# missed, so it runs at most this often (its SLA alerts and idle closes still come).
SWEEP_AT_LEAST = 300.0
# After the last day, no one new comes; the chats still waiting or open are followed this long
# more, so the last hour's customers are answered (or leave) as the others were.
COOL_DOWN = timedelta(hours=1)


class Shape(StrEnum):
    EXPONENTIAL = "exponential"
    LOGNORMAL = "lognormal"
    FIXED = "fixed"


@dataclass(frozen=True)
class Distribution:
    """Seconds drawn at random: exponential or lognormal with this mean, or always the mean."""

    mean: float
    shape: Shape = Shape.EXPONENTIAL
    sigma: float = 0.5  # lognormal: the spread of the underlying normal

    def sample(self, rng: random.Random) -> float:
        if self.mean <= 0 or self.shape is Shape.FIXED:
            return max(self.mean, 0.0)
        if self.shape is Shape.EXPONENTIAL:
            return rng.expovariate(1 / self.mean)
        mu = math.log(self.mean) - self.sigma**2 / 2  # so that the mean is `mean`
        return rng.lognormvariate(mu, self.sigma)


@dataclass(frozen=True)
class People:
    """How customers and agents behave around the router."""

    handle: Distribution  # claim → close
    claim_delay: Distribution = Distribution(0.0, Shape.FIXED)  # offer → claim
    miss: float = 0.0  # the chance an agent lets an offer time out
    patience: Distribution | None = None  # waiting → leaving; None: nobody leaves
    # An agent the router set away for missing offers notices and is back after this.
    back: Distribution = Distribution(120.0, Shape.FIXED)
    # The share of arrivals who come back with a new question after a chat with an agent (within
    # the sticky window): the router routes them to that agent if it can.
    returning: float = 0.0


@dataclass(frozen=True)
class Arrivals:
    """Chats per hour for each intent in the company's time: one rate for every hour, 24 (one
    per hour of the day) or 168 (one per hour of the week, Monday 00:00 first)."""

    per_hour: Mapping[str, float | Sequence[float]]

    def rate(self, intent: str, moment: datetime) -> float:
        """`intent`'s rate in the hour of `moment` (a time in the company's zone)."""
        rates = self.per_hour[intent]
        if isinstance(rates, int | float):
            return float(rates)
        if len(rates) == HOURS_OF_WEEK:
            return float(rates[moment.weekday() * HOURS + moment.hour])
        return float(rates[moment.hour])

    def peak(self, intent: str) -> float:
        rates = self.per_hour[intent]
        return float(rates) if isinstance(rates, int | float) else float(max(rates))


@dataclass
class Chat:
    """One simulated conversation, as it went."""

    customer_id: int
    intent: str
    arrived: datetime
    handle: float  # seconds an agent will take with it, whoever it is
    patience: float | None = None  # seconds the customer waits for an agent, at most
    team: str | None = None
    conversation_id: int | None = None
    waited: float | None = None  # seconds from the start of its wait to its first claim
    answered_by: int | None = None
    abandoned: bool = False
    held: bool = False  # held for its team's opening (after hours)
    returning_to: int | None = None  # the agent of the customer's previous chat, if they came back
    closed: bool = False  # by its agent


@dataclass
class Outcome:
    """What the simulated days came to: every chat, and the bot's KPIs of those days."""

    start: datetime
    end: datetime
    chats: list[Chat] = field(default_factory=list)
    kpis: Report | None = None  # `frontdoor report`'s figures of the simulated days


class VirtualTimers:
    """The `Timers` of a simulation: a next-event loop on a manual clock. An action due at a
    moment runs when the loop reaches it; a job of the same id replaces the earlier one."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self._heap: list[tuple[datetime, int, str, Action, tuple[object, ...]]] = []
        self._latest: dict[str, int] = {}
        self._order = itertools.count()

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        self._heap.clear()

    def shutdown(self) -> None:
        self._heap.clear()

    def at(self, moment: datetime, job_id: str, action: Action, *args: object) -> None:
        order = next(self._order)
        self._latest[job_id] = order
        heapq.heappush(self._heap, (max(moment, self.clock.now()), order, job_id, action, args))

    def every(self, seconds: float, action: Action, job_id: str) -> None:
        async def again() -> None:
            self.at(self.clock.now() + timedelta(seconds=seconds), job_id, again)
            await action()

        self.at(self.clock.now() + timedelta(seconds=seconds), job_id, again)

    def soon(self, seconds: float, action: Action, *args: object) -> None:
        """Run `action` `seconds` from now (a job of its own)."""
        job_id = f"people-{next(self._order)}"
        self.at(self.clock.now() + timedelta(seconds=seconds), job_id, action, *args)

    async def run_until(self, end: datetime) -> None:
        """Run every action due up to `end`, in time order, moving the clock to each."""
        while self._heap and self._heap[0][0] <= end:
            moment, order, job_id, action, args = heapq.heappop(self._heap)
            if self._latest.get(job_id) != order:
                continue  # replaced since
            del self._latest[job_id]
            self.clock.set(moment)
            await action(*args)
        self.clock.set(end)


class Simulation:
    """Days of arrivals through the real router on a virtual clock, from `start`."""

    def __init__(
        self,
        config: Config,
        arrivals: Arrivals,
        people: People,
        *,
        start: datetime,
        days: float = 1.0,
        seed: int = 1,
        warm_up: float = 0.0,  # seconds of traffic run before `start` and left out of the counts
    ) -> None:
        unknown = sorted(set(arrivals.per_hour) - set(config.intents))
        if unknown:
            raise ValueError(f"arrivals name intents the config does not have: {unknown}")
        routing = config.routing.model_copy(
            update={"sweep_every": max(config.routing.sweep_every, SWEEP_AT_LEAST)}
        )
        self.config = config.model_copy(update={"routing": routing})
        self.arrivals = arrivals
        self.people = people
        self.start = start - timedelta(seconds=warm_up)
        self.counted_from = start
        self.end = start + timedelta(days=days)
        # Customers (when they come, how long they would wait, how long their chat takes) and
        # agents (how soon they claim, whether they miss) draw from streams of their own: two
        # configs simulated with one seed meet the same customers, so their figures compare.
        self.customers_rng = random.Random(f"{seed}:customers")
        self.agents_rng = random.Random(f"{seed}:agents")
        self.clock = ManualClock(self.start)
        self.timers = VirtualTimers(self.clock)
        self.by_customer: dict[int, Chat] = {}  # each customer's latest chat
        self.all_chats: list[Chat] = []
        # Chats closed by an agent within the sticky window, oldest first: when, customer, agent.
        self.served: deque[tuple[datetime, int, int]] = deque()
        self.returns_rng = random.Random(f"{seed}:returns")
        self._customers = itertools.count(10**9)  # ids no configured agent has
        self.zone = report_zone(config)

    async def run(self) -> Outcome:
        engine = create_engine(memory_url())  # steps run inline: no thread, no file
        try:
            await create_schema(engine)
            self.router = Router(engine, self.config, self.clock)
            self.router.listeners.append(self._observe)
            scheduler = RoutingScheduler(self.router, self.timers)
            await self.router.sync_agents()
            for agent in self.config.agents:
                await self.router.set_agent_status(agent.id, AgentStatus.AVAILABLE)
            await scheduler.start()
            for intent in self.arrivals.per_hour:
                self._next_arrival(intent)
            await self.timers.run_until(self.end + COOL_DOWN)
            # The bot's own KPIs of the counted days: utilization, fairness, offers per agent.
            kpis = await load_report(
                self.router.database, self.config, self.counted_from, self.end, self.clock.now()
            )
        finally:
            await unit_of_work.dispose(engine)
        counted = [c for c in self.all_chats if c.arrived >= self.counted_from]
        return Outcome(self.counted_from, self.end, counted, kpis)

    # ---- customers --------------------------------------------------------------------------

    def _next_arrival(self, intent: str) -> None:
        """The next arrival of `intent`: Poisson at the hour's rate (thinned from the peak)."""
        peak = self.arrivals.peak(intent)
        if peak <= 0:
            return
        moment = self.clock.now()
        while True:
            moment += timedelta(seconds=self.customers_rng.expovariate(peak / 3600))
            if moment > self.end:
                return
            rate = self.arrivals.rate(intent, moment.astimezone(self.zone))
            if self.customers_rng.random() * peak <= rate:
                break
        self.timers.at(moment, f"arrival-{intent}", self._arrive, intent)

    async def _arrive(self, intent: str) -> None:
        self._next_arrival(intent)
        handle = self.people.handle.sample(self.customers_rng)
        customer_id, returning_to = self._who_comes()
        chat = Chat(customer_id, intent, self.clock.now(), handle, returning_to=returning_to)
        self.by_customer[customer_id] = chat
        self.all_chats.append(chat)
        await self.router.ensure_customer(customer_id, name=f"Customer {customer_id}")
        outcome = await self.router.request_handoff(customer_id, intent=intent)
        chat.conversation_id = outcome.conversation_id
        if self.people.patience is not None:
            chat.patience = self.people.patience.sample(self.customers_rng)
            if not chat.held:  # a held chat's customer waits from the opening (`_observe`)
                self._leave_at(chat, chat.arrived)

    def _who_comes(self) -> tuple[int, int | None]:
        """A new customer, or (`returning`) one an agent served within the sticky window, who
        has no chat open: their id, and the agent who served them last."""
        if self.people.returning and self.returns_rng.random() < self.people.returning:
            since = self.clock.now() - timedelta(seconds=self.config.routing.sticky.window)
            while self.served and self.served[0][0] < since:
                self.served.popleft()
            recent = [
                (customer, agent)
                for _, customer, agent in self.served
                if self.by_customer[customer].closed  # not back already, with a chat open
            ]
            if recent:
                return self.returns_rng.choice(recent)
        return next(self._customers), None

    def _leave_at(self, chat: Chat, waiting_from: datetime) -> None:
        assert chat.patience is not None
        moment = waiting_from + timedelta(seconds=chat.patience)
        self.timers.at(moment, f"leave-{chat.customer_id}", self._leave, chat)

    async def _leave(self, chat: Chat) -> None:
        if chat.answered_by is None and not chat.abandoned:
            chat.abandoned = True
            await self.router.cancel(chat.customer_id)

    # ---- agents -----------------------------------------------------------------------------

    async def _observe(self, events: Sequence[Event]) -> None:
        for event in events:
            if isinstance(event, AgentStatusChanged) and event.why == "missed_offers":
                delay = self.people.back.sample(self.agents_rng)
                self.timers.soon(delay, self._back, event.agent_id)
                continue
            # Events of an arrival come before `request_handoff` returns: found by customer.
            chat = self.by_customer.get(getattr(event, "customer_id", -1))
            if chat is None:
                continue
            if isinstance(event, Queued):  # so a customer who leaves unoffered has a team
                chat.team = event.team
            elif isinstance(event, HeldAfterHours):
                chat.held, chat.team = True, event.team
                if chat.patience is not None and event.opening is not None:
                    self._leave_at(chat, event.opening)
            elif isinstance(event, OfferMade):
                chat.team = event.team
                if self.agents_rng.random() >= self.people.miss:
                    delay = self.people.claim_delay.sample(self.agents_rng)
                    self.timers.soon(delay, self._claim, event)
            elif isinstance(event, Assigned):
                if chat.answered_by is None:
                    chat.answered_by, chat.waited = event.agent_id, event.waited
                chat.team = event.team
                self.timers.soon(chat.handle, self._close, event)
            elif isinstance(event, Closed) and event.agent_id is None:
                chat.abandoned = chat.answered_by is None

    async def _back(self, agent_id: int) -> None:
        await self.router.set_agent_status(agent_id, AgentStatus.AVAILABLE, "simulated")

    async def _claim(self, offer: OfferMade) -> None:
        """The offered agent claims (refused if the offer timed out or the customer left)."""
        await self.router.claim(offer.conversation_id or 0, offer.agent_id)

    async def _close(self, assigned: Assigned) -> None:
        await self.router.close(assigned.conversation_id or 0, by_agent_id=assigned.agent_id)
        chat = self.by_customer.get(assigned.customer_id)
        if chat is not None and chat.conversation_id == assigned.conversation_id:
            chat.closed = True
            self.served.append((self.clock.now(), assigned.customer_id, assigned.agent_id))
