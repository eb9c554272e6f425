"""The database tables (SQLModel). The database is the source of truth for every conversation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from handoff.states import AgentStatus, ConversationState, OfferState


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) and PostgreSQL alike."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, the text SQLAlchemy's DATETIME stores, made in one call (it fills a format
        from a dict for every value, and this runs for every time a routing step writes)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            naive = self.process_bind_param(value, dialect)
            return None if naive is None else naive.isoformat(" ", "microseconds")

        return process


def _at(nullable: bool = True, index: bool = False) -> object:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


def _telegram_id(primary_key: bool = False, index: bool = False, nullable: bool = False) -> object:
    return Field(
        default=None,
        # Telegram assigns these ids: never let PostgreSQL make them a sequence (BIGSERIAL).
        sa_column=Column(
            BigInteger, primary_key=primary_key, index=index, nullable=nullable, autoincrement=False
        ),
    )


class Customer(SQLModel, table=True):
    id: int = _telegram_id(primary_key=True)  # the Telegram user id
    name: str = ""
    username: str | None = None
    language: str = "id"
    is_vip: bool = False
    lead_source: str | None = None
    blocked: bool = False
    usual_team: str | None = None
    unknown_streak: int = 0  # bot replies in a row that did not understand (two → handoff)
    csat_comment_for: int | None = None  # a closed conversation whose rating awaits a comment
    created_at: datetime = _at(nullable=False)


# The round-robin search reads the agents with a free slot in "idle longest" order from this
# index, not every agent (`handoff.store` asks for `(load + pending_offers < capacity) = true`).
HAS_FREE_SLOT = "((load + pending_offers) < capacity)"


class Agent(SQLModel, table=True):
    __table_args__ = (
        Index("ix_agent_free", text(HAS_FREE_SLOT), "last_routed_at", "id"),
        # Whether an agent is on duty, read without their row (a team's agents on duty are
        # counted for every queued customer's estimated wait).
        Index("ix_agent_on_duty", "id", "status", "on_shift", "active"),
    )
    id: int = _telegram_id(primary_key=True)  # the Telegram user id
    name: str
    username: str | None = None
    capacity: int = 3
    is_manager: bool = False
    active: bool = True  # false once removed from the config
    status: AgentStatus = Field(default=AgentStatus.OFFLINE, sa_type=String(16))
    on_shift: bool = False
    reachable: bool = True  # false when the bot cannot message them (never /start-ed, blocked)
    load: int = 0  # open conversations assigned now
    pending_offers: int = 0
    missed_offers: int = 0  # offers in a row that timed out
    # Last offer or assignment: "idle since" (searched through ix_agent_free).
    last_routed_at: datetime | None = _at()
    status_changed_at: datetime | None = _at()
    focus_conversation_id: int | None = None  # where their unaddressed messages go (SPEC §5)


class AgentTeam(SQLModel, table=True):
    __tablename__ = "agent_team"
    __table_args__ = (Index("ix_agent_team_team", "team", "agent_id"),)  # a team's agents
    agent_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    team: str = Field(primary_key=True, max_length=64)


class Conversation(SQLModel, table=True):
    __table_args__ = (
        Index("ix_conversation_queue", "state", "team", "queue_key"),
        Index("ix_conversation_customer", "customer_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = _telegram_id()
    state: ConversationState = Field(default=ConversationState.BOT, sa_type=String(16))
    version: int = 0
    team: str | None = Field(default=None, max_length=64)
    intent: str | None = None
    priority: int = 0
    is_lead: bool = True
    agent_id: int | None = _telegram_id(index=True, nullable=True)
    sticky_agent_id: int | None = _telegram_id(nullable=True)
    sticky_tried: bool = False
    open_to_anyone: bool = False
    attempts: int = 0
    transfers: int = 0
    queue_key: float | None = None
    not_before: datetime | None = _at()  # held for the team's opening (after hours)
    after_hours_policy: str | None = None
    first_message: str = ""
    created_at: datetime = _at(nullable=False)
    queued_at: datetime | None = _at()
    assigned_at: datetime | None = _at()
    first_response_at: datetime | None = _at()
    last_activity_at: datetime | None = _at()
    sla_alerted: bool = False
    position_told: int | None = None  # the queue position the customer was last told
    position_told_at: datetime | None = _at()
    closed_at: datetime | None = _at(index=True)
    close_reason: str | None = None


class Offer(SQLModel, table=True):
    __table_args__ = (
        Index("ix_offer_pending", "state", "deadline"),
        Index("ix_offer_conversation", "conversation_id", "agent_id"),
        Index("ix_offer_created", "created_at"),  # a report's offers
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    agent_id: int = _telegram_id()
    state: OfferState = Field(default=OfferState.PENDING, sa_type=String(16))
    sticky: bool = False
    created_at: datetime = _at(nullable=False)
    deadline: datetime = _at(nullable=False)
    resolved_at: datetime | None = _at()


class Message(SQLModel, table=True):
    """One message of a conversation, in either direction, for transcripts and history."""

    __table_args__ = (
        Index("ix_message_conversation", "conversation_id", "id"),
        Index("ix_message_customer", "customer_id", "created_at"),  # what came before a handoff
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    customer_id: int = _telegram_id()
    sender: str = Field(max_length=16)  # customer | bot | agent
    agent_id: int | None = _telegram_id(nullable=True)
    kind: str = Field(
        default="text", max_length=16
    )  # text | photo | document | voice | sticker | location
    text: str = ""
    telegram_message_id: int | None = None
    created_at: datetime = _at(nullable=False)
    # Set when an inbound update wrote it: the same update processed again adds no line.
    dedup_key: str | None = Field(default=None, max_length=64, unique=True, index=True)
    # An agent's line: the canned replies or FAQ answers it sent ("r:key f:intent"), and how
    # (canned: `!key` or the /replies list; suggested: a suggestion's button).
    reply_refs: str | None = None
    reply_how: str | None = Field(default=None, max_length=16)
    # A customer's line: the answers suggested to the agent for it, best first.
    suggestions: str | None = None


class TrailEvent(SQLModel, table=True):
    """One routing decision and its reason (`/why #id`)."""

    __tablename__ = "trail_event"
    __table_args__ = (Index("ix_trail_conversation", "conversation_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    at: datetime = _at(nullable=False)
    kind: str = Field(max_length=32)
    reason: str


class IntentLabel(SQLModel, table=True):
    """What a customer's words meant, said by a person: the customer's choice when the bot
    asked, or an agent's correction (`/intent #id NAME`). Corrections of closed chats teach the
    bot on its next start or reload."""

    __tablename__ = "intent_label"
    __table_args__ = (Index("ix_intent_label_conversation", "conversation_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = _telegram_id()
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    text: str
    intent: str = Field(max_length=64)
    source: str = Field(max_length=16)  # customer | agent
    agent_id: int | None = _telegram_id(nullable=True)
    created_at: datetime = _at(nullable=False)


class Snippet(SQLModel, table=True):
    """An agent's own canned reply (`/save key`): sent with `!key` by that agent only, as written."""

    __table_args__ = (UniqueConstraint("agent_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = _telegram_id()
    key: str = Field(max_length=32)
    text: str
    saved_at: datetime = _at(nullable=False)


class UploadedFile(SQLModel, table=True):
    """A file the bot uploaded to Telegram (a canned reply's photo or document), so it is sent
    again by its file_id: `key` names the file as it was (path, size, modification time)."""

    __tablename__ = "uploaded_file"
    key: str = Field(primary_key=True, max_length=1024)
    file_id: str = Field(max_length=256)
    uploaded_at: datetime = _at(nullable=False)


class Csat(SQLModel, table=True):
    conversation_id: int = Field(primary_key=True, foreign_key="conversation.id")
    score: int = Field(ge=1, le=5)
    comment: str | None = None
    at: datetime = _at(nullable=False)


class ShiftLog(SQLModel, table=True):
    """When an agent was on shift (for utilization, SPEC §4.4)."""

    __tablename__ = "shift_log"
    __table_args__ = (UniqueConstraint("agent_id", "start"),)
    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = _telegram_id(index=True)
    start: datetime = _at(nullable=False)
    end: datetime | None = _at()


class InboxUpdate(SQLModel, table=True):
    """A Telegram update as received, stored before anything acts on it (SPEC §8)."""

    __tablename__ = "inbox_update"
    __table_args__ = (
        Index("ix_inbox_unprocessed", "processed_at", "update_id"),
        Index("ix_inbox_chat", "chat_id", "processed_at", "update_id"),
    )
    update_id: int = _telegram_id(primary_key=True)
    payload: str  # the Update as Telegram sent it (JSON)
    chat_id: int | None = _telegram_id(nullable=True)  # whose order it keeps (`inbox.chat_of`)
    received_at: datetime = _at(nullable=False)
    processed_at: datetime | None = _at()


class OutboxMessage(SQLModel, table=True):
    """One Bot API call waiting to be made, or made (SPEC §8): stored before it is sent."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "priority", "id"),
        Index("ix_outbox_coalesce", "coalesce_key", "state"),
        Index("ix_outbox_sent_message", "chat_id", "message_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = _telegram_id()
    method: str = Field(max_length=32)
    payload: str  # the call's parameters (JSON)
    priority: int = 0  # lower goes first: customers, then agents, then card edits
    state: str = Field(default="pending", max_length=16)  # pending | sent | failed | superseded
    attempts: int = 0
    not_before: datetime | None = _at()
    dedup_key: str | None = Field(default=None, max_length=64, unique=True)
    coalesce_key: str | None = Field(default=None, max_length=64)
    created_at: datetime = _at(nullable=False)
    sent_at: datetime | None = _at()
    message_id: int | None = None  # what Telegram answered, for later edits
    error: str | None = None
    conversation_id: int | None = None  # the conversation the message belongs to (agent replies)


class Card(SQLModel, table=True):
    """A waiting conversation's card in the agents group (SPEC §5): what it shows is rendered
    from the conversation when sent, so only the latest state ever goes out."""

    conversation_id: int = Field(primary_key=True, foreign_key="conversation.id")
    chat_id: int = _telegram_id()
    message_id: int | None = None  # the card's message, or the digest showing it
    dirty: bool = Field(default=True, index=True)  # changed since it was last sent
    version: int = 0  # bumped by every change; a send clears `dirty` only if none came since
    outbox_id: int | None = None  # the send or edit in flight
    shown_at: datetime | None = _at()  # the routing clock when it was last rendered
    created_at: datetime = _at(nullable=False)
