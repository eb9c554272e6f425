"""Reads and compare-and-set writes of routing state (SQLAlchemy Core over the SQLModel tables).

Plain SQL that runs on SQLite and PostgreSQL alike; the queue and candidate look-ups are index
range scans with `LIMIT 1`, so they stay cheap with 100,000 conversations waiting.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from handoff.db import insert_ignoring_duplicates
from handoff.policies import AgentSnapshot, ConversationSnapshot
from handoff.prepared import Prepared
from handoff.replay import write_key
from handoff.states import OPEN_STATES, AgentStatus, ConversationState, OfferState
from handoff.tables import (
    Agent,
    AgentTeam,
    Card,
    Conversation,
    Customer,
    IntentLabel,
    Message,
    Offer,
    Snippet,
    TrailEvent,
    UtcDateTime,
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
snippets = Snippet.__table__
cards = Card.__table__

BEFORE_HANDOFF = timedelta(hours=24)  # how far back a first chat's transcript reaches
REFUSED_OFFERS = (OfferState.TIMED_OUT, OfferState.DECLINED)
# What a conversation's columns hold until something sets them (the table's defaults).
CONVERSATION_DEFAULTS = {
    c.name: c.default.arg for c in conversations.c if c.default is not None and c.default.is_scalar
}


@dataclass(frozen=True)
class SentMessage:
    """One message of a customer's chat: who sent it (customer | bot | agent), what kind, text."""

    sender: str
    kind: str = "text"
    text: str = ""
    agent_id: int | None = None
    telegram_message_id: int | None = None
    reply_refs: tuple[str, ...] = ()  # an agent's canned or suggested answers (handoff.canned)
    reply_how: str | None = None  # canned | suggested
    suggestions: tuple[str, ...] = ()  # a customer's line: the answers suggested for it


class Conflict(Exception):
    """A compare-and-set found the row changed underneath: someone else won."""


# What an agent's snapshot is made of (a query that makes snapshots reads only these).
SNAPSHOT_COLUMNS = (
    "id",
    "name",
    "capacity",
    "status",
    "on_shift",
    "active",
    "reachable",
    "load",
    "pending_offers",
    "last_routed_at",
)


def agent_snapshot(row: Any) -> AgentSnapshot:
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


# Statements of the hot path are built once (with bind parameters) and prepared
# (`handoff.prepared`): SQLAlchemy spends more time building, keying and binding a statement like
# `candidates` than SQLite spends running it.
_CONVERSATION = Prepared(select(conversations).where(conversations.c.id == bindparam("id")))
_AGENT = Prepared(select(agents).where(agents.c.id == bindparam("id")))
_CAS_CONVERSATION = Prepared(
    update(conversations).where(
        conversations.c.id == bindparam("cas_id"),
        conversations.c.version == bindparam("cas_version"),
    )
)
_INSERT_CONVERSATION = Prepared(insert(conversations))
_INSERT_OFFER = Prepared(insert(offers))
_INSERT_TRAIL = Prepared(insert(trail))
# A message in a conversation: its last activity, and an agent's first one its first response.
# RETURNING names the one writer that set the first response, even when two agents' messages
# race (PostgreSQL checks the WHERE again on the row the other one updated).
_NOW = bindparam("now", type_=UtcDateTime())
_ACTIVITY = Prepared(
    update(conversations)
    .where(conversations.c.id == bindparam("conversation"))
    .values(last_activity_at=_NOW)
)
_FIRST_RESPONSE = Prepared(
    update(conversations)
    .where(
        conversations.c.id == bindparam("conversation"),
        conversations.c.first_response_at.is_(None),
    )
    .values(first_response_at=_NOW)
    .returning(conversations.c.team, conversations.c.queued_at, conversations.c.not_before)
)
# Stands for "after every conversation" where a query needs an id and the conversation has none
# yet (the largest INTEGER, so PostgreSQL's int4 takes it).
LAST_ID = 2**31 - 1


