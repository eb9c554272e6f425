"""What agents and managers do to a conversation: claim, take, assign, release, transfer, close.
Plain functions over a unit of work; `handoff.router.Router` runs them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row

from handoff import moves, store, transitions
from handoff.config import ClaimMode, HeldTakers
from handoff.events import AgentStatusChanged, Assigned
from handoff.kpis.measures import seconds_waited
from handoff.moves import C
from handoff.policies import queue_key
from handoff.results import ActionResult, ClaimResult, Outcome
from handoff.states import AgentStatus, OfferState
from handoff.unit_of_work import Unit


def claim(u: Unit, conversation_id: int, agent_id: int, how: str) -> Outcome:
    """An agent claims a conversation (Claim button, `/take`; `force`: a manager's assign, which
    may exceed capacity and says so). Exactly one claimant wins."""
    row = store.get_conversation(u.conn, conversation_id)
    if row is None:
        return Outcome(ClaimResult.NOT_FOUND)
    if row.state == C.CLOSED:
        return Outcome(ClaimResult.CLOSED)
    if row.state == C.ASSIGNED:
        return Outcome(ClaimResult.ALREADY_CLAIMED, holder_id=row.agent_id)
    if row.state == C.BOT:
        return Outcome(ClaimResult.NOT_WAITING)
    agent = store.get_agent(u.conn, agent_id)
    if agent is None or not agent.active:
        return Outcome(ClaimResult.NOT_AN_AGENT)
    offer = store.pending_offer(u.conn, row.id) if row.state == C.OFFERED else None
    mine = offer is not None and offer.agent_id == agent_id
    anyone = row.open_to_anyone or u.config.routing.claim is ClaimMode.ANYONE
    forced = how == "force"
    held = row.state == C.QUEUED and row.not_before is not None and row.not_before > u.now
    may_take_held = held and _takes_held(u, row, agent)
    if held and not (may_take_held or forced):
        return Outcome(ClaimResult.HELD)
    if not (mine or anyone or forced or held):
        return Outcome(ClaimResult.NOT_OFFERED_TO_YOU, holder_id=offer.agent_id if offer else None)
    if not agent.reachable:
        return Outcome(ClaimResult.UNREACHABLE)
    if not (forced or agent.on_shift or (held and agent.is_manager)):
        return Outcome(ClaimResult.OFF_SHIFT)
    pending_elsewhere = agent.pending_offers - (1 if mine else 0)
    over = agent.load + pending_elsewhere >= agent.capacity
    if over and not forced:
        return Outcome(ClaimResult.AT_CAPACITY)
    if offer is not None:
        moves.end_offer(u, offer, OfferState.ACCEPTED if mine else OfferState.RESCINDED)
    verb = {"claim": "claimed", "take": "taken (cherry-pick)", "force": "force-assigned"}.get(
        how, how
    )
    note = f" over capacity ({agent.load + 1}/{agent.capacity})" if over else ""
    transitions.move(
        u,
        row,
        C.ASSIGNED,
        notes=[("assign", f"{verb} by {agent.name}{note}")],
        events=[
            Assigned(
                row.id, row.customer_id, agent_id, row.team, how, over, _first_wait(row, u.now)
            )
        ],
        agent_id=agent_id,
        assigned_at=row.assigned_at or u.now,
        last_activity_at=u.now,
        # Taken before the opening it was held for: its wait (and SLA clock) ends now.
        **({"not_before": u.now} if held else {}),
    )
    # A claimed offer already counted as routed when it was made; a take or force counts now.
    routed = {} if mine else {"last_routed_at": u.routed_at()}
    store.change_agent(
        u.conn,
        agent_id,
        load=store.agents.c.load + 1,
        missed_offers=0,
        focus_conversation_id=row.id,  # the last claimed chat gets the agent's messages
        **routed,
    )
    if offer is not None and not mine:  # taken from under their offer: their slot is free again
        moves.dispatch_agent(u, offer.agent_id)
    return Outcome(ClaimResult.CLAIMED, holder_id=agent_id)


def _takes_held(u: Unit, row: Any, agent: Any) -> bool:
    """May this agent take a chat held for its team's opening (`routing.take_held`)?"""
    if agent.is_manager:
        return True
    spec = u.config.agent(agent.id)
    return (
        u.config.routing.take_held is HeldTakers.TEAM
        and spec is not None
        and row.team in spec.teams
        and agent.on_shift
    )


