"""The routing service's foundation: one transaction per action, events published after commit,
and the moves every action shares (route, offer, dispatch a free agent, end an offer, close).

State changes are compare-and-set on the conversation's version (SPEC §4.1), so two workers or two
agents can never both win.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Connection, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff import store, unit_of_work
from handoff.clock import Clock
from handoff.config import Config
from handoff.events import (
    Closed,
    Event,
    OfferEnded,
    OfferMade,
    OpenedToAnyone,
    Queued,
    Requeued,
)
from handoff.hours import is_open
from handoff.policies import (
    Verdict,
    decide_offer,
    estimated_wait,
    is_eligible,
    overflowing,
    queue_key,
)
from handoff.states import (
    ConversationState,
    OfferState,
    check_move,
)
from handoff.tables import Customer

log = logging.getLogger(__name__)

Listener = Callable[[Sequence[Event]], Awaitable[None]]
# Writes what events cause within the transaction that caused them; returns what to do once it
# has committed (an adapter's notices then commit with the routing change, or not at all).
Stager = Callable[[Connection, Sequence[Event]], Callable[[], None]]
T = TypeVar("T")
C = ConversationState
DEFAULT_HANDLE_SECONDS = 300.0
CONFLICT_RETRIES = 5


class ClaimResult(StrEnum):
    CLAIMED = "claimed"
    ALREADY_CLAIMED = "already_claimed"
    NOT_OFFERED_TO_YOU = "not_offered_to_you"
    NOT_AN_AGENT = "not_an_agent"
    OFF_SHIFT = "off_shift"
    AT_CAPACITY = "at_capacity"
    CLOSED = "closed"
    NOT_FOUND = "not_found"
    NOT_WAITING = "not_waiting"
    UNREACHABLE = "unreachable"  # the bot cannot message the claimant privately


class ActionResult(StrEnum):
    DONE = "done"
    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"
    NOT_ALLOWED = "not_allowed"
    UNKNOWN_TARGET = "unknown_target"
    TARGET_UNAVAILABLE = "target_unavailable"
    ALREADY_DONE = "already_done"


@dataclass(frozen=True)
class Outcome:
    """What an action did: its result, the conversation's holder if relevant, and the events."""

    result: ClaimResult | ActionResult
    events: tuple[Event, ...] = ()
    holder_id: int | None = None
    conversation_id: int | None = None


@dataclass
class Unit:
    """One transaction of routing work: its connection, its moment, the events it produced."""

    conn: Connection
    now: datetime
    events: list[Event] = field(default_factory=list)
    routed: int = 0

    def routed_at(self) -> datetime:
        """`now` for an agent's "last routed" time, a microsecond later for each agent routed in
        this unit: who was routed first is then idle longest, not whoever has the lower id."""
        self.routed += 1
        return self.now + timedelta(microseconds=self.routed)