def _fixed(state: StrEnum) -> Any:
    """A state written into a prebuilt statement rather than bound to it: SQLAlchemy processes
    every bound parameter again on each execution, constants included."""
    return literal_column(f"'{state}'")


def get_conversation(conn: Connection, conversation_id: int) -> Row[Any] | None:
    return _CONVERSATION.first(conn, {"id": conversation_id})


def get_customer(conn: Connection, customer_id: int) -> Row[Any] | None:
    return (conn.execute(select(customers).where(customers.c.id == customer_id))).first()


def get_agent(conn: Connection, agent_id: int) -> Row[Any] | None:
    return _AGENT.first(conn, {"id": agent_id})


def pending_offer(conn: Connection, conversation_id: int) -> Row[Any] | None:
    return (
        conn.execute(
            select(offers).where(
                offers.c.conversation_id == conversation_id,
                offers.c.state == OfferState.PENDING,
            )
        )
    ).first()


def update_conversation(conn: Connection, row: Any, **values: Any) -> None:
    """Compare-and-set on `version`: raises Conflict if anyone changed the row since it was read."""
    matched = _CAS_CONVERSATION.run(
        conn, {**values, "version": row.version + 1, "cas_id": row.id, "cas_version": row.version}
    )
    if matched != 1:
        raise Conflict(f"conversation {row.id} changed (version {row.version})")


def tell_position(conn: Connection, conversation_id: int, position: int, now: datetime) -> None:
    """Note the place in line the customer was told (no version change: routing ignores it)."""
    conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id)
        .values(position_told=position, position_told_at=now)
    )


def set_usual_team(conn: Connection, customer_id: int, team: str) -> None:
    conn.execute(update(customers).where(customers.c.id == customer_id).values(usual_team=team))


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
        agents.c.status == _fixed(AgentStatus.AVAILABLE),
        _has_free_slot() == true(),  # as ix_agent_free has it
    ]


def _has_free_slot() -> Any:
    return agents.c.load + agents.c.pending_offers < agents.c.capacity


_RESERVE = Prepared(
    update(agents)
    .where(agents.c.id == bindparam("agent_id"), _has_free_slot())
    .values(pending_offers=agents.c.pending_offers + 1, last_routed_at=bindparam("routed_at"))
)


def reserve_slot(conn: Connection, agent_id: int, routed_at: datetime) -> bool:
    """Hold a free slot of the agent for an offer; False if they have none left."""
    return _RESERVE.run(conn, {"agent_id": agent_id, "routed_at": routed_at}) == 1


@dataclass(frozen=True)
class QueueRules:
    """Which queues an agent serves at a moment: their own teams' always; once a team's chat has
    waited past `overflow_cutoff`, the teams they back up too (`backs_up`: their team, the team it
    backs up), if one of their own teams is open."""

    now: datetime
    overflow_cutoff: datetime
    open_teams: frozenset[str]
    backs_up: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Candidates:
    """Who could take a conversation: its sticky agent (if asked for), the eligible agent idle
    longest, and whether that agent serves a conversation waiting before this one."""

    sticky: AgentSnapshot | None
    candidate: AgentSnapshot | None
    candidate_has_earlier: bool


def _ready(table: Any, now: datetime) -> Any:
    return or_(table.c.not_before.is_(None), table.c.not_before <= now)


def _any_of(column: Any, values: Sequence[Any]) -> Any:
    """`column IN values` as equalities: a fixed statement (SQLAlchemy re-renders an IN list's
    statement on every execution); states are written into it."""
    fixed = [_fixed(value) if isinstance(value, StrEnum) else value for value in values]
    return or_(*[column == value for value in fixed]) if values else false()


def _refused_by(conversation_id: Any, agent_id: Any) -> Any:
    return (
        exists()
        .where(
            offers.c.conversation_id == conversation_id,
            offers.c.agent_id == agent_id,
            _any_of(offers.c.state, REFUSED_OFFERS),
        )
        .correlate_except(offers)
    )


