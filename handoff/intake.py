"""The customer's side of routing: first contact, the handoff request, cancel, block, messages.
Plain functions over a unit of work; `handoff.router.Router` runs them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row

from handoff import moves, store, transitions
from handoff.events import FirstResponse, HeldAfterHours, RoutedAfterHours
from handoff.kpis.measures import seconds_waited
from handoff.moves import C
from handoff.policies import TeamHours, classify, queue_key, team_hours
from handoff.results import ActionResult, Outcome
from handoff.states import OPEN_STATES
from handoff.store import SentMessage
from handoff.tables import Csat, Customer
from handoff.unit_of_work import Unit

CSAT_COMMENT_WINDOW = 30 * 60.0  # seconds after a rating in which a reply is its comment
CUSTOMER_NOTES = {"language", "unknown_streak", "csat_comment_for"}
customers, csats = Customer.__table__, Csat.__table__


def ensure_customer(
    u: Unit,
    customer_id: int,
    *,
    name: str = "",
    username: str | None = None,
    language: str | None = None,
    lead_source: str | None = None,
    vip: bool = False,
) -> Row[Any]:
    """Create the customer on first contact; refresh name and language later. VIP: in the
    config's list, or `vip` (what the CRM says)."""
    row = u.conn.execute(select(customers).where(customers.c.id == customer_id)).first()
    vip_now = vip or customer_id in u.config.routing.vip.customers
    if row is None:
        u.conn.execute(
            insert(customers).values(
                id=customer_id,
                name=name,
                username=username,
                language=language or u.config.bot.default_language,
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
        u.conn.execute(update(customers).where(customers.c.id == customer_id).values(**changes))
    return u.conn.execute(select(customers).where(customers.c.id == customer_id)).one()


def update_customer(u: Unit, customer_id: int, **values: Any) -> None:
    """Set the bot's notes on a customer (language, unknown streak, awaited CSAT comment)."""
    if not values.keys() <= CUSTOMER_NOTES:
        raise ValueError(f"not a customer note: {sorted(values.keys() - CUSTOMER_NOTES)}")
    u.conn.execute(update(customers).where(customers.c.id == customer_id).values(**values))


def record_intent_choice(u: Unit, customer_id: int, intent: str) -> None:
    """The customer chose what their last message meant when the bot asked."""
    text = store.last_customer_text(u.conn, customer_id)
    if text is not None:
        store.add_intent_label(
            u.conn, u.now, customer_id=customer_id, text=text, intent=intent, source="customer"
        )


def refresh_queue_positions(u: Unit, every: float) -> None:
    """Tell waiting customers their new place in line: when it changed, at most once `every`
    seconds (SPEC §3.5). Emits `Queued(first=False)` for each one to tell."""
    table = store.conversations
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
        stats = moves.queue_stats(u, row)
        if stats.position != row.position_told:
            u.events.append(moves.queued_event(u, row, stats)[1])


def request_handoff(
    u: Unit,
    customer_id: int,
    *,
    intent: str | None,
    text: str = "",
    account_owner_id: int | None = None,
) -> int:
    """The customer needs a person: classify, check the hours, find the sticky agent, route.
    Returns the conversation's id."""
    facts = store.arrival_facts(u.conn, customer_id)
    opened = facts.open_conversation
    if opened is not None and opened.state != C.BOT:
        return int(opened.id)  # already waiting or with an agent: nothing to redo
    if opened is None:
        row = transitions.draft(customer_id, u.now, first_message=text[:500])
    else:  # talking to the bot still (a chat held after hours, say): the whole row
        row = store.get_conversation(u.conn, opened.id)
    return int(
        _enqueue(u, row, facts, intent=intent, text=text, account_owner_id=account_owner_id).id
    )


def _enqueue(
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
    routing = u.config.routing
    verdict = classify(
        u.config,
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
    hours = team_hours(u.config, verdict.team, u.now)
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
    return moves.route(u, row, announce=True)


def cancel(u: Unit, customer_id: int) -> Outcome:
    """`/cancel`: the customer leaves the queue (or ends the chat with their agent)."""
    table = store.conversations
    row = u.conn.execute(
        select(table).where(
            table.c.customer_id == customer_id,
            table.c.state.in_((C.QUEUED, C.OFFERED, C.ASSIGNED)),
        )
    ).first()
    if row is None:
        return Outcome(ActionResult.NOT_FOUND)
    moves.close(u, row, reason="customer_cancel")
    return Outcome(ActionResult.DONE, conversation_id=row.id)


def customer_blocked(u: Unit, customer_id: int) -> None:
    """The customer blocked the bot (403): end their open conversation; the agent is told."""
    u.conn.execute(update(customers).where(customers.c.id == customer_id).values(blocked=True))
    table = store.conversations
    for row in u.conn.execute(
        select(table).where(
            table.c.customer_id == customer_id, table.c.state.in_(tuple(OPEN_STATES))
        )
    ):
        moves.close(u, row, reason="blocked")


def record_messages(
    u: Unit,
    customer_id: int,
    conversation_id: int | None,
    entries: Sequence[SentMessage],
    keys: Sequence[str | None],
) -> None:
    """Store messages of the customer's chat, for transcripts and history (`keys`: each one's
    replay key, `store.transcript_keys`). Those exchanged with the bot before any handoff have
    no conversation; an agent's first message sets the conversation's first response time."""
    answered = store.insert_messages(u.conn, u.now, customer_id, conversation_id, entries, keys)
    if answered is not None and answered.queued_at is not None:
        waited = seconds_waited(answered.queued_at, answered.not_before, u.now)
        u.events.append(FirstResponse(conversation_id, answered.team, waited))


def record_csat_comment(
    u: Unit, conversation_id: int, customer_id: int, comment: str
) -> ActionResult:
    """The optional comment after a rating, if it comes within CSAT_COMMENT_WINDOW."""
    row = store.get_conversation(u.conn, conversation_id)
    if row is None or row.customer_id != customer_id:
        return ActionResult.NOT_FOUND
    u.conn.execute(
        update(customers).where(customers.c.id == customer_id).values(csat_comment_for=None)
    )
    # Only a reply soon after the rating is its comment; later words are a new question.
    done = u.conn.execute(
        update(csats)
        .where(
            csats.c.conversation_id == conversation_id,
            csats.c.at >= u.now - timedelta(seconds=CSAT_COMMENT_WINDOW),
        )
        .values(comment=comment[:1000])
    )
    return ActionResult.DONE if done.rowcount else ActionResult.NOT_ALLOWED


def record_csat(
    u: Unit, conversation_id: int, customer_id: int, score: int, comment: str | None
) -> ActionResult:
    """The customer's 1–5 rating of a closed conversation; once per conversation, and only
    while it is their newest (a rating keyboard left from an earlier chat has expired)."""
    if not 1 <= score <= 5:
        return ActionResult.NOT_ALLOWED
    row = store.get_conversation(u.conn, conversation_id)
    if row is None or row.customer_id != customer_id:
        return ActionResult.NOT_FOUND
    if row.state != C.CLOSED:
        return ActionResult.NOT_ALLOWED
    if u.conn.scalar(select(store.newest_conversation(customer_id))) != row.id:
        return ActionResult.NOT_ALLOWED
    rated = u.conn.scalar(
        select(csats.c.conversation_id).where(csats.c.conversation_id == conversation_id)
    )
    if rated is not None:
        return ActionResult.ALREADY_DONE
    u.conn.execute(
        insert(csats).values(
            conversation_id=conversation_id,
            score=score,
            comment=(comment or None) and comment[:1000],
            at=u.now,
        )
    )
    return ActionResult.DONE
