"""The routing service: carries out the decisions of `handoff.policies` against the database.

Each public method is one transaction. State changes are compare-and-set on the conversation's
version (SPEC §4.1), so two workers or two agents can never both win. After the commit the
method hands its events to every listener (the scheduler, the adapters) and returns them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from handoff import store
from handoff.clock import Clock
from handoff.config import ClaimMode, Config
from handoff.events import (
    AgentStatusChanged,
    Assigned,
    Closed,
    Event,
    HeldAfterHours,
    OfferEnded,
    OfferMade,
    OpenedToAnyone,
    Queued,
    Requeued,
    RoutedAfterHours,
    SlaBreached,
)
from handoff.policies import (
    TeamHours,
    Verdict,
    classify,
    decide_offer,
    estimated_wait,
    is_eligible,
    overflowing,
    queue_key,
    team_hours,
)
from handoff.schedule import is_open
from handoff.states import (
    OPEN_STATES,
    AgentStatus,
    ConversationState,
    OfferState,
    check_move,
)
from handoff.tables import Customer, ShiftLog

log = logging.getLogger(__name__)

Listener = Callable[[Sequence[Event]], Awaitable[None]]
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
class _Unit:
    conn: AsyncConnection
    now: datetime
    events: list[Event] = field(default_factory=list)


class Router:
    def __init__(self, engine: AsyncEngine, config: Config, clock: Clock) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self.listeners: list[Listener] = []

    # ---- plumbing -------------------------------------------------------------------------

    async def _run(self, work: Callable[[_Unit], Awaitable[Any]]) -> tuple[Any, list[Event]]:
        """Run `work` in one transaction, retrying on a lost compare-and-set; then publish."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                async with self.engine.begin() as conn:
                    unit = _Unit(conn, self.clock.now())
                    value = await work(unit)
                break
            except store.Conflict:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
                log.debug("conflict, retrying (%s)", attempt + 1)
        await self.publish(unit.events)
        return value, unit.events

    async def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        for listener in self.listeners:
            try:
                await listener(events)
            except Exception:  # one broken adapter must not stop routing
                log.exception("event listener %r failed", listener)

    # ---- configuration --------------------------------------------------------------------

    async def sync_agents(self, config: Config | None = None) -> None:
        """Make the agent table match the config (new, changed and removed agents)."""
        if config is not None:
            self.config = config

        async def work(u: _Unit) -> None:
            agents, teams = store.agents, store.agent_teams
            existing = {r.id for r in await u.conn.execute(select(agents.c.id))}
            for agent in self.config.agents:
                values = dict(
                    name=agent.name,
                    username=agent.username,
                    capacity=agent.capacity,
                    is_manager=agent.manager,
                    active=True,
                )
                if agent.id in existing:
                    await u.conn.execute(
                        update(agents).where(agents.c.id == agent.id).values(**values)
                    )
                else:
                    await u.conn.execute(insert(agents).values(id=agent.id, **values))
            configured = {a.id for a in self.config.agents}
            for gone in existing - configured:
                await u.conn.execute(
                    update(agents).where(agents.c.id == gone).values(active=False, on_shift=False)
                )
            await u.conn.execute(delete(teams))
            rows = [{"agent_id": a.id, "team": t} for a in self.config.agents for t in a.teams]
            if rows:
                await u.conn.execute(insert(teams), rows)

        await self._run(work)
        await self.sync_shifts()

    # ---- the customer's side ------------------------------------------------------------

    async def ensure_customer(
        self,
        customer_id: int,
        *,
        name: str = "",
        username: str | None = None,
        language: str | None = None,
        lead_source: str | None = None,
    ) -> Row[Any]:
        """Create the customer on first contact; refresh name and language later."""
        table = Customer.__table__

        async def work(u: _Unit) -> Row[Any]:
            row = (await u.conn.execute(select(table).where(table.c.id == customer_id))).first()
            vip = customer_id in self.config.routing.vip.customers
            if row is None:
                await u.conn.execute(
                    insert(table).values(
                        id=customer_id,
                        name=name,
                        username=username,
                        language=language or self.config.bot.default_language,
                        lead_source=lead_source,
                        is_vip=vip,
                        created_at=u.now,
                    )
                )
            else:
                changes: dict[str, Any] = {
                    "name": name or row.name,
                    "username": username,
                    "is_vip": vip,
                }
                if language:
                    changes["language"] = language
                await u.conn.execute(
                    update(table).where(table.c.id == customer_id).values(**changes)
                )
            return (await u.conn.execute(select(table).where(table.c.id == customer_id))).one()

        row, _ = await self._run(work)
        return row

    async def open_conversation(self, customer_id: int, first_message: str = "") -> int:
        """The customer's open conversation, or a new one talking to the bot."""

        async def work(u: _Unit) -> int:
            return await self._open_conversation(u, customer_id, first_message)

        conversation_id, _ = await self._run(work)
        return conversation_id

    async def _open_conversation(self, u: _Unit, customer_id: int, first_message: str) -> int:
        table = store.conversations
        row = (
            await u.conn.execute(
                select(table.c.id)
                .where(table.c.customer_id == customer_id, table.c.state.in_(tuple(OPEN_STATES)))
                .order_by(table.c.id.desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            return int(row.id)
        result = await u.conn.execute(
            insert(table).values(
                customer_id=customer_id,
                state=C.BOT,
                first_message=first_message[:500],
                created_at=u.now,
                last_activity_at=u.now,
            )
        )
        return int(result.inserted_primary_key[0])

    async def request_handoff(
        self,
        customer_id: int,
        *,
        intent: str | None,
        text: str = "",
        account_owner_id: int | None = None,
    ) -> Outcome:
        """The customer needs a person: classify, check the hours, find the sticky agent, route."""

        async def work(u: _Unit) -> int:
            conversation_id = await self._open_conversation(u, customer_id, text)
            row = await store.get_conversation(u.conn, conversation_id)
            if row.state != C.BOT:
                return conversation_id  # already waiting or with an agent: nothing to redo
            await self._enqueue(u, row, intent=intent, text=text, account_owner_id=account_owner_id)
            return conversation_id

        conversation_id, events = await self._run(work)
        return Outcome(ActionResult.DONE, tuple(events), conversation_id=conversation_id)

    async def _enqueue(
        self,
        u: _Unit,
        row: Row[Any],
        *,
        intent: str | None,
        text: str,
        account_owner_id: int | None,
    ) -> None:
        customers, table = Customer.__table__, store.conversations
        customer = (
            await u.conn.execute(select(customers).where(customers.c.id == row.customer_id))
        ).first()
        last = (
            await u.conn.execute(
                select(table)
                .where(
                    table.c.customer_id == row.customer_id,
                    table.c.state == C.CLOSED,
                    table.c.id != row.id,
                )
                .order_by(table.c.closed_at.desc())
                .limit(1)
            )
        ).first()
        is_lead = last is None
        routing = self.config.routing
        verdict = classify(
            self.config,
            intent=intent,
            text=text,
            is_lead=is_lead,
            is_vip=bool(customer and customer.is_vip),
            usual_team=customer.usual_team if customer else None,
        )
        sticky_id = account_owner_id
        if (
            sticky_id is None
            and last is not None
            and last.agent_id is not None
            and (last.closed_at >= u.now - timedelta(seconds=routing.sticky.window))
        ):
            sticky_id = last.agent_id
        hours = team_hours(self.config, verdict.team, u.now)
        check_move(C(row.state), C.QUEUED)
        values: dict[str, Any] = dict(
            state=C.QUEUED,
            team=hours.team,
            intent=intent,
            priority=verdict.priority,
            is_lead=is_lead,
            sticky_agent_id=sticky_id,
            queued_at=u.now,
            queue_key=queue_key(u.now, verdict.priority, routing.aging),
            first_message=(text or row.first_message)[:500],
            last_activity_at=u.now,
        )
        if hours.outcome is not TeamHours.OPEN:
            values.update(not_before=hours.opening, after_hours_policy=hours.policy)
        await store.update_conversation(u.conn, row, **values)
        await store.add_trail(u.conn, row.id, u.now, "classify", "; ".join(verdict.reasons))
        await store.add_trail(u.conn, row.id, u.now, "time", hours.reason)
        if sticky_id is not None:
            await store.add_trail(
                u.conn, row.id, u.now, "sticky", f"sticky candidate: agent {sticky_id}"
            )
        if hours.outcome is TeamHours.OPEN:
            if hours.team != verdict.team:
                u.events.append(RoutedAfterHours(row.id, row.customer_id, verdict.team, hours.team))
            await self._route(u, row.id, announce=True)
        else:
            u.events.append(
                HeldAfterHours(row.id, row.customer_id, hours.team, hours.policy, hours.opening)
            )

    async def cancel(self, customer_id: int) -> Outcome:
        """`/cancel`: the customer leaves the queue (or ends the chat with their agent)."""
        table = store.conversations

        async def work(u: _Unit) -> Outcome:
            row = (
                await u.conn.execute(
                    select(table).where(
                        table.c.customer_id == customer_id,
                        table.c.state.in_((C.QUEUED, C.OFFERED, C.ASSIGNED)),
                    )
                )
            ).first()
            if row is None:
                return Outcome(ActionResult.NOT_FOUND)
            await self._close(u, row, reason="customer_cancel")
            return Outcome(ActionResult.DONE, conversation_id=row.id)

        outcome, events = await self._run(work)
        return Outcome(outcome.result, tuple(events), conversation_id=outcome.conversation_id)

    async def customer_blocked(self, customer_id: int) -> Outcome:
        """The customer blocked the bot (403): end their open conversation; the agent is told."""
        customers = Customer.__table__

        async def work(u: _Unit) -> None:
            await u.conn.execute(
                update(customers).where(customers.c.id == customer_id).values(blocked=True)
            )
            table = store.conversations
            for row in await u.conn.execute(
                select(table).where(
                    table.c.customer_id == customer_id, table.c.state.in_(tuple(OPEN_STATES))
                )
            ):
                await self._close(u, row, reason="blocked")

        _, events = await self._run(work)
        return Outcome(ActionResult.DONE, tuple(events))

    async def record_message(
        self,
        conversation_id: int,
        *,
        sender: str,
        customer_id: int,
        kind: str = "text",
        text: str = "",
        agent_id: int | None = None,
        telegram_message_id: int | None = None,
    ) -> None:
        """Store a message of the conversation; the agent's first one sets the first response time."""
        from handoff.tables import Message

        async def work(u: _Unit) -> None:
            await u.conn.execute(
                insert(Message.__table__).values(
                    conversation_id=conversation_id,
                    customer_id=customer_id,
                    sender=sender,
                    agent_id=agent_id,
                    kind=kind,
                    text=text[:4096],
                    telegram_message_id=telegram_message_id,
                    created_at=u.now,
                )
            )
            table = store.conversations
            await u.conn.execute(
                update(table).where(table.c.id == conversation_id).values(last_activity_at=u.now)
            )
            if sender == "agent":
                await u.conn.execute(
                    update(table)
                    .where(table.c.id == conversation_id, table.c.first_response_at.is_(None))
                    .values(first_response_at=u.now)
                )

        await self._run(work)

    # ---- routing --------------------------------------------------------------------------

    async def _route(self, u: _Unit, conversation_id: int, *, announce: bool = False) -> None:
        """Offer a queued conversation to the best agent now, or leave it waiting (SPEC §4.2 3–6)."""
        row = await store.get_conversation(u.conn, conversation_id)
        if row is None or row.state != C.QUEUED or (row.not_before and row.not_before > u.now):
            return
        conversation = store.conversation_snapshot(row)
        routing = self.config.routing
        teams = [row.team]
        team_spec = self.config.teams.get(row.team)
        if team_spec is not None and overflowing(conversation, routing, u.now):
            teams += [t for t in team_spec.secondary if self._team_open(t, u.now)]
        candidate = await store.longest_idle_candidate(u.conn, teams, row.id)
        sticky = None
        if row.sticky_agent_id is not None and not row.sticky_tried:
            sticky_row = await store.get_agent(u.conn, row.sticky_agent_id)
            sticky = store.agent_snapshot(sticky_row) if sticky_row is not None else None
        decision = decide_offer(
            conversation, sticky_agent=sticky, candidate=candidate, routing=routing, now=u.now
        )
        if decision.verdict is Verdict.OFFER:
            await self._offer(
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
            await store.update_conversation(u.conn, row, open_to_anyone=True)
            u.events.append(OpenedToAnyone(row.id, row.attempts))
        if announce or decision.open_to_anyone:
            await store.add_trail(u.conn, row.id, u.now, "wait", decision.reason)
        if announce:
            u.events.append(await self._queued_event(u, row))

    async def _offer(
        self,
        u: _Unit,
        row: Row[Any],
        agent_id: int,
        timeout: float,
        sticky: bool,
        reason: str,
        opens: bool,
    ) -> None:
        reserved = await store.change_agent(
            u.conn,
            agent_id,
            store.has_free_slot(),
            pending_offers=store.agents.c.pending_offers + 1,
            last_routed_at=u.now,
        )
        if not reserved:
            raise store.Conflict(f"agent {agent_id} filled up meanwhile")
        check_move(C(row.state), C.OFFERED)
        deadline = u.now + timedelta(seconds=timeout)
        await store.update_conversation(
            u.conn,
            row,
            state=C.OFFERED,
            attempts=row.attempts + 1,
            sticky_tried=row.sticky_tried or sticky,
            open_to_anyone=row.open_to_anyone or opens,
        )
        offer_id = await store.add_offer(
            u.conn,
            conversation_id=row.id,
            agent_id=agent_id,
            now=u.now,
            deadline=deadline,
            sticky=sticky,
        )
        await store.add_trail(u.conn, row.id, u.now, "offer", reason)
        if opens:
            u.events.append(OpenedToAnyone(row.id, row.attempts + 1))
        u.events.append(
            OfferMade(row.id, offer_id, agent_id, deadline, sticky, row.open_to_anyone or opens)
        )

    async def _queued_event(self, u: _Unit, row: Row[Any]) -> Queued:
        row = await store.get_conversation(u.conn, row.id)
        position = await store.queue_position(u.conn, row)
        on_duty = await store.agents_on_duty(u.conn, row.team)
        handle = await store.mean_handle_seconds(u.conn, row.team, u.now - timedelta(days=7))
        wait = estimated_wait(position, on_duty, handle or DEFAULT_HANDLE_SECONDS)
        return Queued(row.id, row.customer_id, row.team, position, wait)

    def _team_open(self, team: str, now: datetime) -> bool:
        spec = self.config.teams.get(team)
        return spec is not None and is_open(self.config.schedules[spec.schedule], now)

    async def _dispatch_agent(self, u: _Unit, agent_id: int) -> None:
        """Give a free agent the head of the queues they serve, until they are full or none is left."""
        primary = await store.teams_of(u.conn, agent_id)
        overflow = [
            key
            for key, team in self.config.teams.items()
            if key not in primary and any(t in primary for t in team.secondary)
        ]
        cutoff = u.now - timedelta(seconds=self.config.routing.overflow_after)
        while True:
            agent_row = await store.get_agent(u.conn, agent_id)
            if agent_row is None or not is_eligible(store.agent_snapshot(agent_row)):
                return
            heads = [
                await store.head_of_queue(u.conn, team=t, agent_id=agent_id, now=u.now)
                for t in primary
            ]
            if self._team_open_any(primary, u.now):
                heads += [
                    await store.head_of_queue(
                        u.conn, team=t, agent_id=agent_id, now=u.now, queued_before=cutoff
                    )
                    for t in overflow
                ]
            waiting = [h for h in heads if h is not None]
            if not waiting:
                return
            head = min(waiting, key=lambda r: (r.queue_key, r.id))
            before = len(u.events)
            await self._route(u, head.id)
            if len(u.events) == before:
                return  # the head went nowhere (e.g. its sticky agent is someone else): stop here

    def _team_open_any(self, teams: Sequence[str], now: datetime) -> bool:
        return any(self._team_open(t, now) for t in teams)

    # ---- agents' actions ------------------------------------------------------------------

    async def claim(self, conversation_id: int, agent_id: int, *, how: str = "claim") -> Outcome:
        """An agent claims a conversation (Claim button, `/take`). Exactly one claimant wins."""

        async def work(u: _Unit) -> Outcome:
            return await self._claim(u, conversation_id, agent_id, how)

        try:
            outcome, events = await self._run(work)
        except store.Conflict:
            return await self._loser(conversation_id)
        return Outcome(outcome.result, tuple(events), outcome.holder_id, conversation_id)

    async def _loser(self, conversation_id: int) -> Outcome:
        async with self.engine.connect() as conn:
            row = await store.get_conversation(conn, conversation_id)
        return Outcome(
            ClaimResult.ALREADY_CLAIMED,
            holder_id=row.agent_id if row else None,
            conversation_id=conversation_id,
        )

    async def _claim(self, u: _Unit, conversation_id: int, agent_id: int, how: str) -> Outcome:
        row = await store.get_conversation(u.conn, conversation_id)
        if row is None:
            return Outcome(ClaimResult.NOT_FOUND)
        if row.state == C.CLOSED:
            return Outcome(ClaimResult.CLOSED)
        if row.state == C.ASSIGNED:
            return Outcome(ClaimResult.ALREADY_CLAIMED, holder_id=row.agent_id)
        if row.state == C.BOT:
            return Outcome(ClaimResult.NOT_WAITING)
        agent = await store.get_agent(u.conn, agent_id)
        if agent is None or not agent.active:
            return Outcome(ClaimResult.NOT_AN_AGENT)
        offer = await store.pending_offer(u.conn, row.id) if row.state == C.OFFERED else None
        mine = offer is not None and offer.agent_id == agent_id
        anyone = row.open_to_anyone or self.config.routing.claim is ClaimMode.ANYONE
        forced = how == "force"
        if not (mine or anyone or forced):
            return Outcome(
                ClaimResult.NOT_OFFERED_TO_YOU, holder_id=offer.agent_id if offer else None
            )
        if not forced and not agent.on_shift:
            return Outcome(ClaimResult.OFF_SHIFT)
        pending_elsewhere = agent.pending_offers - (1 if mine else 0)
        over = agent.load + pending_elsewhere >= agent.capacity
        if over and not forced:
            return Outcome(ClaimResult.AT_CAPACITY)
        if offer is not None:
            await self._end_offer(u, offer, OfferState.ACCEPTED if mine else OfferState.RESCINDED)
        check_move(C(row.state), C.ASSIGNED)
        await store.update_conversation(
            u.conn,
            row,
            state=C.ASSIGNED,
            agent_id=agent_id,
            assigned_at=row.assigned_at or u.now,
            last_activity_at=u.now,
        )
        # A claimed offer already counted as routed when it was made; a take or force counts now.
        routed = {} if mine else {"last_routed_at": u.now}
        await store.change_agent(
            u.conn, agent_id, load=store.agents.c.load + 1, missed_offers=0, **routed
        )
        verb = {"claim": "claimed", "take": "taken (cherry-pick)", "force": "force-assigned"}.get(
            how, how
        )
        note = f" over capacity ({agent.load + 1}/{agent.capacity})" if over else ""
        await store.add_trail(u.conn, row.id, u.now, "assign", f"{verb} by {agent.name}{note}")
        u.events.append(Assigned(row.id, row.customer_id, agent_id, how, over))
        return Outcome(ClaimResult.CLAIMED, holder_id=agent_id)

    async def assign(self, conversation_id: int, agent_id: int) -> Outcome:
        """A manager's force-assign (`/assign`): may exceed capacity, and says so."""
        return await self.claim(conversation_id, agent_id, how="force")

    async def _end_offer(self, u: _Unit, offer: Row[Any], outcome: OfferState) -> None:
        """Resolve a pending offer once and give the agent's reserved slot back.

        Raises Conflict when someone resolved it meanwhile, so the whole decision is retried on
        fresh state (PostgreSQL re-checks the WHERE after waiting for the row lock).
        """
        if not await store.resolve_offer(u.conn, offer.id, outcome, u.now):
            raise store.Conflict(f"offer {offer.id} was resolved meanwhile")
        await store.change_agent(
            u.conn, offer.agent_id, pending_offers=store.agents.c.pending_offers - 1
        )
        if outcome is not OfferState.ACCEPTED:
            u.events.append(OfferEnded(offer.conversation_id, offer.id, offer.agent_id, outcome))

    async def expire_offer(self, offer_id: int) -> Outcome:
        """The offer's deadline passed: requeue to the next agent (idempotent)."""
        return await self._refuse_offer(offer_id, OfferState.TIMED_OUT)

    async def decline(self, offer_id: int, agent_id: int) -> Outcome:
        return await self._refuse_offer(offer_id, OfferState.DECLINED, agent_id=agent_id)

    async def _refuse_offer(
        self, offer_id: int, outcome: OfferState, agent_id: int | None = None
    ) -> Outcome:
        async def work(u: _Unit) -> ActionResult:
            offer = (
                await u.conn.execute(select(store.offers).where(store.offers.c.id == offer_id))
            ).first()
            if offer is None:
                return ActionResult.NOT_FOUND
            if agent_id is not None and offer.agent_id != agent_id:
                return ActionResult.NOT_YOURS
            if offer.state != OfferState.PENDING or (
                outcome is OfferState.TIMED_OUT and offer.deadline > u.now
            ):
                return ActionResult.ALREADY_DONE
            await self._end_offer(u, offer, outcome)
            row = await store.get_conversation(u.conn, offer.conversation_id)
            agent = await store.get_agent(u.conn, offer.agent_id)
            seconds = (u.now - offer.created_at).total_seconds()
            what = "timed out" if outcome is OfferState.TIMED_OUT else "declined"
            await store.add_trail(
                u.conn,
                row.id,
                u.now,
                what.replace(" ", "_"),
                f"offer to {agent.name} {what} after {seconds:.0f} s → requeued",
            )
            if outcome is OfferState.TIMED_OUT:
                await self._count_missed(u, agent)
            if row.state == C.OFFERED:
                check_move(C.OFFERED, C.QUEUED)
                await store.update_conversation(u.conn, row, state=C.QUEUED)
                await self._route(u, row.id)
            await self._dispatch_agent(u, offer.agent_id)
            return ActionResult.DONE

        result, events = await self._run(work)
        return Outcome(result, tuple(events))

    async def _count_missed(self, u: _Unit, agent: Row[Any]) -> None:
        missed = agent.missed_offers + 1
        limit = self.config.routing.max_missed_offers
        if missed >= limit and agent.status == AgentStatus.AVAILABLE:
            await store.change_agent(
                u.conn, agent.id, missed_offers=0, status=AgentStatus.AWAY, status_changed_at=u.now
            )
            u.events.append(AgentStatusChanged(None, agent.id, AgentStatus.AWAY, "missed_offers"))
        else:
            await store.change_agent(u.conn, agent.id, missed_offers=missed)

    async def release(self, conversation_id: int, agent_id: int) -> Outcome:
        """The agent hands the conversation back to the queue (`/release`)."""

        async def work(u: _Unit) -> ActionResult:
            row = await store.get_conversation(u.conn, conversation_id)
            if row is None:
                return ActionResult.NOT_FOUND
            if row.state != C.ASSIGNED or row.agent_id != agent_id:
                return ActionResult.NOT_YOURS
            agent = await store.get_agent(u.conn, agent_id)
            await self._requeue_from_agent(u, row, row.team, f"released by {agent.name}")
            await self._dispatch_agent(u, agent_id)
            return ActionResult.DONE

        result, events = await self._run(work)
        return Outcome(result, tuple(events), conversation_id=conversation_id)

    async def _requeue_from_agent(self, u: _Unit, row: Row[Any], team: str, why: str) -> None:
        check_move(C.ASSIGNED, C.QUEUED)
        routing = self.config.routing
        await store.update_conversation(
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
        await store.change_agent(
            u.conn, row.agent_id, load=store.agents.c.load - 1, last_routed_at=u.now
        )
        await store.add_trail(u.conn, row.id, u.now, "requeue", why)
        u.events.append(Requeued(row.id, row.agent_id, team, why))
        await self._route(u, row.id, announce=True)

    async def transfer(
        self,
        conversation_id: int,
        by_agent_id: int,
        *,
        to_agent_id: int | None = None,
        to_team: str | None = None,
    ) -> Outcome:
        """Move a conversation to another agent or team (`/transfer #id @agent|team`)."""
        if (to_agent_id is None) == (to_team is None):
            raise ValueError("transfer to exactly one of an agent or a team")

        async def work(u: _Unit) -> ActionResult:
            row = await store.get_conversation(u.conn, conversation_id)
            by = await store.get_agent(u.conn, by_agent_id)
            if row is None or row.state not in (C.QUEUED, C.OFFERED, C.ASSIGNED):
                return ActionResult.NOT_FOUND
            if by is None or not by.active:
                return ActionResult.NOT_ALLOWED
            if row.state == C.ASSIGNED and row.agent_id != by_agent_id and not by.is_manager:
                return ActionResult.NOT_YOURS
            if row.state != C.ASSIGNED and not by.is_manager:
                return ActionResult.NOT_ALLOWED
            if to_team is not None:
                if to_team not in self.config.teams:
                    return ActionResult.UNKNOWN_TARGET
                return await self._transfer_to_team(u, row, by, to_team)
            return await self._transfer_to_agent(u, row, by, to_agent_id)

        result, events = await self._run(work)
        return Outcome(result, tuple(events), conversation_id=conversation_id)

    async def _transfer_to_team(
        self, u: _Unit, row: Row[Any], by: Row[Any], team: str
    ) -> ActionResult:
        why = f"transferred to team {team} by {by.name}"
        if row.state == C.ASSIGNED:
            holder = row.agent_id
            await self._requeue_from_agent(u, row, team, why)
            await self._dispatch_agent(u, holder)
            return ActionResult.DONE
        offer = await store.pending_offer(u.conn, row.id) if row.state == C.OFFERED else None
        if offer is not None:
            await self._end_offer(u, offer, OfferState.RESCINDED)
        routing = self.config.routing
        await store.update_conversation(
            u.conn,
            row,
            state=C.QUEUED,
            team=team,
            transfers=row.transfers + 1,
            sticky_tried=True,
            queue_key=queue_key(row.queued_at, row.priority, routing.aging),
            attempts=0,
            open_to_anyone=False,
        )
        await store.add_trail(u.conn, row.id, u.now, "transfer", why)
        await self._route(u, row.id, announce=True)
        if offer is not None:
            await self._dispatch_agent(u, offer.agent_id)
        return ActionResult.DONE

    async def _transfer_to_agent(
        self, u: _Unit, row: Row[Any], by: Row[Any], to_agent_id: int
    ) -> ActionResult:
        target = await store.get_agent(u.conn, to_agent_id)
        if target is None or not target.active:
            return ActionResult.UNKNOWN_TARGET
        if target.id == row.agent_id:
            return ActionResult.ALREADY_DONE
        snapshot = store.agent_snapshot(target)
        if not (
            snapshot.on_shift
            and snapshot.status is AgentStatus.AVAILABLE
            and target.load < target.capacity
        ):
            return ActionResult.TARGET_UNAVAILABLE
        previous = row.agent_id
        offer = await store.pending_offer(u.conn, row.id) if row.state == C.OFFERED else None
        if offer is not None:
            await self._end_offer(u, offer, OfferState.RESCINDED)
        previous_offer_agent = offer.agent_id if offer is not None else None
        check_move(C(row.state), C.ASSIGNED)
        await store.update_conversation(
            u.conn,
            row,
            state=C.ASSIGNED,
            agent_id=to_agent_id,
            transfers=row.transfers + 1,
            assigned_at=row.assigned_at or u.now,
            last_activity_at=u.now,
        )
        if previous is not None:
            await store.change_agent(u.conn, previous, load=store.agents.c.load - 1)
        await store.change_agent(
            u.conn, to_agent_id, load=store.agents.c.load + 1, last_routed_at=u.now
        )
        await store.add_trail(
            u.conn, row.id, u.now, "transfer", f"transferred to {target.name} by {by.name}"
        )
        u.events.append(Assigned(row.id, row.customer_id, to_agent_id, "transfer"))
        for freed in (previous, previous_offer_agent):
            if freed is not None:
                await self._dispatch_agent(u, freed)
        return ActionResult.DONE

    async def close(
        self, conversation_id: int, *, by_agent_id: int | None = None, reason: str = "agent"
    ) -> Outcome:
        """Close a conversation (`/close`); an agent may close only their own unless a manager."""

        async def work(u: _Unit) -> ActionResult:
            row = await store.get_conversation(u.conn, conversation_id)
            if row is None:
                return ActionResult.NOT_FOUND
            if row.state == C.CLOSED:
                return ActionResult.ALREADY_DONE
            if by_agent_id is not None:
                agent = await store.get_agent(u.conn, by_agent_id)
                if agent is None or not agent.active:
                    return ActionResult.NOT_ALLOWED
                if row.agent_id != by_agent_id and not agent.is_manager:
                    return ActionResult.NOT_YOURS
            await self._close(u, row, reason=reason)
            return ActionResult.DONE

        result, events = await self._run(work)
        return Outcome(result, tuple(events), conversation_id=conversation_id)

    async def _close(self, u: _Unit, row: Row[Any], *, reason: str) -> None:
        check_move(C(row.state), C.CLOSED)
        freed: list[int] = []
        if row.state == C.OFFERED:
            offer = await store.pending_offer(u.conn, row.id)
            if offer is not None:
                await self._end_offer(u, offer, OfferState.RESCINDED)
                freed.append(offer.agent_id)
        await store.update_conversation(
            u.conn, row, state=C.CLOSED, closed_at=u.now, close_reason=reason
        )
        if row.state == C.ASSIGNED and row.agent_id is not None:
            await store.change_agent(u.conn, row.agent_id, load=store.agents.c.load - 1)
            freed.append(row.agent_id)
        if row.team:
            customers = Customer.__table__
            await u.conn.execute(
                update(customers)
                .where(customers.c.id == row.customer_id)
                .values(usual_team=row.team)
            )
        await store.add_trail(u.conn, row.id, u.now, "close", f"closed ({reason})")
        u.events.append(Closed(row.id, row.customer_id, row.agent_id, reason))
        for agent_id in freed:
            await self._dispatch_agent(u, agent_id)

    async def set_agent_status(
        self, agent_id: int, status: AgentStatus, why: str = "command"
    ) -> Outcome:
        """`/on`, `/away`, `/off`: takes effect at once; pending offers of an agent leaving are rescinded."""

        async def work(u: _Unit) -> ActionResult:
            agent = await store.get_agent(u.conn, agent_id)
            if agent is None or not agent.active:
                return ActionResult.NOT_ALLOWED
            await store.change_agent(
                u.conn,
                agent_id,
                status=status,
                status_changed_at=u.now,
                **({"missed_offers": 0} if status is AgentStatus.AVAILABLE else {}),
            )
            u.events.append(AgentStatusChanged(None, agent_id, status, why))
            if status is AgentStatus.AVAILABLE:
                await self._dispatch_agent(u, agent_id)
            else:
                await self._rescind_offers_of(u, agent_id, f"{agent.name} went {status}")
            return ActionResult.DONE

        result, events = await self._run(work)
        return Outcome(result, tuple(events))

    async def set_reachable(self, agent_id: int, reachable: bool) -> None:
        """Whether the bot can message this agent privately; unreachable agents get no offers."""

        async def work(u: _Unit) -> None:
            await store.change_agent(u.conn, agent_id, reachable=reachable)
            if reachable:
                await self._dispatch_agent(u, agent_id)
            else:
                await self._rescind_offers_of(u, agent_id, "agent cannot be messaged")

        await self._run(work)

    async def _rescind_offers_of(self, u: _Unit, agent_id: int, why: str) -> None:
        for offer in await store.pending_offers_of(u.conn, agent_id):
            await self._end_offer(u, offer, OfferState.RESCINDED)
            row = await store.get_conversation(u.conn, offer.conversation_id)
            await store.add_trail(u.conn, row.id, u.now, "rescind", f"offer rescinded: {why}")
            if row.state == C.OFFERED:
                await store.update_conversation(u.conn, row, state=C.QUEUED)
                await self._route(u, row.id)

    # ---- time -----------------------------------------------------------------------------

    async def sync_shifts(self) -> Outcome:
        """Start and end shifts by the agents' schedules: starting means available, ending offline."""

        async def work(u: _Unit) -> None:
            shift_log = ShiftLog.__table__
            for spec in self.config.agents:
                row = await store.get_agent(u.conn, spec.id)
                on = is_open(self.config.schedules[spec.shift], u.now)
                if row is None or row.on_shift == on:
                    continue
                if on:
                    await store.change_agent(
                        u.conn,
                        spec.id,
                        on_shift=True,
                        status=AgentStatus.AVAILABLE,
                        status_changed_at=u.now,
                        missed_offers=0,
                    )
                    await u.conn.execute(insert(shift_log).values(agent_id=spec.id, start=u.now))
                    u.events.append(
                        AgentStatusChanged(None, spec.id, AgentStatus.AVAILABLE, "shift_start")
                    )
                    await self._dispatch_agent(u, spec.id)
                else:
                    await store.change_agent(
                        u.conn,
                        spec.id,
                        on_shift=False,
                        status=AgentStatus.OFFLINE,
                        status_changed_at=u.now,
                    )
                    await u.conn.execute(
                        update(shift_log)
                        .where(shift_log.c.agent_id == spec.id, shift_log.c.end.is_(None))
                        .values(end=u.now)
                    )
                    u.events.append(
                        AgentStatusChanged(None, spec.id, AgentStatus.OFFLINE, "shift_end")
                    )
                    await self._rescind_offers_of(u, spec.id, f"{spec.name}'s shift ended")

        _, events = await self._run(work)
        return Outcome(ActionResult.DONE, tuple(events))

    async def dispatch_free_agents(self) -> Outcome:
        """Offer waiting conversations to every agent with a free slot (openings, overflow, drains)."""

        async def work(u: _Unit) -> None:
            for agent_id in await store.free_agent_ids(u.conn):
                await self._dispatch_agent(u, agent_id)

        _, events = await self._run(work)
        return Outcome(ActionResult.DONE, tuple(events))

    async def sweep(self) -> list[Event]:
        """The periodic catch-all (SPEC §4.3): overdue offers, shifts, queues, SLA, idle chats."""
        events: list[Event] = []
        async with self.engine.connect() as conn:
            overdue = await store.overdue_offer_ids(conn, self.clock.now())
        for offer_id in overdue:
            events += (await self.expire_offer(offer_id)).events
        events += (await self.sync_shifts()).events
        events += (await self.dispatch_free_agents()).events
        events += await self._check_sla()
        events += await self._close_idle()
        return events

    async def _check_sla(self) -> list[Event]:
        async def work(u: _Unit) -> None:
            table = store.conversations
            rows = await u.conn.execute(
                select(table)
                .where(
                    table.c.state.in_((C.QUEUED, C.OFFERED, C.ASSIGNED)),
                    table.c.first_response_at.is_(None),
                    table.c.sla_alerted.is_(False),
                    table.c.not_before.is_(None),
                )
                .limit(500)
            )
            for row in rows:
                team = self.config.teams.get(row.team)
                if team is None:
                    continue
                waited = (u.now - row.queued_at).total_seconds()
                if waited >= team.sla.first_response:
                    await u.conn.execute(
                        update(table).where(table.c.id == row.id).values(sla_alerted=True)
                    )
                    await store.add_trail(
                        u.conn, row.id, u.now, "sla", f"no first response after {waited:.0f} s"
                    )
                    u.events.append(SlaBreached(row.id, row.team, waited))

        _, events = await self._run(work)
        return events

    async def _close_idle(self) -> list[Event]:
        table = store.conversations
        cutoff = self.clock.now() - timedelta(seconds=self.config.routing.idle_close_after)
        async with self.engine.connect() as conn:
            idle = await store.conversation_ids(
                conn, table.c.state.in_((C.BOT, C.ASSIGNED)), table.c.last_activity_at <= cutoff
            )
        events: list[Event] = []
        for conversation_id in idle:
            events += (await self.close(conversation_id, reason="idle")).events
        return events
