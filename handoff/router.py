"""The routing service: runs the routing core's services (`intake`, `agent_actions`, `staffing`:
plain functions over a unit of work, on the shared `moves`) and hands their events on.

Each action is one unit of work (`handoff.unit_of_work`): one transaction, retried on a lost
compare-and-set (SPEC §4.1), with what the stagers write for its events; after the commit its
events go to every listener (the timers, the adapters) and are returned in its `Outcome`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff import agent_actions, intake, staffing, store, unit_of_work, workers
from handoff.clock import Clock
from handoff.config import Config
from handoff.customer_statuses import CustomerStatuses, Status
from handoff.events import Event
from handoff.moves import C
from handoff.results import ActionResult, ClaimResult, Outcome
from handoff.states import AgentStatus
from handoff.store import SentMessage
from handoff.unit_of_work import Unit

__all__ = ["ActionResult", "ClaimResult", "Listener", "Outcome", "Router"]

log = logging.getLogger(__name__)
Listener = Callable[[Sequence[Event]], Awaitable[None]]
# Writes what events cause within the transaction that caused them; returns what to do once it
# has committed (an adapter's notices then commit with the routing change, or not at all).
Stager = Callable[[Connection, Sequence[Event]], Callable[[], None]]
T = TypeVar("T")
P = ParamSpec("P")
CONFLICT_RETRIES = 5


class Router:
    """The routing service of SPEC §4: every action, over one database, the live config and the
    clock."""

    def __init__(
        self, engine: AsyncEngine, config: Config, clock: Clock, *, sole_writer: bool = False
    ) -> None:
        """`sole_writer`: no other process writes the database (customers' statuses are kept in
        memory between steps)."""
        self.engine = engine
        self.database = unit_of_work.Database(engine)  # what the adapters read and write through
        self.config = config
        self.clock = clock
        self.listeners: list[Listener] = []
        self.stagers: list[Stager] = []
        self.statuses = CustomerStatuses(enabled=sole_writer)

    # ---- running the services ---------------------------------------------------------------

    async def run(
        self, service: Callable[Concatenate[Unit, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> tuple[T, list[Event]]:
        """Run `service` as one unit of work, retrying on a lost compare-and-set; then publish
        its events to the listeners. Its value and its events."""
        for attempt in range(CONFLICT_RETRIES):
            # Lost once: run again holding the routing lock (`workers.routing_lock`).
            step = functools.partial(
                self._step, service, args, kwargs, self.clock.now(), attempt > 0
            )
            try:
                value, unit, committed = await unit_of_work.write(self.engine, step)
                break
            except store.Conflict:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
                log.debug("conflict, retrying (%s)", attempt + 1)
            finally:
                self.statuses.forget()
        for done in committed:
            done()
        await self.publish(unit.events)
        return value, unit.events

    def _step(
        self,
        service: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        now: datetime,
        alone: bool,
        conn: Connection,
    ) -> tuple[T, Unit, list[Callable[[], None]]]:
        unit = Unit(conn, now, self.config)
        if alone:
            workers.routing_lock(conn)
        value = service(unit, *args, **kwargs)
        store.add_trails(conn, now, unit.notes)
        committed = [stage(conn, unit.events) for stage in self.stagers] if unit.events else []
        return value, unit, committed

    async def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        for listener in self.listeners:
            try:
                await listener(events)
            except Exception:  # one broken adapter must not stop routing
                log.exception("event listener %r failed", listener)

    # ---- customers ----------------------------------------------------------------------------

    async def ensure_customer(
        self,
        customer_id: int,
        *,
        name: str = "",
        username: str | None = None,
        language: str | None = None,
        lead_source: str | None = None,
        vip: bool = False,
    ) -> Row[Any]:
        """Create the customer on first contact; refresh name and language later."""
        row, _ = await self.run(
            intake.ensure_customer,
            customer_id,
            name=name,
            username=username,
            language=language,
            lead_source=lead_source,
            vip=vip,
        )
        return row

    async def customer_status(self, customer_id: int) -> Status:
        """The customer (None before first contact) and their open conversation, in one query
        (it runs for every message a customer sends: kept between routing steps when
        `sole_writer`)."""
        return await self.statuses.get(
            customer_id,
            lambda: self.database.read(lambda conn: store.customer_status(conn, customer_id)),
        )

    async def sent_refs(self, conversation_id: int) -> set[str]:
        """The canned replies and FAQ answers agents sent in a conversation (`handoff.canned`)."""
        return await self.database.read(lambda conn: store.sent_refs(conn, conversation_id))

    async def update_customer(self, customer_id: int, **values: Any) -> None:
        """Set the bot's notes on a customer (language, unknown streak, awaited CSAT comment)."""
        await self.run(intake.update_customer, customer_id, **values)

    async def record_intent_choice(self, customer_id: int, intent: str) -> None:
        """The customer chose what their last message meant when the bot asked."""
        await self.run(intake.record_intent_choice, customer_id, intent)

    async def learned_examples(self, limit: int = 5000) -> list[tuple[str, str]]:
        """(text, intent) that agents corrected in chats now closed: the bot learns them."""
        return await self.database.read(lambda conn: store.corrected_examples(conn, limit))

    async def refresh_queue_positions(self, every: float = 60.0) -> Outcome:
        """Tell waiting customers their new place in line when it changed (SPEC §3.5)."""
        _, events = await self.run(intake.refresh_queue_positions, every)
        return Outcome(ActionResult.DONE, tuple(events))

    async def request_handoff(
        self,
        customer_id: int,
        *,
        intent: str | None,
        text: str = "",
        account_owner_id: int | None = None,
    ) -> Outcome:
        """The customer needs a person: classify, check the hours, find the sticky agent, route."""
        conversation_id, events = await self.run(
            intake.request_handoff,
            customer_id,
            intent=intent,
            text=text,
            account_owner_id=account_owner_id,
        )
        return Outcome(ActionResult.DONE, tuple(events), conversation_id=conversation_id)

    async def cancel(self, customer_id: int) -> Outcome:
        """`/cancel`: the customer leaves the queue (or ends the chat with their agent)."""
        outcome, events = await self.run(intake.cancel, customer_id)
        return Outcome(outcome.result, tuple(events), conversation_id=outcome.conversation_id)

    async def customer_blocked(self, customer_id: int) -> Outcome:
        """The customer blocked the bot (403): end their open conversation; the agent is told."""
        _, events = await self.run(intake.customer_blocked, customer_id)
        return Outcome(ActionResult.DONE, tuple(events))

    async def record_message(
        self,
        conversation_id: int | None,
        *,
        sender: str,
        customer_id: int,
        kind: str = "text",
        text: str = "",
        agent_id: int | None = None,
        telegram_message_id: int | None = None,
    ) -> None:
        """Store one message of the customer's chat; see `record_messages`."""
        entry = SentMessage(sender, kind, text, agent_id, telegram_message_id)
        await self.record_messages(customer_id, conversation_id, [entry])

    async def record_messages(
        self, customer_id: int, conversation_id: int | None, entries: Sequence[SentMessage]
    ) -> None:
        """Store messages of the customer's chat in one transaction, for transcripts and history
        (an agent's first message sets the conversation's first response time)."""
        if entries:
            keys = store.transcript_keys(customer_id, entries)
            await self.run(intake.record_messages, customer_id, conversation_id, entries, keys)

    async def record_csat_comment(
        self, conversation_id: int, customer_id: int, comment: str
    ) -> ActionResult:
        """The optional comment after a rating, if it comes soon after it."""
        result, _ = await self.run(
            intake.record_csat_comment, conversation_id, customer_id, comment
        )
        return result

    async def record_csat(
        self, conversation_id: int, customer_id: int, score: int, comment: str | None = None
    ) -> ActionResult:
        """The customer's 1–5 rating of a closed conversation, once, while it is their newest."""
        result, _ = await self.run(intake.record_csat, conversation_id, customer_id, score, comment)
        return result

    # ---- agents and managers ----------------------------------------------------------------

    async def claim(self, conversation_id: int, agent_id: int, *, how: str = "claim") -> Outcome:
        """An agent claims a conversation (Claim button, `/take`). Exactly one claimant wins."""
        try:
            outcome, events = await self.run(agent_actions.claim, conversation_id, agent_id, how)
        except store.Conflict:
            row = await self.database.read(
                lambda conn: store.get_conversation(conn, conversation_id)
            )
            return Outcome(
                ClaimResult.ALREADY_CLAIMED,
                holder_id=row.agent_id if row else None,
                conversation_id=conversation_id,
            )
        return Outcome(outcome.result, tuple(events), outcome.holder_id, conversation_id)

    async def assign(self, conversation_id: int, agent_id: int) -> Outcome:
        """A manager's force-assign (`/assign`): may exceed capacity, and says so."""
        return await self.claim(conversation_id, agent_id, how="force")

    async def expire_overdue(self) -> Outcome:
        """Time out every pending offer past its deadline (the deadline timer, the sweep)."""
        result, events = await self.run(agent_actions.expire_overdue)
        return Outcome(result, tuple(events))

    async def release(self, conversation_id: int, agent_id: int) -> Outcome:
        """The agent hands the conversation back to the queue (`/release`)."""
        result, events = await self.run(agent_actions.release, conversation_id, agent_id)
        return Outcome(result, tuple(events), conversation_id=conversation_id)

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
        result, events = await self.run(
            agent_actions.transfer,
            conversation_id,
            by_agent_id,
            to_agent_id=to_agent_id,
            to_team=to_team,
        )
        return Outcome(result, tuple(events), conversation_id=conversation_id)

    async def set_focus(self, agent_id: int, conversation_id: int) -> ActionResult:
        """`/switch #id`: the agent's unaddressed messages go to this chat of theirs from now on."""
        result, _ = await self.run(agent_actions.set_focus, agent_id, conversation_id)
        return result

    async def correct_intent(self, conversation_id: int, intent: str, agent_id: int) -> Outcome:
        """An agent says what the customer's words meant (`/intent #id NAME`)."""
        result, events = await self.run(
            agent_actions.correct_intent, conversation_id, intent, agent_id
        )
        return Outcome(result, tuple(events), conversation_id=conversation_id)

    async def close(
        self, conversation_id: int, *, by_agent_id: int | None = None, reason: str = "agent"
    ) -> Outcome:
        """Close a conversation (`/close`); an agent may close only their own unless a manager."""
        result, events = await self.run(agent_actions.close, conversation_id, by_agent_id, reason)
        return Outcome(result, tuple(events), conversation_id=conversation_id)

    # ---- who is working, and time -------------------------------------------------------------

    async def sync_agents(self, config: Config | None = None) -> None:
        """Make the agent table match the config (`config`: a reloaded one, kept from now on),
        then start and end shifts by it."""
        if config is not None:
            self.config = config
        await self.run(staffing.sync_agents)
        await self.sync_shifts()

    async def set_agent_status(
        self, agent_id: int, status: AgentStatus, why: str = "command"
    ) -> Outcome:
        """`/on`, `/away`, `/off`: takes effect at once."""
        result, events = await self.run(staffing.set_agent_status, agent_id, status, why)
        return Outcome(result, tuple(events))

    async def set_reachable(self, agent_id: int, reachable: bool) -> Outcome:
        """Whether the bot can message this agent privately."""
        result, events = await self.run(staffing.set_reachable, agent_id, reachable)
        return Outcome(result, tuple(events))

    async def sync_shifts(self) -> Outcome:
        """Start and end shifts by the agents' schedules."""
        _, events = await self.run(staffing.sync_shifts)
        return Outcome(ActionResult.DONE, tuple(events))

    async def recheck_held(self) -> Outcome:
        """After a config reload: chats held for a team's opening follow the teams' new hours,
        and any whose team is open now are offered at once."""
        _, events = await self.run(staffing.recheck_held)
        return Outcome(ActionResult.DONE, (*events, *(await self.dispatch_free_agents()).events))

    async def dispatch_free_agents(self) -> Outcome:
        """Offer waiting conversations to every agent with a free slot."""
        _, events = await self.run(staffing.dispatch_free_agents)
        return Outcome(ActionResult.DONE, tuple(events))

    async def sweep(self) -> list[Event]:
        """The periodic catch-all (SPEC §4.3): overdue offers, shifts, queues, SLA, idle chats."""
        events = list((await self.expire_overdue()).events)
        events += (await self.sync_shifts()).events
        events += (await self.dispatch_free_agents()).events
        events += (await self.run(staffing.check_sla))[1]
        events += await self._close_idle()
        return events

    async def _close_idle(self) -> list[Event]:
        table = store.conversations
        cutoff = self.clock.now() - timedelta(seconds=self.config.routing.idle_close_after)
        idle = await self.database.read(
            lambda conn: store.conversation_ids(
                conn, table.c.state.in_((C.BOT, C.ASSIGNED)), table.c.last_activity_at <= cutoff
            )
        )
        events: list[Event] = []
        for conversation_id in idle:
            events += (await self.close(conversation_id, reason="idle")).events
        return events
