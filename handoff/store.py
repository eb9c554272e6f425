"""Reads and compare-and-set writes of routing state (SQLAlchemy Core over the SQLModel tables).

Plain SQL that runs on SQLite and PostgreSQL alike; the queue and candidate look-ups are index
range scans with `LIMIT 1`, so they stay cheap with 100,000 conversations waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, insert, or_, select, update
from sqlalchemy.engine import Row

from handoff.policies import AgentSnapshot, ConversationSnapshot
from handoff.states import AgentStatus, ConversationState, OfferState
from handoff.tables import (
    Agent,
    AgentTeam,
    Conversation,
    Customer,
    IntentLabel,
    Message,
    Offer,
    TrailEvent,
)

conversations = Conversation.__table__
# The SQL twin of handoff.kpis.measures.wait_start: a chat held for its team's opening waits from it.
WAIT_START = case(
    (conversations.c.not_before > conversations.c.queued_at, conversations.c.not_before),
    else_=conversations.c.queued_at,
)
agents = Agent.__table__
agent_teams = AgentTeam.__table__
offers = Offer.__table__
trail = TrailEvent.__table__
messages = Message.__table__
customers = Customer.__table__
intent_labels = IntentLabel.__table__

REFUSED_OFFERS = (OfferState.TIMED_OUT, OfferState.DECLINED)


@dataclass(frozen=True)
class SentMessage:
    """One message of a customer's chat: who sent it (customer | bot | agent), what kind, text."""

    sender: str
    kind: str = "text"
    text: str = ""
    agent_id: int | None = None
    telegram_message_id: int | None = None


class Conflict(Exception):
    """A compare-and-set found the row changed underneath: someone else won."""


def agent_snapshot(row: Row[Any]) -> AgentSnapshot:
    return AgentSnapshot(
        id=row.id,
        name=row.name,
        capacity=row.capacity,
        status=AgentStatus(row.status),
        on_shift=row.on_shift and row.active and row.reachable,
        load=row.load,
        pending_offers=row.pending_offers,
        last_routed_at=row.last_routed_at,
    )


def conversation_snapshot(row: Row[Any]) -> ConversationSnapshot:
    return ConversationSnapshot(
        id=row.id,
        team=row.team,
        priority=row.priority,
        queued_at=row.queued_at,
        attempts=row.attempts,
        sticky_agent_id=row.sticky_agent_id,
        sticky_tried=row.sticky_tried,
        open_to_anyone=row.open_to_anyone,
        not_before=row.not_before,
    )


def get_conversation(conn: Connection, conversation_id: int) -> Row[Any] | None:
    return (
        conn.execute(select(conversations).where(conversations.c.id == conversation_id))
    ).first()


def get_customer(conn: Connection, customer_id: int) -> Row[Any] | None:
    return (conn.execute(select(customers).where(customers.c.id == customer_id))).first()


def get_agent(conn: Connection, agent_id: int) -> Row[Any] | None:
    return (conn.execute(select(agents).where(agents.c.id == agent_id))).first()


def pending_offer(conn: Connection, conversation_id: int) -> Row[Any] | None:
    return (
        conn.execute(
            select(offers).where(
                offers.c.conversation_id == conversation_id,
                offers.c.state == OfferState.PENDING,
            )
        )
    ).first()


def update_conversation(conn: Connection, row: Row[Any], **values: Any) -> None:
    """Compare-and-set on `version`: raises Conflict if anyone changed the row since it was read."""
    result = conn.execute(
        update(conversations)
        .where(conversations.c.id == row.id, conversations.c.version == row.version)
        .values(version=row.version + 1, **values)
    )
    if result.rowcount != 1:
        raise Conflict(f"conversation {row.id} changed (version {row.version})")


def change_agent(conn: Connection, agent_id: int, *conditions: Any, **values: Any) -> bool:
    """Update one agent if `conditions` still hold; False when they no longer do."""
    result = conn.execute(
        update(agents).where(agents.c.id == agent_id, *conditions).values(**values)
    )
    return result.rowcount == 1


def _eligible_agent_conditions() -> list[Any]:
    return [
        agents.c.active.is_(True),
        agents.c.reachable.is_(True),
        agents.c.on_shift.is_(True),
        agents.c.status == AgentStatus.AVAILABLE,
        agents.c.load + agents.c.pending_offers < agents.c.capacity,
    ]


def has_free_slot() -> Any:
    return agents.c.load + agents.c.pending_offers < agents.c.capacity


