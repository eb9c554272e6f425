"""The customer's side of routing: first contact, the handoff request, cancel, block, messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row

from handoff import store, transitions
from handoff.dispatch import (
    ActionResult,
    C,
    Dispatcher,
    Outcome,
    Unit,
)
from handoff.events import (
    FirstResponse,
    HeldAfterHours,
    RoutedAfterHours,
)
from handoff.kpis.measures import seconds_waited
from handoff.policies import (
    TeamHours,
    classify,
    queue_key,
    team_hours,
)
from handoff.states import (
    OPEN_STATES,
)
from handoff.store import SentMessage
from handoff.tables import Csat, Customer

CSAT_COMMENT_WINDOW = 30 * 60.0  # seconds after a rating in which a reply is its comment


class Intake(Dispatcher):
    """Customers arrive, ask for a person, leave the queue or block the bot."""

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
        """Create the customer on first contact; refresh name and language later.

        VIP: in the config's list, or `vip` (what the CRM says).
        """
        table = Customer.__table__

        def work(u: Unit) -> Row[Any]:
            row = (u.conn.execute(select(table).where(table.c.id == customer_id))).first()
            vip_now = vip or customer_id in self.config.routing.vip.customers
            if row is None:
                u.conn.execute(
                    insert(table).values(
                        id=customer_id,
                        name=name,
                        username=username,
                        language=language or self.config.bot.default_language,
                        lead_source=lead_source,
                        is_vip=vip_now,
                        created_at=u.now,
                    )
                )
            else:
                changes: dict[str, Any] = {
                    "name": name or row.name,
                    "username": username,
                    "is_vip": vip_now,
                }
                if language:
                    changes["language"] = language
                u.conn.execute(update(table).where(table.c.id == customer_id).values(**changes))
            return (u.conn.execute(select(table).where(table.c.id == customer_id))).one()

        row, _ = await self._run(work)
        return row

    async def customer_status(
        self, customer_id: int
    ) -> tuple[SimpleNamespace | None, SimpleNamespace | None]:
        """The customer (None before first contact) and their open conversation, in one query
        (it runs for every message a customer sends)."""
        return await self._read(lambda conn: store.customer_status(conn, customer_id))

    async def sent_refs(self, conversation_id: int) -> set[str]:
        """The canned replies and FAQ answers agents sent in a conversation (`handoff.canned`)."""
        return await self._read(lambda conn: store.sent_refs(conn, conversation_id))

    async def update_customer(self, customer_id: int, **values: Any) -> None:
        """Set the bot's notes on a customer (language, unknown streak, awaited CSAT comment)."""
        allowed = {"language", "unknown_streak", "csat_comment_for"}
        if not values.keys() <= allowed:
            raise ValueError(f"not a customer note: {sorted(values.keys() - allowed)}")
        table = Customer.__table__

        def work(u: Unit) -> None:
            u.conn.execute(update(table).where(table.c.id == customer_id).values(**values))

        await self._run(work)

    async def record_intent_choice(self, customer_id: int, intent: str) -> None:
        """The customer chose what their last message meant when the bot asked."""

        def work(u: Unit) -> None:
            text = store.last_customer_text(u.conn, customer_id)
            if text is not None:
                store.add_intent_label(
                    u.conn,
                    u.now,
                    customer_id=customer_id,
                    text=text,
                    intent=intent,
                    source="customer",
                )

        await self._run(work)

    async def learned_examples(self, limit: int = 5000) -> list[tuple[str, str]]:
        """(text, intent) that agents corrected in chats now closed: the bot learns them."""
        return await self._read(lambda conn: store.corrected_examples(conn, limit))

    async def refresh_queue_positions(self, every: float = 60.0) -> Outcome:
        """Tell waiting customers their new place in line: when it changed, at most once `every`
        seconds (SPEC §3.5). Emits `Queued(first=False)` for each one to tell."""
        table = store.conversations

        def work(u: Unit) -> None:
            waiting = u.conn.execute(
                select(table).where(
                    table.c.state == C.QUEUED,
                    table.c.position_told.is_not(None),
                    table.c.position_told_at <= u.now - timedelta(seconds=every),
                )
            )
            for row in waiting.all():
                if row.not_before is not None and row.not_before > u.now:
                    continue  # held for the opening: its customer was told when
                stats = self._queue_stats(u, row)
                if stats.position != row.position_told:
                    u.events.append(self._queued_event(u, row, stats)[1])

        _, events = await self._run(work)
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

        def work(u: Unit) -> int:
            facts = store.arrival_facts(u.conn, customer_id)
            opened = facts.open_conversation
            if opened is not None and opened.state != C.BOT:
                return int(opened.id)  # already waiting or with an agent: nothing to redo
            if opened is None:
                row = transitions.draft(customer_id, u.now, first_message=text[:500])
            else:  # talking to the bot still (a chat held after hours, say): the whole row
                row = store.get_conversation(u.conn, opened.id)
            return int(
                self._enqueue(
                    u, row, facts, intent=intent, text=text, account_owner_id=account_owner_id
                ).id
            )

        conversation_id, events = await self._run(work)
        return Outcome(ActionResult.DONE, tuple(events), conversation_id=conversation_id)

    def _enqueue(
        self,
        u: Unit,
        row: Any,
        facts: store.ArrivalFacts,
        *,
        intent: str | None,
        text: str,
        account_owner_id: int | None,
    ) -> Any:
        """Classify, check the hours, queue and route a conversation talking to the bot; the row
        as written."""
        customer = facts.customer
        routing = self.config.routing
        verdict = classify(
            self.config,
            intent=intent,
            text=text,
            first_chat=facts.last_closed_id is None,
            is_vip=bool(customer and customer.is_vip),
            usual_team=customer.usual_team if customer else None,
        )
        sticky_id = account_owner_id
        if (
            sticky_id is None
            and facts.last_agent_id is not None
            and facts.last_closed_at is not None
            and facts.last_closed_at >= u.now - timedelta(seconds=routing.sticky.window)
        ):
            sticky_id = facts.last_agent_id
        hours = team_hours(self.config, verdict.team, u.now)
        values: dict[str, Any] = dict(
            team=hours.team,
            intent=intent,
            priority=verdict.priority,
            is_lead=verdict.is_lead,
            sticky_agent_id=sticky_id,
            queued_at=u.now,
            queue_key=queue_key(u.now, verdict.priority, routing.aging),
            first_message=(text or row.first_message)[:500],
            last_activity_at=u.now,
        )
        notes = [("classify", "; ".join(verdict.reasons)), ("time", hours.reason)]
        if sticky_id is not None:
            notes.append(("sticky", f"sticky candidate: agent {sticky_id}"))
        if hours.outcome is not TeamHours.OPEN:
            values.update(not_before=hours.opening, after_hours_policy=hours.policy)
        row = transitions.move(u, row, C.QUEUED, notes=notes, **values)
        if hours.outcome is not TeamHours.OPEN:
            row = transitions.write(u, row) if isinstance(row, transitions.Draft) else row
            u.events.append(
                HeldAfterHours(row.id, row.customer_id, hours.team, hours.policy, hours.opening)
            )
            return row
        routed_after_hours = hours.team != verdict.team
        if routed_after_hours and isinstance(row, transitions.Draft):
            row = transitions.write(u, row)  # its event comes first, and names it
        if routed_after_hours:
            u.events.append(RoutedAfterHours(row.id, row.customer_id, verdict.team, hours.team))
        return self._route(u, row, announce=True)

    async def cancel(self, customer_id: int) -> Outcome:
        """`/cancel`: the customer leaves the queue (or ends the chat with their agent)."""
        table = store.conversations

        def work(u: Unit) -> Outcome:
            row = (
                u.conn.execute(
                    select(table).where(
                        table.c.customer_id == customer_id,
                        table.c.state.in_((C.QUEUED, C.OFFERED, C.ASSIGNED)),
                    )
                )
            ).first()
            if row is None:
                return Outcome(ActionResult.NOT_FOUND)
            self._close(u, row, reason="customer_cancel")
            return Outcome(ActionResult.DONE, conversation_id=row.id)

        outcome, events = await self._run(work)
        return Outcome(outcome.result, tuple(events), conversation_id=outcome.conversation_id)

    async def customer_blocked(self, customer_id: int) -> Outcome:
        """The customer blocked the bot (403): end their open conversation; the agent is told."""
        customers = Customer.__table__

        def work(u: Unit) -> None:
            u.conn.execute(
                update(customers).where(customers.c.id == customer_id).values(blocked=True)
            )
            table = store.conversations
            for row in u.conn.execute(
                select(table).where(
                    table.c.customer_id == customer_id, table.c.state.in_(tuple(OPEN_STATES))
                )
            ):
                self._close(u, row, reason="blocked")

        _, events = await self._run(work)
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
        """Store messages of the customer's chat in one transaction, for transcripts and history.

        Those exchanged with the bot before any handoff have no conversation; an agent's first
        message sets the conversation's first response time.
        """

        keys = store.transcript_keys(customer_id, entries)

        def work(u: Unit) -> None:
            answered = store.insert_messages(
                u.conn, u.now, customer_id, conversation_id, entries, keys
            )
            if answered is not None and answered.queued_at is not None:
                waited = seconds_waited(answered.queued_at, answered.not_before, u.now)
                u.events.append(FirstResponse(conversation_id, answered.team, waited))

        if entries:
            await self._run(work)

    async def record_csat_comment(
        self, conversation_id: int, customer_id: int, comment: str
    ) -> ActionResult:
        """The optional comment after a rating, if it comes within CSAT_COMMENT_WINDOW."""
        table, customers = Csat.__table__, Customer.__table__

        def work(u: Unit) -> ActionResult:
            row = store.get_conversation(u.conn, conversation_id)
            if row is None or row.customer_id != customer_id:
                return ActionResult.NOT_FOUND
            u.conn.execute(
                update(customers).where(customers.c.id == customer_id).values(csat_comment_for=None)
            )
            # Only a reply soon after the rating is its comment; later words are a new question.
            done = u.conn.execute(
                update(table)
                .where(
                    table.c.conversation_id == conversation_id,
                    table.c.at >= u.now - timedelta(seconds=CSAT_COMMENT_WINDOW),
                )
                .values(comment=comment[:1000])
            )
            return ActionResult.DONE if done.rowcount else ActionResult.NOT_ALLOWED

        result, _ = await self._run(work)
        return result

    async def record_csat(
        self, conversation_id: int, customer_id: int, score: int, comment: str | None = None
    ) -> ActionResult:
        """The customer's 1–5 rating of a closed conversation; once per conversation, and only
        while it is their newest (a rating keyboard left from an earlier chat has expired)."""
        if not 1 <= score <= 5:
            return ActionResult.NOT_ALLOWED
        table = Csat.__table__

        def work(u: Unit) -> ActionResult:
            row = store.get_conversation(u.conn, conversation_id)
            if row is None or row.customer_id != customer_id:
                return ActionResult.NOT_FOUND
            if row.state != C.CLOSED:
                return ActionResult.NOT_ALLOWED
            if u.conn.scalar(select(store.newest_conversation(customer_id))) != row.id:
                return ActionResult.NOT_ALLOWED
            exists = u.conn.scalar(
                select(table.c.conversation_id).where(table.c.conversation_id == conversation_id)
            )
            if exists is not None:
                return ActionResult.ALREADY_DONE
            u.conn.execute(
                insert(table).values(
                    conversation_id=conversation_id,
                    score=score,
                    comment=(comment or None) and comment[:1000],
                    at=u.now,
                )
            )
            return ActionResult.DONE

        result, _ = await self._run(work)
        return result
