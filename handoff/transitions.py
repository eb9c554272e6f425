"""The one write path of routing state: every change of a conversation's, an offer's or an agent's
state goes through here — the move checked (SPEC §4.1), written compare-and-set, noted in the
trail; the callers add the events. Nothing else writes the state columns (a test watches the SQL).

A conversation decided on in the same step it is created is a `Draft` until its first write, so a
new conversation that is offered at once is written once, in its final state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from handoff import store
from handoff.events import Event
from handoff.states import AgentStatus, ConversationState, OfferState, check_move
from handoff.unit_of_work import Unit

C = ConversationState


class Draft(SimpleNamespace):
    """A conversation not written yet: its columns, `id` None until it is inserted."""


def draft(customer_id: int, now: datetime, **values: Any) -> Draft:
    """A new conversation talking to the bot, not written yet."""
    columns = {c.name: None for c in store.conversations.c}
    columns.update(store.CONVERSATION_DEFAULTS)
    columns.update(customer_id=customer_id, state=C.BOT, created_at=now, last_activity_at=now)
    return Draft(**{**columns, **values}, notes=())


Notes = Sequence[tuple[str, str]]  # trail entries: kind, reason


def move(
    u: Unit,
    row: Any,
    to: ConversationState,
    *,
    notes: Notes = (),
    events: Sequence[Event] = (),
    **values: Any,
) -> Any:
    """Move a conversation to state `to` (with `values`), noting `notes` in its trail, then
    `events`; a `Draft` moved to the queue stays a draft until something writes it. Returns the
    row as it is now."""
    check_move(C(row.state), to)
    if isinstance(row, Draft) and to is C.QUEUED:
        u.events.extend(events)
        return Draft(**{**vars(row), **values, "state": to, "notes": (*row.notes, *notes)})
    return write(u, row, state=to, notes=notes, events=events, **values)


def write(
    u: Unit, row: Any, *, notes: Notes = (), events: Sequence[Event] = (), **values: Any
) -> Any:
    """Write a conversation's `values` compare-and-set (a `Draft`: insert it), noting `notes`,
    then `events`; the row as it is now."""
    if isinstance(row, Draft):
        written = {k: v for k, v in {**vars(row), **values}.items() if k not in ("id", "notes")}
        saved = SimpleNamespace(**written, id=store.insert_conversation(u.conn, written))
        for kind, reason in row.notes:
            u.note(saved.id, kind, reason)
    else:
        store.update_conversation(u.conn, row, **values)
        saved = SimpleNamespace(**{**_columns(row), **values, "version": row.version + 1})
    for kind, reason in notes:
        u.note(saved.id, kind, reason)
    u.events.extend(events)
    return saved


def open_offer(
    u: Unit,
    row: Any,
    agent_id: int,
    deadline: datetime,
    *,
    sticky: bool,
    reason: str,
    **values: Any,
) -> tuple[Any, int]:
    """Offer a queued conversation to an agent whose slot is reserved: (the row, the offer id)."""
    saved = move(u, row, C.OFFERED, notes=[("offer", reason)], attempts=row.attempts + 1, **values)
    offer_id = store.add_offer(
        u.conn,
        conversation_id=saved.id,
        agent_id=agent_id,
        now=u.now,
        deadline=deadline,
        sticky=sticky,
    )
    return saved, offer_id


def resolve_offer(u: Unit, offer: Any, outcome: OfferState) -> None:
    """Resolve a pending offer once; Conflict when someone resolved it meanwhile."""
    if not store.resolve_offer(u.conn, offer.id, outcome, u.now):
        raise store.Conflict(f"offer {offer.id} was resolved meanwhile")


def set_status(
    u: Unit, agent_id: int, status: AgentStatus, *, events: Sequence[Event] = (), **values: Any
) -> None:
    """Set an agent's status (with `values`), then `events`."""
    store.change_agent(u.conn, agent_id, status=status, status_changed_at=u.now, **values)
    u.events.extend(events)


def _columns(row: Any) -> dict[str, Any]:
    return row._asdict() if hasattr(row, "_asdict") else dict(vars(row))
