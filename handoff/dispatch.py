"""The routing service's foundation: one transaction per action, events published after commit,
and the moves every action shares (route, offer, dispatch a free agent, end an offer, close).

State changes are compare-and-set on the conversation's version (SPEC §4.1), so two workers or two
agents can never both win.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff import store, transitions, unit_of_work
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
from handoff.states import ConversationState, OfferState
from handoff.transitions import Draft
from handoff.unit_of_work import Unit

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
    HELD = "held"  # kept for its team's opening, offered to nobody; only some may take it now
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


class Dispatcher:
    """Holds the engine, the live config and the clock; runs units of work."""

    def __init__(self, engine: AsyncEngine, config: Config, clock: Clock) -> None:
        self.engine = engine
        self.database = unit_of_work.Database(engine)  # what the adapters read and write through
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
        store.add_trails(conn, now, unit.notes)
        committed = [stage(conn, unit.events) for stage in self.stagers] if unit.events else []
        return value, unit, committed

    async def _read(self, query: Callable[[Connection], T]) -> T:
        """Run a query of the routing state on a connection of its own."""
        return await self.database.read(query)

    async def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        for listener in self.listeners:
            try:
                await listener(events)
            except Exception:  # one broken adapter must not stop routing
                log.exception("event listener %r failed", listener)

    # ---- routing --------------------------------------------------------------------------

    def _queue_rules(self, now: datetime) -> store.QueueRules:
        teams = self.config.teams
        return store.QueueRules(
            now=now,
            overflow_cutoff=now - timedelta(seconds=self.config.routing.overflow_after),
            open_teams=frozenset(t for t in teams if self._team_open(t, now)),
            backs_up=tuple(
                (helper, key) for key, team in teams.items() for helper in team.secondary
            ),
        )

    def _route(
        self,
        u: Unit,
        conversation: int | Any,
        *,
        announce: bool = False,
        exclude_agent: int | None = None,
        passed: frozenset[int] = frozenset(),
    ) -> Any:
        """Offer a queued conversation (its id, or its current row, or a `Draft`) to the best
        agent now, or leave it waiting (SPEC §4.2 3–6). Returns the row as written (None if
        there is no such conversation).

        `exclude_agent` just handed it back: their freed slot goes to the head of their queues
        (`_dispatch_agent`), which may be this conversation only if nothing waits before it.
        A round-robin candidate who serves a conversation waiting longer (by priority with aging)
        is given that one first, so no arrival or requeue jumps the queue; `passed` holds those
        that could not be placed, so the search ends.
        """
        row = (
            store.get_conversation(u.conn, conversation)
            if isinstance(conversation, int)
            else conversation
        )
        if row is None or row.state != C.QUEUED or (row.not_before and row.not_before > u.now):
            return transitions.write(u, row) if isinstance(row, Draft) else row
        snapshot = store.conversation_snapshot(row)
        routing = self.config.routing
        teams = [row.team]
        team_spec = self.config.teams.get(row.team)
        if team_spec is not None and overflowing(snapshot, routing, u.now):
            teams += [t for t in team_spec.secondary if self._team_open(t, u.now)]
        found = store.candidates(
            u.conn,
            teams=teams,
            conversation_id=row.id,
            queue_key=row.queue_key,
            exclude=exclude_agent,
            sticky_id=row.sticky_agent_id if not row.sticky_tried else None,
            rules=self._queue_rules(u.now),
            passed=passed,
        )
        decision = decide_offer(
            snapshot,
            sticky_agent=found.sticky,
            candidate=found.candidate,
            routing=routing,
            now=u.now,
        )
        if (
            decision.verdict is Verdict.OFFER
            and not decision.sticky
            and found.candidate_has_earlier
        ):
            row = transitions.write(u, row) if isinstance(row, Draft) else row
            _, earlier = self._head_for(u, decision.agent_id, passed | {row.id})
            if earlier is not None and (earlier.queue_key, earlier.id) < (row.queue_key, row.id):
                self._route(u, earlier, passed=passed | {row.id})
                still = store.get_conversation(u.conn, earlier.id)
                skip = passed if still.state != C.QUEUED else passed | {earlier.id}
                return self._route(
                    u, row.id, announce=announce, exclude_agent=exclude_agent, passed=skip
                )
        if decision.verdict is Verdict.OFFER:
            return self._offer(
                u,
                row,
                decision.agent_id,
                decision.timeout,
                decision.sticky,
                decision.reason,
                decision.open_to_anyone,
                announce,
            )
        if decision.open_to_anyone:
            row = transitions.write(u, row, open_to_anyone=True)
            u.events.append(OpenedToAnyone(row.id, row.attempts))
        if announce:
            row, queued = self._queued_event(u, row)
            u.note(row.id, "wait", decision.reason)
            u.events.append(queued)
        elif decision.open_to_anyone:
            u.note(row.id, "wait", decision.reason)
        elif isinstance(row, Draft):
            row = transitions.write(u, row)
        return row

    def _offer(
        self,
        u: Unit,
        row: Any,
        agent_id: int,
        timeout: float,
        sticky: bool,
        reason: str,
        opens: bool,
        announce: bool = False,
    ) -> Any:
        if not store.reserve_slot(u.conn, agent_id, u.routed_at()):
            raise store.Conflict(f"agent {agent_id} filled up meanwhile")
        deadline = u.now + timedelta(seconds=timeout)
        row, offer_id = transitions.open_offer(
            u,
            row,
            agent_id,
            deadline,
            sticky=sticky,
            reason=reason,
            sticky_tried=row.sticky_tried or sticky,
            open_to_anyone=row.open_to_anyone or opens,
        )
        if opens:
            u.events.append(OpenedToAnyone(row.id, row.attempts))
        made = OfferMade(
            row.id,
            offer_id,
            agent_id,
            deadline,
            sticky,
            row.open_to_anyone,
            row.customer_id,
            row.team,
            announce,
        )
        u.events.append(made)
        return row

    def _queue_stats(self, u: Unit, row: Any) -> store.QueueStats:
        return store.queue_stats(
            u.conn,
            team=row.team,
            queue_key=row.queue_key,
            conversation_id=row.id,
            since=u.now - timedelta(days=7),
        )

    def _queued_event(
        self, u: Unit, row: Any, stats: store.QueueStats | None = None
    ) -> tuple[Any, Queued]:
        """The customer's place in line and estimated wait, noted as told (SPEC §3.5); `row` is
        current (a `Draft` is written here). Returns the row as written and the event."""
        stats = stats or self._queue_stats(u, row)
        wait = estimated_wait(
            stats.position, stats.on_duty, stats.handle_seconds or DEFAULT_HANDLE_SECONDS
        )
        first = row.position_told is None
        if isinstance(row, Draft):
            row = transitions.write(u, row, position_told=stats.position, position_told_at=u.now)
        else:
            store.tell_position(u.conn, row.id, stats.position, u.now)
        event = Queued(
            row.id,
            row.customer_id,
            row.team,
            stats.position,
            wait,
            first=first,
            at_least=stats.at_least,
        )
        return row, event

    def _team_open(self, team: str, now: datetime) -> bool:
        spec = self.config.teams.get(team)
        return spec is not None and is_open(self.config.schedules[spec.schedule], now)

    def _dispatch_agent(self, u: Unit, agent_id: int, rounds: int | None = None) -> None:
        """Give a free agent the head of the queues they serve, until they are full or none is
        left (or `rounds` conversations have been tried)."""
        tried = 0
        while rounds is None or tried < rounds:
            tried += 1
            agent, head = self._head_for(u, agent_id)
            if agent is None or head is None:
                return
            snapshot = store.agent_snapshot(agent)
            if not is_eligible(snapshot):
                return
            before = len(u.events)
            self._route(u, head)
            made = [e for e in u.events[before:] if isinstance(e, OfferMade)]
            if not made:
                return  # the head went nowhere (e.g. its sticky agent is someone else): stop here
            if snapshot.free_slots == 1 and any(e.agent_id == agent_id for e in made):
                return  # their last free slot is taken now

    def _head_for(
        self, u: Unit, agent_id: int, passed: frozenset[int] = frozenset()
    ) -> tuple[Any | None, Any | None]:
        """The agent and the first conversation (priority with aging) of the queues they serve
        now: their teams, and teams they back up once a conversation waits past
        `overflow_after` (if one of their teams is open)."""
        spec = self.config.agent(agent_id)  # the config says who serves which team (sync_agents)
        own = list(spec.teams) if spec is not None else []
        backed_up = [
            key
            for key, team in self.config.teams.items()
            if key not in own and any(t in own for t in team.secondary)
        ]
        if not self._team_open_any(own, u.now):
            backed_up = []
        return store.head_for_agent(
            u.conn,
            agent_id,
            own=own,
            backed_up=backed_up,
            rules=self._queue_rules(u.now),
            passed=passed,
        )

    def _team_open_any(self, teams: Sequence[str], now: datetime) -> bool:
        return any(self._team_open(t, now) for t in teams)

    def _end_offer(self, u: Unit, offer: Any, outcome: OfferState) -> None:
        """Resolve a pending offer once and give the agent's reserved slot back.

        Raises Conflict when someone resolved it meanwhile, so the whole decision is retried on
        fresh state (PostgreSQL re-checks the WHERE after waiting for the row lock).
        """
        transitions.resolve_offer(u, offer, outcome)
        store.change_agent(u.conn, offer.agent_id, pending_offers=store.agents.c.pending_offers - 1)
        if outcome is not OfferState.ACCEPTED:
            u.events.append(OfferEnded(offer.conversation_id, offer.id, offer.agent_id, outcome))

    def _requeue_from_agent(self, u: Unit, row: Any, team: str, why: str) -> None:
        routing = self.config.routing
        requeued = transitions.move(
            u,
            row,
            C.QUEUED,
            notes=[("requeue", why)],
            events=[Requeued(row.id, row.agent_id, team, why)],
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
        self._route(u, requeued, announce=True, exclude_agent=row.agent_id)

    def _close(self, u: Unit, row: Any, *, reason: str) -> None:
        freed: list[int] = []
        if row.state == C.OFFERED:
            offer = store.pending_offer(u.conn, row.id)
            if offer is not None:
                self._end_offer(u, offer, OfferState.RESCINDED)
                freed.append(offer.agent_id)
        transitions.move(
            u,
            row,
            C.CLOSED,
            notes=[("close", f"closed ({reason})")],
            closed_at=u.now,
            close_reason=reason,
        )
        if row.state == C.ASSIGNED and row.agent_id is not None:
            store.change_agent(u.conn, row.agent_id, load=store.agents.c.load - 1)
            freed.append(row.agent_id)
        if row.team:
            store.set_usual_team(u.conn, row.customer_id, row.team)
        u.events.append(Closed(row.id, row.customer_id, row.agent_id, reason))
        for agent_id in freed:
            self._dispatch_agent(u, agent_id)

    def _rescind_offers_of(self, u: Unit, agent_id: int, why: str) -> None:
        """End the agent's pending offers; their conversations are all back in the queue before
        any is routed again, and then go in queue order (none overtakes another)."""
        requeued: list[Any] = []
        for offer in store.pending_offers_of(u.conn, agent_id):
            self._end_offer(u, offer, OfferState.RESCINDED)
            row = store.get_conversation(u.conn, offer.conversation_id)
            u.note(row.id, "rescind", f"offer rescinded: {why}")
            if row.state == C.OFFERED:
                requeued.append(transitions.move(u, row, C.QUEUED))
        for row in sorted(requeued, key=lambda r: (r.queue_key, r.id)):
            self._route(u, row)
