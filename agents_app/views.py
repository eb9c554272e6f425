"""What the agents' side reads from the database, as plain data: cards, an agent's chats, the queue,
a conversation's context and trail. Read-only; every change goes through the routing core."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from handoff import store
from handoff.states import ConversationState, OfferState
from handoff.tables import Card, Csat, OutboxMessage

C = ConversationState
cards = Card.__table__
outbox = OutboxMessage.__table__
csats = Csat.__table__
WAITING = (C.QUEUED, C.OFFERED)


@dataclass(frozen=True)
class Person:
    """An agent as a card or a list shows them."""

    id: int
    name: str
    username: str | None

    @property
    def mention(self) -> str:
        return f"@{self.username}" if self.username else self.name


@dataclass(frozen=True)
class CardView:
    """Everything a card shows about one conversation."""

    conversation_id: int
    state: ConversationState
    customer_id: int
    customer_name: str
    language: str
    is_vip: bool
    intent: str | None
    team: str | None
    priority: int
    is_lead: bool
    first_message: str
    queued_at: datetime | None
    not_before: datetime | None
    open_to_anyone: bool
    attempts: int
    offered_to: Person | None
    offer_deadline: datetime | None
    holder: Person | None
    close_reason: str | None
    closed_at: datetime | None


def _person(row: Any, prefix: str) -> Person | None:
    found = row._mapping
    agent_id = found[f"{prefix}_id"]
    if agent_id is None:
        return None
    return Person(agent_id, found[f"{prefix}_name"], found[f"{prefix}_username"])


def card_views(conn: Connection, conversation_ids: Sequence[int]) -> list[CardView]:
    """The cards of these conversations, in the order asked."""
    if not conversation_ids:
        return []
    conv, customers, agents, offers = (
        store.conversations,
        store.customers,
        store.agents,
        store.offers,
    )
    offered = agents.alias("offered")
    holder = agents.alias("holder")
    pending = offers.alias("pending")
    query = (
        select(
            conv,
            customers.c.name.label("customer_name"),
            customers.c.language,
            customers.c.is_vip,
            pending.c.deadline.label("offer_deadline"),
            offered.c.id.label("offered_id"),
            offered.c.name.label("offered_name"),
            offered.c.username.label("offered_username"),
            holder.c.id.label("holder_id"),
            holder.c.name.label("holder_name"),
            holder.c.username.label("holder_username"),
        )
        .select_from(
            conv.join(customers, customers.c.id == conv.c.customer_id)
            .outerjoin(
                pending,
                and_(pending.c.conversation_id == conv.c.id, pending.c.state == OfferState.PENDING),
            )
            .outerjoin(offered, offered.c.id == pending.c.agent_id)
            .outerjoin(holder, holder.c.id == conv.c.agent_id)
        )
        .where(conv.c.id.in_(list(conversation_ids)))
    )
    views = {}
    for row in conn.execute(query):
        views[row.id] = CardView(
            conversation_id=row.id,
            state=C(row.state),
            customer_id=row.customer_id,
            customer_name=row.customer_name or str(row.customer_id),
            language=row.language,
            is_vip=row.is_vip,
            intent=row.intent,
            team=row.team,
            priority=row.priority,
            is_lead=row.is_lead,
            first_message=row.first_message,
            queued_at=row.queued_at,
            not_before=row.not_before,
            open_to_anyone=row.open_to_anyone,
            attempts=row.attempts,
            offered_to=_person(row, "offered"),
            offer_deadline=row.offer_deadline,
            holder=_person(row, "holder"),
            close_reason=row.close_reason,
            closed_at=row.closed_at,
        )
    return [views[i] for i in conversation_ids if i in views]


def card_of(conn: Connection, conversation_id: int) -> Any:
    return (conn.execute(select(cards).where(cards.c.conversation_id == conversation_id))).first()


def offers_to(conn: Connection, agent_id: int, limit: int) -> list[tuple[int, datetime]]:
    """The agent's newest `limit` pending offers, oldest of them first: conversation and
    deadline (older ones were in notices before)."""
    offers = store.offers
    rows = conn.execute(
        select(offers.c.conversation_id, offers.c.deadline)
        .where(offers.c.agent_id == agent_id, offers.c.state == OfferState.PENDING)
        .order_by(offers.c.id.desc())
        .limit(limit)
    )
    return [(row.conversation_id, row.deadline) for row in reversed(rows.all())]


def dirty_cards(conn: Connection, limit: int) -> list[Any]:
    """Cards to bring up to date, first conversations first: id, message, version."""
    return conn.execute(
        select(cards.c.conversation_id, cards.c.message_id, cards.c.version)
        .where(cards.c.dirty.is_(True))
        .order_by(cards.c.conversation_id)
        .limit(limit)
    ).all()


def any_dirty_card(conn: Connection) -> bool:
    return conn.scalar(select(cards.c.conversation_id).where(cards.c.dirty.is_(True))) is not None


def conversations_of_card(conn: Connection, chat_id: int, message_id: int) -> list[int]:
    """The conversations one card message in the group shows."""
    return list(
        conn.scalars(
            select(cards.c.conversation_id)
            .where(cards.c.chat_id == chat_id, cards.c.message_id == message_id)
            .order_by(cards.c.conversation_id)
        )
    )


def cards_opened_since_shown(conn: Connection, now: datetime) -> list[int]:
    """Clean cards shown while their chat was held for the team's opening, now passed."""
    conv = store.conversations
    return list(
        conn.scalars(
            select(cards.c.conversation_id)
            .join(conv, conv.c.id == cards.c.conversation_id)
            .where(
                cards.c.dirty.is_(False),
                conv.c.state == C.QUEUED,
                conv.c.not_before <= now,
                cards.c.shown_at < conv.c.not_before,
            )
        )
    )