def longest_idle_candidate(
    conn: Connection, teams: Sequence[str], conversation_id: int, exclude: int | None = None
) -> AgentSnapshot | None:
    """The eligible agent of `teams` idle longest, skipping agents who let this conversation go
    (and `exclude`, the agent who just handed it back)."""
    refused = exists().where(
        offers.c.conversation_id == conversation_id,
        offers.c.agent_id == agents.c.id,
        offers.c.state.in_(REFUSED_OFFERS),
    )
    member = exists().where(agent_teams.c.agent_id == agents.c.id, agent_teams.c.team.in_(teams))
    row = (
        conn.execute(
            select(agents)
            .where(*_eligible_agent_conditions(), member, ~refused, agents.c.id != (exclude or 0))
            .order_by(agents.c.last_routed_at.asc().nulls_first(), agents.c.id)
            .limit(1)
        )
    ).first()
    return None if row is None else agent_snapshot(row)


def head_of_queue(
    conn: Connection,
    *,
    team: str,
    agent_id: int,
    now: datetime,
    waiting_before: datetime | None = None,
    passed: frozenset[int] = frozenset(),
) -> Row[Any] | None:
    """The first conversation of `team`'s queue (priority with aging) this agent may be offered,
    leaving out the `passed` ones."""
    refused = exists().where(
        offers.c.conversation_id == conversations.c.id,
        offers.c.agent_id == agent_id,
        offers.c.state.in_(REFUSED_OFFERS),
    )
    conditions = [
        conversations.c.state == ConversationState.QUEUED,
        conversations.c.team == team,
        or_(conversations.c.not_before.is_(None), conversations.c.not_before <= now),
        ~refused,
    ]
    if waiting_before is not None:  # a chat held for the opening waits from the opening
        conditions.append(conversations.c.queued_at <= waiting_before)
        conditions.append(
            or_(conversations.c.not_before.is_(None), conversations.c.not_before <= waiting_before)
        )
    if passed:
        conditions.append(conversations.c.id.not_in(passed))
    return (
        conn.execute(
            select(conversations).where(*conditions).order_by(conversations.c.queue_key).limit(1)
        )
    ).first()


def free_agent_ids(conn: Connection) -> list[int]:
    """Agents who could take an offer now, longest idle first."""
    rows = conn.execute(
        select(agents.c.id)
        .where(*_eligible_agent_conditions())
        .order_by(agents.c.last_routed_at.asc().nulls_first(), agents.c.id)
    )
    return [r.id for r in rows]


def queue_position(conn: Connection, row: Row[Any]) -> int:
    """1-based place in the team's queue (waiting conversations ahead of it, plus one)."""
    ahead = conn.scalar(
        select(func.count())
        .select_from(conversations)
        .where(
            conversations.c.state.in_((ConversationState.QUEUED, ConversationState.OFFERED)),
            conversations.c.team == row.team,
            or_(
                conversations.c.queue_key < row.queue_key,
                and_(conversations.c.queue_key == row.queue_key, conversations.c.id < row.id),
            ),
        )
    )
    return int(ahead or 0) + 1


def agents_on_duty(conn: Connection, team: str) -> int:
    member = exists().where(agent_teams.c.agent_id == agents.c.id, agent_teams.c.team == team)
    return int(
        conn.scalar(
            select(func.count())
            .select_from(agents)
            .where(
                member,
                agents.c.active.is_(True),
                agents.c.on_shift.is_(True),
                agents.c.status == AgentStatus.AVAILABLE,
            )
        )
        or 0
    )


def mean_handle_seconds(conn: Connection, team: str, since: datetime) -> float | None:
    """Mean claimed→closed time of the team's recent conversations, for wait estimates."""
    rows = conn.execute(
        select(conversations.c.assigned_at, conversations.c.closed_at)
        .where(
            conversations.c.team == team,
            conversations.c.closed_at >= since,
            conversations.c.assigned_at.is_not(None),
        )
        .order_by(conversations.c.closed_at.desc())
        .limit(50)
    )
    spans = [(r.closed_at - r.assigned_at).total_seconds() for r in rows]
    return sum(spans) / len(spans) if spans else None


def add_trail(conn: Connection, conversation_id: int, at: datetime, kind: str, reason: str) -> None:
    conn.execute(
        insert(trail).values(conversation_id=conversation_id, at=at, kind=kind, reason=reason)
    )


def add_offer(
    conn: Connection,
    *,
    conversation_id: int,
    agent_id: int,
    now: datetime,
    deadline: datetime,
    sticky: bool,
) -> int:
    result = conn.execute(
        insert(offers).values(
            conversation_id=conversation_id,
            agent_id=agent_id,
            state=OfferState.PENDING,
            sticky=sticky,
            created_at=now,
            deadline=deadline,
        )
    )
    return int(result.inserted_primary_key[0])