def expire_overdue(u: Unit) -> ActionResult:
    """Time out every pending offer past its deadline (the deadline timer, the sweep): all their
    conversations are back in the queue before any is routed again, then they go in queue order,
    then the agents they free take the heads of their queues; so no expiry overtakes another that
    falls due at the same moment. ALREADY_DONE when none was due."""
    overdue = store.overdue_offers(u.conn, u.now)
    for offer in overdue:
        _take_back(u, offer)
    for offer in overdue:
        moves.route(u, offer.conversation_id)
    for agent_id in dict.fromkeys(offer.agent_id for offer in overdue):
        moves.dispatch_agent(u, agent_id)
    return ActionResult.DONE if overdue else ActionResult.ALREADY_DONE


def _take_back(u: Unit, offer: Row[Any]) -> None:
    """Time out an offer, count it against its agent and put its conversation back in the queue
    (not yet routed again)."""
    moves.end_offer(u, offer, OfferState.TIMED_OUT)
    row = store.get_conversation(u.conn, offer.conversation_id)
    agent = store.get_agent(u.conn, offer.agent_id)
    seconds = (u.now - offer.created_at).total_seconds()
    u.note(row.id, "timed_out", f"offer to {agent.name} timed out after {seconds:.0f} s → requeued")
    _count_missed(u, agent)
    if row.state == C.OFFERED:
        transitions.move(u, row, C.QUEUED)


def _count_missed(u: Unit, agent: Row[Any]) -> None:
    missed = agent.missed_offers + 1
    if missed >= u.config.routing.max_missed_offers and agent.status == AgentStatus.AVAILABLE:
        transitions.set_status(
            u,
            agent.id,
            AgentStatus.AWAY,
            events=[AgentStatusChanged(None, agent.id, AgentStatus.AWAY, "missed_offers")],
            missed_offers=0,
        )
    else:
        store.change_agent(u.conn, agent.id, missed_offers=missed)


def _held_by(u: Unit, conversation_id: int, agent_id: int) -> Row[Any] | ActionResult:
    """The conversation if this agent holds it now; else why not."""
    row = store.get_conversation(u.conn, conversation_id)
    if row is None:
        return ActionResult.NOT_FOUND
    if row.state != C.ASSIGNED or row.agent_id != agent_id:
        return ActionResult.NOT_YOURS
    return row


def release(u: Unit, conversation_id: int, agent_id: int) -> ActionResult:
    """The agent hands the conversation back to the queue (`/release`)."""
    row = _held_by(u, conversation_id, agent_id)
    if isinstance(row, ActionResult):
        return row
    agent = store.get_agent(u.conn, agent_id)
    moves.requeue_from_agent(u, row, row.team, f"released by {agent.name}")
    moves.dispatch_agent(u, agent_id)
    return ActionResult.DONE


def transfer(
    u: Unit,
    conversation_id: int,
    by_agent_id: int,
    *,
    to_agent_id: int | None = None,
    to_team: str | None = None,
) -> ActionResult:
    """Move a conversation to another agent or team (`/transfer #id @agent|team`)."""
    if (to_agent_id is None) == (to_team is None):
        raise ValueError("transfer to exactly one of an agent or a team")
    row = store.get_conversation(u.conn, conversation_id)
    by = store.get_agent(u.conn, by_agent_id)
    if row is None or row.state not in (C.QUEUED, C.OFFERED, C.ASSIGNED):
        return ActionResult.NOT_FOUND
    if by is None or not by.active:
        return ActionResult.NOT_ALLOWED
    if row.state == C.ASSIGNED and row.agent_id != by_agent_id and not by.is_manager:
        return ActionResult.NOT_YOURS
    if row.state != C.ASSIGNED and not by.is_manager:
        return ActionResult.NOT_ALLOWED
    if to_team is not None:
        if to_team not in u.config.teams:
            return ActionResult.UNKNOWN_TARGET
        return _transfer_to_team(u, row, by, to_team)
    assert to_agent_id is not None
    return _transfer_to_agent(u, row, by, to_agent_id)


def _transfer_to_team(u: Unit, row: Row[Any], by: Row[Any], team: str) -> ActionResult:
    why = f"transferred to team {team} by {by.name}"
    if row.state == C.ASSIGNED:
        holder = row.agent_id
        moves.requeue_from_agent(u, row, team, why)
        moves.dispatch_agent(u, holder)
        return ActionResult.DONE
    offer = store.pending_offer(u.conn, row.id) if row.state == C.OFFERED else None
    if offer is not None:
        moves.end_offer(u, offer, OfferState.RESCINDED)
    changes = dict(
        team=team,
        transfers=row.transfers + 1,
        sticky_tried=True,
        queue_key=queue_key(row.queued_at, row.priority, u.config.routing.aging),
        attempts=0,
        open_to_anyone=False,
    )
    notes = [("transfer", why)]
    if row.state == C.OFFERED:
        row = transitions.move(u, row, C.QUEUED, notes=notes, **changes)
    else:  # waiting already: it changes queues, not state
        row = transitions.write(u, row, notes=notes, **changes)
    moves.route(u, row, announce=True)
    if offer is not None:
        moves.dispatch_agent(u, offer.agent_id)
    return ActionResult.DONE