class Dispatcher:
    """Holds the engine, the live config and the clock; runs units of work."""

    def __init__(self, engine: AsyncEngine, config: Config, clock: Clock) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self.listeners: list[Listener] = []
        self.stagers: list[Stager] = []

    # ---- plumbing -------------------------------------------------------------------------

    async def _run(self, work: Callable[[Unit], T]) -> tuple[T, list[Event]]:
        """Run `work` as one unit of work (with what the stagers write for its events), retrying
        on a lost compare-and-set; then publish the events to the listeners."""
        for attempt in range(CONFLICT_RETRIES):
            step = functools.partial(self._step, work, self.clock.now())
            try:
                value, unit, committed = await unit_of_work.write(self.engine, step)
                break
            except store.Conflict:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
                log.debug("conflict, retrying (%s)", attempt + 1)
        for done in committed:
            done()
        await self.publish(unit.events)
        return value, unit.events

    def _step(
        self, work: Callable[[Unit], T], now: datetime, conn: Connection
    ) -> tuple[T, Unit, list[Callable[[], None]]]:
        unit = Unit(conn, now)
        value = work(unit)
        committed = [stage(conn, unit.events) for stage in self.stagers] if unit.events else []
        return value, unit, committed

    async def _read(self, query: Callable[[Connection], T]) -> T:
        """Run a query of the routing state on a connection of its own."""
        return await unit_of_work.read(self.engine, query)

    async def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        for listener in self.listeners:
            try:
                await listener(events)
            except Exception:  # one broken adapter must not stop routing
                log.exception("event listener %r failed", listener)

    # ---- routing --------------------------------------------------------------------------

    def _route(
        self,
        u: Unit,
        conversation_id: int,
        *,
        announce: bool = False,
        exclude_agent: int | None = None,
        passed: frozenset[int] = frozenset(),
    ) -> None:
        """Offer a queued conversation to the best agent now, or leave it waiting (SPEC §4.2 3–6).

        `exclude_agent` just handed it back: their freed slot goes to the head of their queues
        (`_dispatch_agent`), which may be this conversation only if nothing waits before it.
        A round-robin candidate who serves a conversation waiting longer (by priority with aging)
        is given that one first, so no arrival or requeue jumps the queue; `passed` holds those
        that could not be placed, so the search ends.
        """
        row = store.get_conversation(u.conn, conversation_id)
        if row is None or row.state != C.QUEUED or (row.not_before and row.not_before > u.now):
            return
        conversation = store.conversation_snapshot(row)
        routing = self.config.routing
        teams = [row.team]
        team_spec = self.config.teams.get(row.team)
        if team_spec is not None and overflowing(conversation, routing, u.now):
            teams += [t for t in team_spec.secondary if self._team_open(t, u.now)]
        candidate = store.longest_idle_candidate(u.conn, teams, row.id, exclude_agent)
        sticky = None
        if row.sticky_agent_id is not None and not row.sticky_tried:
            sticky_row = store.get_agent(u.conn, row.sticky_agent_id)
            sticky = store.agent_snapshot(sticky_row) if sticky_row is not None else None
        decision = decide_offer(
            conversation, sticky_agent=sticky, candidate=candidate, routing=routing, now=u.now
        )
        if decision.verdict is Verdict.OFFER and not decision.sticky:
            earlier = self._head_for(u, decision.agent_id, passed | {row.id})
            if earlier is not None and (earlier.queue_key, earlier.id) < (row.queue_key, row.id):
                self._route(u, earlier.id, passed=passed | {row.id})
                still = store.get_conversation(u.conn, earlier.id)
                skip = passed if still.state != C.QUEUED else passed | {earlier.id}
                self._route(u, row.id, announce=announce, exclude_agent=exclude_agent, passed=skip)
                return
        if decision.verdict is Verdict.OFFER:
            self._offer(
                u,
                row,
                decision.agent_id,
                decision.timeout,
                decision.sticky,
                decision.reason,
                decision.open_to_anyone,
            )
            return
        if decision.open_to_anyone:
            store.update_conversation(u.conn, row, open_to_anyone=True)
            u.events.append(OpenedToAnyone(row.id, row.attempts))
        if announce or decision.open_to_anyone:
            store.add_trail(u.conn, row.id, u.now, "wait", decision.reason)
        if announce:
            u.events.append(self._queued_event(u, row))

    def _offer(
        self,
        u: Unit,
        row: Row[Any],
        agent_id: int,
        timeout: float,
        sticky: bool,
        reason: str,
        opens: bool,
    ) -> None:
        reserved = store.change_agent(
            u.conn,
            agent_id,
            store.has_free_slot(),
            pending_offers=store.agents.c.pending_offers + 1,
            last_routed_at=u.routed_at(),
        )
        if not reserved:
            raise store.Conflict(f"agent {agent_id} filled up meanwhile")
        check_move(C(row.state), C.OFFERED)
        deadline = u.now + timedelta(seconds=timeout)
        store.update_conversation(
            u.conn,
            row,
            state=C.OFFERED,
            attempts=row.attempts + 1,
            sticky_tried=row.sticky_tried or sticky,
            open_to_anyone=row.open_to_anyone or opens,
        )
        offer_id = store.add_offer(
            u.conn,
            conversation_id=row.id,
            agent_id=agent_id,
            now=u.now,
            deadline=deadline,
            sticky=sticky,
        )
        store.add_trail(u.conn, row.id, u.now, "offer", reason)
        if opens:
            u.events.append(OpenedToAnyone(row.id, row.attempts + 1))
        u.events.append(
            OfferMade(row.id, offer_id, agent_id, deadline, sticky, row.open_to_anyone or opens)
        )

    def _queued_event(self, u: Unit, row: Row[Any]) -> Queued:
        """The customer's place in line and estimated wait, noted as told (SPEC §3.5)."""
        row = store.get_conversation(u.conn, row.id)
        position = store.queue_position(u.conn, row)
        on_duty = store.agents_on_duty(u.conn, row.team)
        handle = store.mean_handle_seconds(u.conn, row.team, u.now - timedelta(days=7))
        wait = estimated_wait(position, on_duty, handle or DEFAULT_HANDLE_SECONDS)
        u.conn.execute(
            update(store.conversations)
            .where(store.conversations.c.id == row.id)
            .values(position_told=position, position_told_at=u.now)
        )
        return Queued(
            row.id, row.customer_id, row.team, position, wait, first=row.position_told is None
        )

    def _team_open(self, team: str, now: datetime) -> bool:
        spec = self.config.teams.get(team)
        return spec is not None and is_open(self.config.schedules[spec.schedule], now)

    def _dispatch_agent(self, u: Unit, agent_id: int, rounds: int | None = None) -> None:
        """Give a free agent the head of the queues they serve, until they are full or none is
        left (or `rounds` conversations have been tried)."""
        tried = 0
        while rounds is None or tried < rounds:
            tried += 1
            agent_row = store.get_agent(u.conn, agent_id)
            if agent_row is None or not is_eligible(store.agent_snapshot(agent_row)):
                return
            head = self._head_for(u, agent_id)
            if head is None:
                return
            before = len(u.events)
            self._route(u, head.id)
            if len(u.events) == before:
                return  # the head went nowhere (e.g. its sticky agent is someone else): stop here

    def _head_for(
        self, u: Unit, agent_id: int, passed: frozenset[int] = frozenset()
    ) -> Row[Any] | None:
        """The first conversation (priority with aging) of the queues this agent serves now:
        their teams, and teams they back up once a conversation waits past `overflow_after`."""
        spec = self.config.agent(agent_id)  # the config says who serves which team (sync_agents)
        primary = list(spec.teams) if spec is not None else []
        overflow = [
            key
            for key, team in self.config.teams.items()
            if key not in primary and any(t in primary for t in team.secondary)
        ]
        cutoff = u.now - timedelta(seconds=self.config.routing.overflow_after)
        heads = [
            store.head_of_queue(u.conn, team=t, agent_id=agent_id, now=u.now, passed=passed)
            for t in primary
        ]
        if self._team_open_any(primary, u.now):
            heads += [
                store.head_of_queue(
                    u.conn,
                    team=t,
                    agent_id=agent_id,
                    now=u.now,
                    waiting_before=cutoff,
                    passed=passed,
                )
                for t in overflow
            ]
        waiting = [h for h in heads if h is not None]
        return min(waiting, key=lambda r: (r.queue_key, r.id)) if waiting else None

    def _team_open_any(self, teams: Sequence[str], now: datetime) -> bool:
        return any(self._team_open(t, now) for t in teams)

    def _end_offer(self, u: Unit, offer: Row[Any], outcome: OfferState) -> None:
        """Resolve a pending offer once and give the agent's reserved slot back.

        Raises Conflict when someone resolved it meanwhile, so the whole decision is retried on
        fresh state (PostgreSQL re-checks the WHERE after waiting for the row lock).
        """
        if not store.resolve_offer(u.conn, offer.id, outcome, u.now):
            raise store.Conflict(f"offer {offer.id} was resolved meanwhile")
        store.change_agent(u.conn, offer.agent_id, pending_offers=store.agents.c.pending_offers - 1)
        if outcome is not OfferState.ACCEPTED:
            u.events.append(OfferEnded(offer.conversation_id, offer.id, offer.agent_id, outcome))

    def _requeue_from_agent(self, u: Unit, row: Row[Any], team: str, why: str) -> None:
        check_move(C.ASSIGNED, C.QUEUED)
        routing = self.config.routing
        store.update_conversation(
            u.conn,
            row,
            state=C.QUEUED,
            agent_id=None,
            team=team,
            queued_at=u.now,
            queue_key=queue_key(u.now, row.priority, routing.aging),
            sticky_tried=True,
            not_before=None,
            transfers=row.transfers + (1 if team != row.team else 0),
        )
        # The releasing agent counts as just routed, so round robin tries the others first.
        store.change_agent(
            u.conn, row.agent_id, load=store.agents.c.load - 1, last_routed_at=u.routed_at()
        )
        store.add_trail(u.conn, row.id, u.now, "requeue", why)
        u.events.append(Requeued(row.id, row.agent_id, team, why))
        self._route(u, row.id, announce=True, exclude_agent=row.agent_id)

    def _close(self, u: Unit, row: Row[Any], *, reason: str) -> None:
        check_move(C(row.state), C.CLOSED)
        freed: list[int] = []
        if row.state == C.OFFERED:
            offer = store.pending_offer(u.conn, row.id)
            if offer is not None:
                self._end_offer(u, offer, OfferState.RESCINDED)
                freed.append(offer.agent_id)
        store.update_conversation(u.conn, row, state=C.CLOSED, closed_at=u.now, close_reason=reason)
        if row.state == C.ASSIGNED and row.agent_id is not None:
            store.change_agent(u.conn, row.agent_id, load=store.agents.c.load - 1)
            freed.append(row.agent_id)
        if row.team:
            customers = Customer.__table__
            u.conn.execute(
                update(customers)
                .where(customers.c.id == row.customer_id)
                .values(usual_team=row.team)
            )
        store.add_trail(u.conn, row.id, u.now, "close", f"closed ({reason})")
        u.events.append(Closed(row.id, row.customer_id, row.agent_id, reason))
        for agent_id in freed:
            self._dispatch_agent(u, agent_id)

    def _rescind_offers_of(self, u: Unit, agent_id: int, why: str) -> None:
        """End the agent's pending offers; their conversations are all back in the queue before
        any is routed again, and then go in queue order (none overtakes another)."""
        requeued: list[tuple[float, int]] = []
        for offer in store.pending_offers_of(u.conn, agent_id):
            self._end_offer(u, offer, OfferState.RESCINDED)
            row = store.get_conversation(u.conn, offer.conversation_id)
            store.add_trail(u.conn, row.id, u.now, "rescind", f"offer rescinded: {why}")
            if row.state == C.OFFERED:
                store.update_conversation(u.conn, row, state=C.QUEUED)
                requeued.append((row.queue_key, row.id))
        for _, conversation_id in sorted(requeued):
            self._route(u, conversation_id)