def resolve_offer(conn: Connection, offer_id: int, outcome: OfferState, now: datetime) -> bool:
    """Pending → outcome, once: False if the offer was already resolved (idempotent timers)."""
    result = conn.execute(
        update(offers)
        .where(offers.c.id == offer_id, offers.c.state == OfferState.PENDING)
        .values(state=outcome, resolved_at=now)
    )
    return result.rowcount == 1


def overdue_offers(conn: Connection, now: datetime, limit: int = 500) -> list[Row[Any]]:
    """Pending offers past their deadline, in queue order of their conversations, so the ones
    that have waited longest (priority with aging) are routed again first."""
    rows = conn.execute(
        select(offers)
        .join(conversations, conversations.c.id == offers.c.conversation_id)
        .where(offers.c.state == OfferState.PENDING, offers.c.deadline <= now)
        .order_by(conversations.c.queue_key, conversations.c.id)
        .limit(limit)
    )
    return list(rows)


def pending_offers_of(conn: Connection, agent_id: int) -> list[Row[Any]]:
    rows = conn.execute(
        select(offers).where(offers.c.agent_id == agent_id, offers.c.state == OfferState.PENDING)
    )
    return list(rows)


def conversation_ids(conn: Connection, *conditions: Any, limit: int = 500) -> list[int]:
    rows = conn.execute(
        select(conversations.c.id)
        .where(and_(*conditions))
        .order_by(conversations.c.id)
        .limit(limit)
    )
    return [r.id for r in rows]


def insert_messages(
    conn: Connection,
    now: datetime,
    customer_id: int,
    conversation_id: int | None,
    entries: Sequence[SentMessage],
) -> None:
    """Store messages of a customer's chat; an agent's first one is the first response."""
    conn.execute(
        insert(messages),
        [
            dict(
                conversation_id=conversation_id,
                customer_id=customer_id,
                sender=entry.sender,
                agent_id=entry.agent_id,
                kind=entry.kind,
                text=entry.text[:4096],
                telegram_message_id=entry.telegram_message_id,
                created_at=now,
            )
            for entry in entries
        ],
    )
    if conversation_id is None:
        return
    conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id)
        .values(last_activity_at=now)
    )
    if any(entry.sender == "agent" for entry in entries):
        conn.execute(
            update(conversations)
            .where(
                conversations.c.id == conversation_id, conversations.c.first_response_at.is_(None)
            )
            .values(first_response_at=now)
        )


def last_customer_text(
    conn: Connection, customer_id: int, before: datetime | None = None
) -> str | None:
    """The last text the customer wrote (before `before`, if given), None if none."""
    query = select(messages.c.text).where(
        messages.c.customer_id == customer_id,
        messages.c.sender == "customer",
        messages.c.kind == "text",
        messages.c.text != "",
    )
    if before is not None:
        query = query.where(messages.c.created_at <= before)
    return (conn.execute(query.order_by(messages.c.id.desc()).limit(1))).scalar()


def question_of(conn: Connection, row: Row[Any]) -> str | None:
    """What the customer asked that led to a conversation: the text it was opened with, else
    the last thing they wrote before it opened."""
    if row.first_message and not row.first_message.startswith("/"):
        return str(row.first_message)
    return last_customer_text(conn, row.customer_id, before=row.created_at)


def add_intent_label(
    conn: Connection,
    now: datetime,
    *,
    customer_id: int,
    text: str,
    intent: str,
    source: str,
    conversation_id: int | None = None,
    agent_id: int | None = None,
) -> None:
    conn.execute(
        insert(intent_labels).values(
            customer_id=customer_id,
            conversation_id=conversation_id,
            text=text,
            intent=intent,
            source=source,
            agent_id=agent_id,
            created_at=now,
        )
    )


def corrected_examples(conn: Connection, limit: int) -> list[tuple[str, str]]:
    """(text, intent) of agents' corrections of closed conversations, newest `limit`, oldest
    first: a later correction of the same words wins."""
    rows = conn.execute(
        select(intent_labels.c.text, intent_labels.c.intent)
        .join(conversations, conversations.c.id == intent_labels.c.conversation_id)
        .where(
            intent_labels.c.source == "agent",
            conversations.c.state == ConversationState.CLOSED,
        )
        .order_by(intent_labels.c.id.desc())
        .limit(limit)
    )
    return [(row.text, row.intent) for row in reversed(rows.all())]