def _transfer_to_agent(u: Unit, row: Row[Any], by: Row[Any], to_agent_id: int) -> ActionResult:
    target = store.get_agent(u.conn, to_agent_id)
    if target is None or not target.active:
        return ActionResult.UNKNOWN_TARGET
    if target.id == row.agent_id:
        return ActionResult.ALREADY_DONE
    snapshot = store.agent_snapshot(target)
    offer = store.pending_offer(u.conn, row.id) if row.state == C.OFFERED else None
    # Offers pending to the target hold slots too, except the offer of this very conversation.
    holding = (
        target.load
        + target.pending_offers
        - (1 if offer is not None and offer.agent_id == target.id else 0)
    )
    if not (
        snapshot.on_shift and snapshot.status is AgentStatus.AVAILABLE and holding < target.capacity
    ):
        return ActionResult.TARGET_UNAVAILABLE
    previous = row.agent_id
    if offer is not None:
        moves.end_offer(u, offer, OfferState.RESCINDED)
    previous_offer_agent = offer.agent_id if offer is not None else None
    transitions.move(
        u,
        row,
        C.ASSIGNED,
        notes=[("transfer", f"transferred to {target.name} by {by.name}")],
        events=[
            Assigned(
                row.id,
                row.customer_id,
                to_agent_id,
                row.team,
                "transfer",
                waited=_first_wait(row, u.now),
            )
        ],
        agent_id=to_agent_id,
        transfers=row.transfers + 1,
        assigned_at=row.assigned_at or u.now,
        last_activity_at=u.now,
    )
    if previous is not None:
        store.change_agent(u.conn, previous, load=store.agents.c.load - 1)
    store.change_agent(
        u.conn,
        to_agent_id,
        load=store.agents.c.load + 1,
        last_routed_at=u.routed_at(),
        focus_conversation_id=row.id,
    )
    for freed in (previous, previous_offer_agent):
        if freed is not None:
            moves.dispatch_agent(u, freed)
    return ActionResult.DONE


def set_focus(u: Unit, agent_id: int, conversation_id: int) -> ActionResult:
    """`/switch #id`: the agent's unaddressed messages go to this chat of theirs from now on."""
    row = _held_by(u, conversation_id, agent_id)
    if isinstance(row, ActionResult):
        return row
    store.change_agent(u.conn, agent_id, focus_conversation_id=conversation_id)
    return ActionResult.DONE


def correct_intent(u: Unit, conversation_id: int, intent: str, agent_id: int) -> ActionResult:
    """An agent says what the customer's words meant (`/intent #id NAME`): the conversation is
    filed under it, and once closed, its question teaches the bot."""
    row = store.get_conversation(u.conn, conversation_id)
    if row is None:
        return ActionResult.NOT_FOUND
    agent = store.get_agent(u.conn, agent_id)
    if agent is None or not agent.active:
        return ActionResult.NOT_ALLOWED
    question = store.question_of(u.conn, row)
    if row.intent != intent:
        store.update_conversation(u.conn, row, intent=intent)
        u.note(row.id, "intent", f"intent set to {intent} by {agent.name}")
    if question:
        store.add_intent_label(
            u.conn,
            u.now,
            customer_id=row.customer_id,
            text=question,
            intent=intent,
            source="agent",
            conversation_id=row.id,
            agent_id=agent_id,
        )
    return ActionResult.DONE


def close(u: Unit, conversation_id: int, by_agent_id: int | None, reason: str) -> ActionResult:
    """Close a conversation (`/close`); an agent may close only their own unless a manager."""
    row = store.get_conversation(u.conn, conversation_id)
    if row is None:
        return ActionResult.NOT_FOUND
    if row.state == C.CLOSED:
        return ActionResult.ALREADY_DONE
    if by_agent_id is not None:
        agent = store.get_agent(u.conn, by_agent_id)
        if agent is None or not agent.active:
            return ActionResult.NOT_ALLOWED
        if row.agent_id != by_agent_id and not agent.is_manager:
            return ActionResult.NOT_YOURS
    moves.close(u, row, reason=reason)
    return ActionResult.DONE


def _first_wait(row: Any, now: datetime) -> float | None:
    """Seconds the conversation waited for its first claim, made now; None when an agent held it
    before (its first wait ended then)."""
    if row.assigned_at is not None or row.queued_at is None:
        return None
    return seconds_waited(row.queued_at, row.not_before, now)