def cards_in_flight(conn: Connection) -> dict[int, list[int]]:
    """Cards whose send was under way: outbox row → its conversations."""
    found: dict[int, list[int]] = {}
    rows = conn.execute(
        select(cards.c.conversation_id, cards.c.outbox_id).where(cards.c.outbox_id.is_not(None))
    )
    for row in rows:
        found.setdefault(row.outbox_id, []).append(row.conversation_id)
    return found


def agent_rows(conn: Connection) -> list[Any]:
    """Every agent still in the config, by name."""
    agents = store.agents
    rows = conn.execute(select(agents).where(agents.c.active.is_(True)).order_by(agents.c.name))
    return list(rows)


def holdings(conn: Connection, agent_id: int) -> tuple[int | None, list[CardView]]:
    """The agent's focused conversation and the chats they hold, oldest first."""
    agent_row = store.get_agent(conn, agent_id)
    focus = agent_row.focus_conversation_id if agent_row is not None else None
    return focus, open_chats(conn, agent_id)


def open_chats(conn: Connection, agent_id: int) -> list[CardView]:
    """The conversations an agent holds now, oldest first."""
    conv = store.conversations
    ids = conn.execute(
        select(conv.c.id)
        .where(conv.c.agent_id == agent_id, conv.c.state == C.ASSIGNED)
        .order_by(conv.c.assigned_at, conv.c.id)
    )
    return card_views(conn, [r.id for r in ids])


def waiting(conn: Connection, limit: int = 30, *, by_team: bool = True) -> list[CardView]:
    """Conversations waiting for an agent in queue order (priority with aging), within each
    team or, with `by_team=False`, across all teams, so a cut-off list shows who is served first."""
    conv = store.conversations
    order = (conv.c.team,) if by_team else ()
    ids = conn.execute(
        select(conv.c.id)
        .where(conv.c.state.in_(WAITING))
        .order_by(*order, conv.c.queue_key, conv.c.id)
        .limit(limit)
    )
    return card_views(conn, [r.id for r in ids])


def waiting_count(conn: Connection) -> int:
    conv = store.conversations
    return int(
        conn.scalar(select(func.count()).select_from(conv).where(conv.c.state.in_(WAITING))) or 0
    )


def buttons_of_message(conn: Connection, chat_id: int, message_id: int) -> set[str] | None:
    """The callback data of the buttons the bot sent on a message of this chat; None when no
    recorded send is that message (yet)."""
    payload = conn.scalar(
        select(outbox.c.payload).where(
            outbox.c.chat_id == chat_id, outbox.c.message_id == message_id
        )
    )
    if payload is None:
        return None
    rows = json.loads(payload).get("reply_markup", {}).get("inline_keyboard", [])
    return {button.get("callback_data", "") for row in rows for button in row}


def conversation_of_message(conn: Connection, chat_id: int, message_id: int) -> int | None:
    """The conversation a message in an agent's chat belongs to: one the bot sent there (a
    relayed customer message, a context message), or one the agent sent to a customer."""
    sent = conn.scalar(
        select(outbox.c.conversation_id).where(
            outbox.c.chat_id == chat_id,
            outbox.c.message_id == message_id,
            outbox.c.conversation_id.is_not(None),
        )
    )
    if sent is not None:
        return int(sent)
    messages = store.messages
    written = conn.scalar(
        select(messages.c.conversation_id).where(
            messages.c.agent_id == chat_id,
            messages.c.sender == "agent",
            messages.c.telegram_message_id == message_id,
        )
    )
    return int(written) if written is not None else None


@dataclass(frozen=True)
class Line:
    """One message of a transcript."""

    at: datetime
    sender: str  # customer | bot | agent | note
    kind: str
    text: str


def transcript(conn: Connection, conversation_id: int, limit: int = 20) -> list[Line]:
    """The conversation's messages, with what the customer and the bot said before the handoff
    (`store.lines_of_chat`), oldest first, the last `limit`."""
    messages = store.messages
    row = store.get_conversation(conn, conversation_id)
    if row is None:
        return []
    rows = conn.execute(
        select(messages)
        .where(store.lines_of_chat(conn, row))
        .order_by(messages.c.id.desc())
        .limit(limit)
    )
    return [Line(r.created_at, r.sender, r.kind, r.text) for r in reversed(rows.all())]


@dataclass(frozen=True)
class PastChat:
    conversation_id: int
    closed_at: datetime
    intent: str | None
    agent_name: str | None
    score: int | None


def past_chats(conn: Connection, customer_id: int, limit: int = 3) -> list[PastChat]:
    """The customer's last closed conversations, newest first, with who helped and the rating."""
    conv, agents = store.conversations, store.agents
    rows = conn.execute(
        select(conv.c.id, conv.c.closed_at, conv.c.intent, agents.c.name, csats.c.score)
        .select_from(
            conv.outerjoin(agents, agents.c.id == conv.c.agent_id).outerjoin(
                csats, csats.c.conversation_id == conv.c.id
            )
        )
        .where(conv.c.customer_id == customer_id, conv.c.state == C.CLOSED)
        .order_by(conv.c.closed_at.desc())
        .limit(limit)
    )
    return [PastChat(r.id, r.closed_at, r.intent, r.name, r.score) for r in rows]


def trail(conn: Connection, conversation_id: int) -> list[tuple[datetime, str, str]]:
    """The routing trail: (when, kind, reason), oldest first."""
    rows = conn.execute(
        select(store.trail.c.at, store.trail.c.kind, store.trail.c.reason)
        .where(store.trail.c.conversation_id == conversation_id)
        .order_by(store.trail.c.id)
    )
    return [(r.at, r.kind, r.reason) for r in rows]