def _before_in_queue(table: Any, key: Any, conversation_id: Any) -> list[Any]:
    """SQL: rows of `table` before (`key`, `conversation_id`) in queue order. The first term is
    implied by the second; it lets the database read the queue's index up to `key` only."""
    return [
        table.c.queue_key <= key,
        or_(table.c.queue_key < key, and_(table.c.queue_key == key, table.c.id < conversation_id)),
    ]


def _not_passed(column: Any, passed: bool) -> list[Any]:
    """Leave out the conversations `:passed` (only when there are some: an empty list costs an
    IN list all the same)."""
    return [column.not_in(bindparam("passed", expanding=True))] if passed else []


def _waits_before(
    agent_id: Any, backs_up: tuple[tuple[str, str], ...], open_teams: tuple[str, ...], passed: bool
) -> Any:
    """SQL: a conversation this agent serves waits before (`:key`, `:cid`), as of `:now`, leaving
    out `:passed`; teams backed up once a chat waits from before `:cutoff`, if one of the agent's
    own teams is among `open_teams`. The twin of `head_for_agent` for an agent not known in
    advance (the candidate)."""
    x = conversations.alias("earlier")
    waiting = [
        x.c.state == _fixed(ConversationState.QUEUED),
        *_before_in_queue(x, bindparam("key"), bindparam("cid")),
        _ready(x, bindparam("now")),
        ~_refused_by(x.c.id, agent_id),
        *_not_passed(x.c.id, passed),
    ]

    def in_team(team: Any) -> Any:
        return (
            exists()
            .where(agent_teams.c.agent_id == agent_id, agent_teams.c.team == team)
            .correlate_except(agent_teams)
        )

    own_teams = (
        select(agent_teams.c.team)
        .where(agent_teams.c.agent_id == agent_id)
        .correlate_except(agent_teams)
    )
    serves = exists().where(x.c.team.in_(own_teams), *waiting).correlate_except(x)
    if not backs_up or not open_teams:
        return serves
    one_open = (
        exists()
        .where(
            agent_teams.c.agent_id == agent_id,
            _any_of(agent_teams.c.team, open_teams),
        )
        .correlate_except(agent_teams)
    )
    backing = (
        exists()
        .where(
            _any_of(x.c.team, sorted({backed for _, backed in backs_up})),
            or_(*[and_(x.c.team == backed, in_team(helper)) for helper, backed in backs_up]),
            ~in_team(x.c.team),
            x.c.queued_at <= bindparam("cutoff"),
            _ready(x, bindparam("cutoff")),
            *waiting,
        )
        .correlate_except(x)
    )
    return or_(serves, and_(one_open, backing))


@functools.lru_cache(maxsize=256)
def _candidates_query(
    teams: tuple[str, ...],
    backs_up: tuple[tuple[str, str], ...],
    open_teams: tuple[str, ...],
    passed: bool,
) -> Prepared:
    member = exists().where(
        agent_teams.c.agent_id == agents.c.id, _any_of(agent_teams.c.team, teams)
    )
    chosen = (
        select(*[agents.c[name] for name in SNAPSHOT_COLUMNS])
        .where(
            *_eligible_agent_conditions(),
            member,
            agents.c.id != bindparam("exclude"),
            ~_refused_by(bindparam("cid"), agents.c.id),
        )
        .order_by(agents.c.last_routed_at.asc().nulls_first(), agents.c.id)
        .limit(1)
        .subquery("chosen")
    )
    earlier = _waits_before(chosen.c.id, backs_up, open_teams, passed)
    candidate = select(*chosen.c, earlier.label("has_earlier"), false().label("sticky"))
    sticky = select(*[agents.c[name] for name in SNAPSHOT_COLUMNS], false(), true()).where(
        agents.c.id == bindparam("sticky_id")
    )
    return Prepared(union_all(candidate, sticky))


def candidates(
    conn: Connection,
    *,
    teams: Sequence[str],
    conversation_id: int | None,
    queue_key: float,
    exclude: int | None,
    sticky_id: int | None,
    rules: QueueRules,
    passed: frozenset[int] = frozenset(),
) -> Candidates:
    """The sticky agent, the longest-idle eligible agent of `teams` (skipping agents who let this
    conversation go, and `exclude`) and whether they serve an earlier conversation: one query.
    A conversation not written yet (`conversation_id` None) comes after every other of its key."""
    found = {
        bool(row.sticky): row
        for row in _candidates_query(
            tuple(teams), rules.backs_up, tuple(sorted(rules.open_teams)), bool(passed)
        ).rows(
            conn,
            {
                "exclude": exclude or 0,
                "cid": LAST_ID if conversation_id is None else conversation_id,
                "key": queue_key,
                "now": rules.now,
                "cutoff": rules.overflow_cutoff,
                "passed": sorted(passed),
                "sticky_id": -1 if sticky_id is None else sticky_id,
            },
        )
    }
    candidate = found.get(False)
    return Candidates(
        sticky=agent_snapshot(found[True]) if True in found else None,
        candidate=agent_snapshot(candidate) if candidate is not None else None,
        candidate_has_earlier=bool(candidate is not None and candidate.has_earlier),
    )


def _prefixed(table: Any, prefix: str) -> list[Any]:
    return [c.label(f"{prefix}{c.name}") for c in table.c]


@functools.lru_cache(maxsize=64)
def _prefixed_fields(fields: tuple[str, ...], prefix: str) -> tuple[tuple[int, str], ...]:
    """Where a row's columns named `prefix…` are, and their names without it."""
    return tuple(
        (i, name[len(prefix) :]) for i, name in enumerate(fields) if name.startswith(prefix)
    )


def _unprefixed(row: Row[Any], prefix: str) -> SimpleNamespace | None:
    found = {name: row[i] for i, name in _prefixed_fields(row._fields, prefix)}
    return None if found.get("id") is None else SimpleNamespace(**found)


@functools.lru_cache(maxsize=256)
def _head_query(own: tuple[str, ...], backed_up: tuple[str, ...], passed: bool) -> Prepared:
    columns = _prefixed(agents, "a_")
    heads = []
    for team, overflow in [(t, False) for t in own] + [(t, True) for t in backed_up]:
        conditions = [
            conversations.c.state == _fixed(ConversationState.QUEUED),
            conversations.c.team == team,
            _ready(conversations, bindparam("now")),
            ~_refused_by(conversations.c.id, bindparam("agent_id")),
            *_not_passed(conversations.c.id, passed),
        ]
        if overflow:  # a chat held for the opening waits from the opening
            conditions += [
                conversations.c.queued_at <= bindparam("cutoff"),
                _ready(conversations, bindparam("cutoff")),
            ]
        one = select(conversations).where(*conditions).order_by(conversations.c.queue_key).limit(1)
        heads.append(select(one.subquery()))
    if not heads:
        return Prepared(select(*columns).where(agents.c.id == bindparam("agent_id")))
    every = (heads[0] if len(heads) == 1 else union_all(*heads)).subquery("heads")
    head = select(every).order_by(every.c.queue_key, every.c.id).limit(1).subquery("head")
    return Prepared(
        select(*columns, *_prefixed(head, "c_"))
        .select_from(agents.outerjoin(head, true()))
        .where(agents.c.id == bindparam("agent_id"))
    )


def head_for_agent(
    conn: Connection,
    agent_id: int,
    *,
    own: Sequence[str],
    backed_up: Sequence[str],
    rules: QueueRules,
    passed: frozenset[int] = frozenset(),
) -> tuple[SimpleNamespace | None, SimpleNamespace | None]:
    """The agent and the first conversation (priority with aging) of the queues they serve now:
    `own` teams', and `backed_up` teams' once a conversation waits past the cut-off; one query."""
    row = _head_query(tuple(own), tuple(backed_up), bool(passed)).first(
        conn,
        {
            "agent_id": agent_id,
            "now": rules.now,
            "cutoff": rules.overflow_cutoff,
            "passed": sorted(passed),
        },
    )
    if row is None:
        return None, None
    return _unprefixed(row, "a_"), _unprefixed(row, "c_")


def _newest_open(customer_id: Any) -> Any:
    """SQL: the id of the customer's newest open conversation (a customer has one at most)."""
    return (
        select(conversations.c.id)
        .where(
            conversations.c.customer_id == customer_id,
            _any_of(conversations.c.state, sorted(OPEN_STATES)),
        )
        .order_by(conversations.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def newest_conversation(customer_id: Any) -> Any:
    """SQL: the id of the customer's newest conversation, open or closed (NULL: none yet)."""
    return (
        select(func.max(conversations.c.id))
        .where(conversations.c.customer_id == customer_id)
        .scalar_subquery()
    )


def _customer_status_query() -> Any:
    opened = conversations.alias("open_conversation")
    return (
        select(
            *_prefixed(customers, "u_"),
            newest_conversation(customers.c.id).label("u_newest_conversation"),
            *_prefixed(opened, "c_"),
        )
        .select_from(customers.outerjoin(opened, opened.c.id == _newest_open(customers.c.id)))
        .where(customers.c.id == bindparam("customer_id"))
    )


_CUSTOMER_STATUS = Prepared(_customer_status_query())


def customer_status(
    conn: Connection, customer_id: int
) -> tuple[SimpleNamespace | None, SimpleNamespace | None]:
    """The customer (None before first contact; with `newest_conversation`, the id of their
    newest chat with a person) and their open conversation, in one query."""
    row = _CUSTOMER_STATUS.first(conn, {"customer_id": customer_id})
    if row is None:
        return None, None
    return _unprefixed(row, "u_"), _unprefixed(row, "c_")


@dataclass(frozen=True)
class ArrivalFacts:
    """What routing a customer's handoff needs to know of them, read in one query."""

    customer: SimpleNamespace | None  # id, is_vip, usual_team; None before first contact
    open_conversation: SimpleNamespace | None  # id and state
    last_closed_id: int | None  # their last closed conversation (None: this is their first chat)
    last_agent_id: int | None  # who held it
    last_closed_at: datetime | None


def _arrival_query() -> Any:
    me = select(bindparam("customer_id", type_=BigInteger).label("id")).subquery("me")
    opened = conversations.alias("open_conversation")
    last = conversations.alias("last_closed")
    last_closed_id = (
        select(conversations.c.id)
        .where(
            conversations.c.customer_id == me.c.id,
            conversations.c.state == _fixed(ConversationState.CLOSED),
        )
        .order_by(conversations.c.closed_at.desc(), conversations.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return select(
        customers.c.id.label("u_id"),
        customers.c.is_vip.label("u_is_vip"),
        customers.c.usual_team.label("u_usual_team"),
        opened.c.id.label("c_id"),
        opened.c.state.label("c_state"),
        last.c.id.label("last_closed_id"),
        last.c.agent_id.label("last_agent_id"),
        last.c.closed_at.label("last_closed_at"),
    ).select_from(
        me.outerjoin(customers, customers.c.id == me.c.id)
        .outerjoin(opened, opened.c.id == _newest_open(me.c.id))
        .outerjoin(last, last.c.id == last_closed_id)
    )


_ARRIVAL = Prepared(_arrival_query())


def arrival_facts(conn: Connection, customer_id: int) -> ArrivalFacts:
    """The customer, their open conversation and their last closed one: one query."""
    (row,) = _ARRIVAL.rows(conn, {"customer_id": customer_id})
    return ArrivalFacts(
        customer=_unprefixed(row, "u_"),
        open_conversation=_unprefixed(row, "c_"),
        last_closed_id=row.last_closed_id,
        last_agent_id=row.last_agent_id,
        last_closed_at=row.last_closed_at,
    )


def _seconds_between(start: Any, end: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


@dataclass(frozen=True)
class QueueStats:
    position: int  # 1-based place in the team's queue
    on_duty: int  # the team's agents available now
    handle_seconds: float | None  # mean claimed → closed time of its recent conversations
    at_least: bool = False  # more wait ahead than are counted: `position` is a lower bound


# Conversations ahead counted at most: counting is linear in the queue's length, and past this
# many a customer is told "100+" (the wait from it is a lower bound too).
COUNTED_AHEAD = 99


@functools.lru_cache(maxsize=4)
def _queue_stats_query(dialect: str) -> Prepared:
    waiting_ahead = (
        select(conversations.c.id)
        .where(
            _any_of(conversations.c.state, (ConversationState.QUEUED, ConversationState.OFFERED)),
            conversations.c.team == bindparam("team"),
            *_before_in_queue(conversations, bindparam("key"), bindparam("cid")),
        )
        .limit(bindparam("counted"))
        .subquery()
    )
    ahead = select(func.count()).select_from(waiting_ahead)
    on_duty = (
        select(func.count())
        .select_from(agent_teams.join(agents, agents.c.id == agent_teams.c.agent_id))
        .where(
            agent_teams.c.team == bindparam("team"),
            agents.c.active.is_(True),
            agents.c.on_shift.is_(True),
            agents.c.status == _fixed(AgentStatus.AVAILABLE),
        )
    )
    spans = (
        select(
            _seconds_between(conversations.c.assigned_at, conversations.c.closed_at, dialect).label(
                "seconds"
            )
        )
        .where(
            conversations.c.team == bindparam("team"),
            conversations.c.closed_at >= bindparam("since"),
            conversations.c.assigned_at.is_not(None),
        )
        .order_by(conversations.c.closed_at.desc())
        .limit(50)
        .subquery()
    )
    handle = select(func.avg(spans.c.seconds))
    return Prepared(
        select(ahead.scalar_subquery(), on_duty.scalar_subquery(), handle.scalar_subquery())
    )


def queue_stats(
    conn: Connection,
    *,
    team: str,
    queue_key: float,
    conversation_id: int | None,
    since: datetime,
) -> QueueStats:
    """A waiting conversation's place in line and what its wait is estimated from, in one query
    (a conversation not written yet counts after every other of its key)."""
    (row,) = _queue_stats_query(conn.dialect.name).rows(
        conn,
        {
            "team": team,
            "key": queue_key,
            "cid": LAST_ID if conversation_id is None else conversation_id,
            "since": since,
            "counted": COUNTED_AHEAD,
        },
    )
    ahead = int(row[0] or 0)
    return QueueStats(ahead + 1, int(row[1] or 0), row[2], at_least=ahead >= COUNTED_AHEAD)


def free_agent_ids(conn: Connection) -> list[int]:
    """Agents who could take an offer now, longest idle first."""
    rows = conn.execute(
        select(agents.c.id)
        .where(*_eligible_agent_conditions())
        .order_by(agents.c.last_routed_at.asc().nulls_first(), agents.c.id)
    )
    return [r.id for r in rows]


def add_trails(conn: Connection, at: datetime, notes: Sequence[tuple[int, str, str]]) -> None:
    """Trail entries (conversation, kind, reason), in their order, in one statement."""
    if notes:
        _INSERT_TRAIL.run_many(
            conn,
            [dict(conversation_id=c, at=at, kind=kind, reason=reason) for c, kind, reason in notes],
        )


def insert_conversation(conn: Connection, values: dict[str, Any]) -> int:
    return _INSERT_CONVERSATION.new_id(conn, values)


def add_offer(
    conn: Connection,
    *,
    conversation_id: int,
    agent_id: int,
    now: datetime,
    deadline: datetime,
    sticky: bool,
) -> int:
    values = dict(
        conversation_id=conversation_id,
        agent_id=agent_id,
        state=OfferState.PENDING,
        sticky=sticky,
        created_at=now,
        deadline=deadline,
    )
    return _INSERT_OFFER.new_id(conn, values)


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


def offer_deadlines(conn: Connection) -> list[tuple[int, datetime]]:
    """Each pending offer's id and deadline (the timers re-armed after a restart)."""
    rows = conn.execute(
        select(offers.c.id, offers.c.deadline).where(offers.c.state == OfferState.PENDING)
    )
    return [(row.id, row.deadline) for row in rows]


def held_until(conn: Connection) -> list[datetime]:
    """The moments chats held for their team's opening are held until, each once."""
    c = conversations.c
    rows = conn.execute(
        select(c.not_before)
        .where(c.state == ConversationState.QUEUED, c.not_before.is_not(None))
        .distinct()
    )
    return [row.not_before for row in rows]


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


def transcript_keys(customer_id: int, entries: Sequence[SentMessage]) -> list[str | None]:
    """The dedup keys of transcript lines written for the update being processed (None outside
    one); to take in the update's own task, before the write goes to another."""
    return [
        write_key(
            f"message\n{customer_id}\n{e.sender}\n{e.kind}\n{e.text}\n{e.telegram_message_id}"
        )
        for e in entries
    ]


@functools.cache
def _insert_message(dialect: str) -> Insert:
    return insert_ignoring_duplicates(dialect, messages)  # a replayed line is stored already


def insert_messages(
    conn: Connection,
    now: datetime,
    customer_id: int,
    conversation_id: int | None,
    entries: Sequence[SentMessage],
    keys: Sequence[str | None] | None = None,
) -> Row[Any] | None:
    """Store messages of a customer's chat; an agent's first one is the first response. `keys`
    (see `transcript_keys`) make the lines of a replayed update go in once. The conversation's
    team, queued_at and not_before when these messages are its first response, else None."""
    keys = keys or [None] * len(entries)
    conn.execute(
        _insert_message(conn.dialect.name),
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
                dedup_key=key,
                reply_refs=" ".join(entry.reply_refs) or None,
                reply_how=entry.reply_how,
                suggestions=" ".join(entry.suggestions) or None,
            )
            for entry, key in zip(entries, keys, strict=True)
        ],
    )
    if conversation_id is None:
        return None
    values = {"conversation": conversation_id, "now": now}
    _ACTIVITY.run(conn, values)
    if not any(entry.sender == "agent" for entry in entries):
        return None
    return _FIRST_RESPONSE.first(conn, values)


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


def lines_of_chat(conn: Connection, row: Row[Any]) -> ColumnElement[bool]:
    """Which transcript lines belong to the conversation `row`: its own, and what the customer and
    the bot said before the handoff (stored without a conversation: since the customer's previous
    chat closed, at most `BEFORE_HANDOFF` earlier)."""
    earlier = conn.scalar(
        select(func.max(conversations.c.closed_at)).where(
            conversations.c.customer_id == row.customer_id, conversations.c.id < row.id
        )
    )
    before_handoff = and_(
        messages.c.conversation_id.is_(None),
        messages.c.customer_id == row.customer_id,
        messages.c.created_at >= (earlier or row.created_at - BEFORE_HANDOFF),
        messages.c.created_at <= (row.queued_at or row.created_at),
    )
    return or_(messages.c.conversation_id == row.id, before_handoff)


def chat_answers(conn: Connection, row: Row[Any]) -> tuple[set[str], list[str]]:
    """Of the conversation `row` (`lines_of_chat`: before the handoff too), in one query: the
    canned replies and FAQ answers given (`handoff.canned` refs), by its agents or by the bot,
    and the answers suggested for the last customer message that had some."""
    lines = conn.execute(
        select(messages.c.reply_refs, messages.c.suggestions)
        .where(
            lines_of_chat(conn, row),
            or_(messages.c.reply_refs.is_not(None), messages.c.suggestions.is_not(None)),
        )
        .order_by(messages.c.id)
    ).all()
    given = {ref for line in lines if line.reply_refs for ref in line.reply_refs.split()}
    suggested = next((line.suggestions for line in reversed(lines) if line.suggestions), "")
    return given, suggested.split()


def sent_refs(conn: Connection, conversation_id: int) -> set[str]:
    """The answers given in a conversation (see `chat_answers`)."""
    row = get_conversation(conn, conversation_id)
    return chat_answers(conn, row)[0] if row is not None else set()


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
            conversations.c.state == _fixed(ConversationState.CLOSED),
        )
        .order_by(intent_labels.c.id.desc())
        .limit(limit)
    )
    return [(row.text, row.intent) for row in reversed(rows.all())]


# ---- agents' own snippets ----------------------------------------------------------------------


def snippets_of(conn: Connection, agent_id: int) -> dict[str, str]:
    """An agent's snippets, key → text, by key."""
    rows = conn.execute(
        select(snippets.c.key, snippets.c.text)
        .where(snippets.c.agent_id == agent_id)
        .order_by(snippets.c.key)
    )
    return {row.key: row.text for row in rows}


def save_snippet(conn: Connection, now: datetime, agent_id: int, key: str, text: str) -> bool:
    """Keep `text` as the agent's snippet `key`; True when it replaced one of that key."""
    mine = and_(snippets.c.agent_id == agent_id, snippets.c.key == key)
    replaced = conn.execute(update(snippets).where(mine).values(text=text, saved_at=now)).rowcount
    if not replaced:
        conn.execute(insert(snippets).values(agent_id=agent_id, key=key, text=text, saved_at=now))
    return bool(replaced)


def forget_snippet(conn: Connection, agent_id: int, key: str) -> bool:
    """Remove the agent's snippet `key`; False when they had none of that key."""
    mine = and_(snippets.c.agent_id == agent_id, snippets.c.key == key)
    return bool(conn.execute(snippets.delete().where(mine)).rowcount)


# ---- the agents' group cards (agents_app.card_sync) ---------------------------------------------


def mark_cards(conn: Connection, changed: dict[int, bool], chat_id: int, now: datetime) -> None:
    """Mark the cards of these conversations changed; a conversation marked True (it is to be
    shown) gets a card in `chat_id` if it has none yet."""
    for conversation_id, creates in changed.items():
        marked = conn.execute(
            update(cards)
            .where(cards.c.conversation_id == conversation_id)
            .values(dirty=True, version=cards.c.version + 1)
        )
        if marked.rowcount == 0 and creates:
            conn.execute(
                insert(cards).values(
                    conversation_id=conversation_id,
                    chat_id=chat_id,
                    dirty=True,
                    version=0,
                    created_at=now,
                )
            )


def mark_cards_opened(conn: Connection, conversation_ids: Sequence[int]) -> None:
    """These cards showed a chat held for its team's opening, and the team has opened."""
    if conversation_ids:
        conn.execute(
            update(cards)
            .where(cards.c.conversation_id.in_(list(conversation_ids)))
            .values(dirty=True, version=cards.c.version + 1)
        )


def set_cards(conn: Connection, conversation_ids: Sequence[int], **values: Any) -> None:
    conn.execute(
        update(cards).where(cards.c.conversation_id.in_(list(conversation_ids))).values(**values)
    )


def cards_shown(
    conn: Connection,
    versions: dict[int, int],
    conversation_ids: Sequence[int],
    message_id: int | None,
    rendered_at: datetime | None,
) -> None:
    """Sent (or nothing to send): the cards are clean, unless their conversation changed again
    since `versions` were read; the message that shows them, and when it was rendered, kept."""
    for conversation_id in conversation_ids:
        values: dict[str, object] = {"outbox_id": None}
        if rendered_at is not None:
            values["shown_at"] = rendered_at
        if message_id is not None:
            values["message_id"] = message_id
        conn.execute(update(cards).where(cards.c.conversation_id == conversation_id).values(values))
        if conversation_id in versions:
            conn.execute(
                update(cards)
                .where(
                    cards.c.conversation_id == conversation_id,
                    cards.c.version == versions[conversation_id],
                )
                .values(dirty=False)
            )


def card_message_recovered(
    conn: Connection, conversation_ids: Sequence[int], message_id: int | None
) -> None:
    """A send in flight when the process stopped has come to `message_id` (kept by the cards
    that had none)."""
    ids = list(conversation_ids)
    conn.execute(
        update(cards)
        .where(cards.c.conversation_id.in_(ids), cards.c.message_id.is_(None))
        .values(message_id=message_id)
    )
    set_cards(conn, ids, outbox_id=None)
