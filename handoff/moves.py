"""The moves every routing service shares: route a conversation (offer it, or leave it waiting),
make and end offers, give a free agent the head of their queues, requeue, close. Plain functions
over a unit of work (`handoff.unit_of_work.Unit`: its connection, moment and config)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from handoff import store, transitions
from handoff.config import Config
from handoff.events import (
    Closed,
    OfferEnded,
    OfferMade,
    OpenedToAnyone,
    Queued,
    Requeued,
)
from handoff.hours import is_open
from handoff.policies import (
    Verdict,
    decide_offer,
    estimated_wait,
    is_eligible,
    overflowing,
    queue_key,
)
from handoff.states import ConversationState, OfferState
from handoff.transitions import Draft
from handoff.unit_of_work import Unit

C = ConversationState
DEFAULT_HANDLE_SECONDS = 300.0


def queue_rules(u: Unit) -> store.QueueRules:
    """Which queues agents serve at the step's moment (the same for all of its searches)."""
    if (found := u.derived.get("queue_rules")) is not None:
        return found  # type: ignore[no-any-return]
    teams, now = u.config.teams, u.now
    rules = u.derived["queue_rules"] = store.QueueRules(
        now=now,
        overflow_cutoff=now - timedelta(seconds=u.config.routing.overflow_after),
        open_teams=frozenset(t for t in teams if team_open(u.config, t, now)),
        backs_up=tuple((helper, key) for key, team in teams.items() for helper in team.secondary),
    )
    return rules


def route(
    u: Unit,
    conversation: int | Any,
    *,
    announce: bool = False,
    exclude_agent: int | None = None,
    passed: frozenset[int] = frozenset(),
) -> Any:
    """Offer a queued conversation (its id, or its current row, or a `Draft`) to the best
    agent now, or leave it waiting (SPEC §4.2 3–6). Returns the row as written (None if
    there is no such conversation).

    `exclude_agent` just handed it back: their freed slot goes to the head of their queues
    (`dispatch_agent`), which may be this conversation only if nothing waits before it.
    A round-robin candidate who serves a conversation waiting longer (by priority with aging)
    is given that one first, so no arrival or requeue jumps the queue; `passed` holds those
    that could not be placed, so the search ends.
    """
    row = (
        store.get_conversation(u.conn, conversation)
        if isinstance(conversation, int)
        else conversation
    )
    if row is None or row.state != C.QUEUED or (row.not_before and row.not_before > u.now):
        return transitions.write(u, row) if isinstance(row, Draft) else row
    snapshot = store.conversation_snapshot(row)
    routing = u.config.routing
    teams = [row.team]
    team_spec = u.config.teams.get(row.team)
    if team_spec is not None and overflowing(snapshot, routing, u.now):
        teams += [t for t in team_spec.secondary if team_open(u.config, t, u.now)]
    found = store.candidates(
        u.conn,
        teams=teams,
        conversation_id=row.id,
        queue_key=row.queue_key,
        exclude=exclude_agent,
        sticky_id=row.sticky_agent_id if not row.sticky_tried else None,
        rules=queue_rules(u),
        passed=passed,
    )
    decision = decide_offer(
        snapshot,
        sticky_agent=found.sticky,
        candidate=found.candidate,
        routing=routing,
        now=u.now,
    )
    if decision.verdict is Verdict.OFFER and not decision.sticky and found.candidate_has_earlier:
        row = transitions.write(u, row) if isinstance(row, Draft) else row
        _, earlier = head_for(u, decision.agent_id, passed | {row.id})
        if earlier is not None and (earlier.queue_key, earlier.id) < (row.queue_key, row.id):
            route(u, earlier, passed=passed | {row.id})
            still = store.get_conversation(u.conn, earlier.id)
            skip = passed if still.state != C.QUEUED else passed | {earlier.id}
            return route(u, row.id, announce=announce, exclude_agent=exclude_agent, passed=skip)
    if decision.verdict is Verdict.OFFER:
        return make_offer(
            u,
            row,
            decision.agent_id,
            decision.timeout,
            decision.sticky,
            decision.reason,
            decision.open_to_anyone,
            announce,
        )
    if decision.open_to_anyone:
        row = transitions.write(u, row, open_to_anyone=True)
        u.events.append(OpenedToAnyone(row.id, row.attempts))
    if announce:
        row, queued = queued_event(u, row)
        u.note(row.id, "wait", decision.reason)
        u.events.append(queued)
    elif decision.open_to_anyone:
        u.note(row.id, "wait", decision.reason)
    elif isinstance(row, Draft):
        row = transitions.write(u, row)
    return row


def make_offer(
    u: Unit,
    row: Any,
    agent_id: int,
    timeout: float,
    sticky: bool,
    reason: str,
    opens: bool,
    announce: bool = False,
) -> Any:
    if not store.reserve_slot(u.conn, agent_id, u.routed_at()):
        raise store.Conflict(f"agent {agent_id} filled up meanwhile")
    deadline = u.now + timedelta(seconds=timeout)
    row, offer_id = transitions.open_offer(
        u,
        row,
        agent_id,
        deadline,
        sticky=sticky,
        reason=reason,
        sticky_tried=row.sticky_tried or sticky,
        open_to_anyone=row.open_to_anyone or opens,
    )
    if opens:
        u.events.append(OpenedToAnyone(row.id, row.attempts))
    made = OfferMade(
        row.id,
        offer_id,
        agent_id,
        deadline,
        sticky,
        row.open_to_anyone,
        row.customer_id,
        row.team,
        announce,
    )
    u.events.append(made)
    return row


def queue_stats(u: Unit, row: Any) -> store.QueueStats:
    return store.queue_stats(
        u.conn,
        team=row.team,
        queue_key=row.queue_key,
        conversation_id=row.id,
        since=u.now - timedelta(days=7),
    )


def queued_event(u: Unit, row: Any, stats: store.QueueStats | None = None) -> tuple[Any, Queued]:
    """The customer's place in line and estimated wait, noted as told (SPEC §3.5); `row` is
    current (a `Draft` is written here). Returns the row as written and the event."""
    stats = stats or queue_stats(u, row)
    wait = estimated_wait(
        stats.position, stats.on_duty, stats.handle_seconds or DEFAULT_HANDLE_SECONDS
    )
    first = row.position_told is None
    if isinstance(row, Draft):
        row = transitions.write(u, row, position_told=stats.position, position_told_at=u.now)
    else:
        store.tell_position(u.conn, row.id, stats.position, u.now)
    event = Queued(
        row.id,
        row.customer_id,
        row.team,
        stats.position,
        wait,
        first=first,
        at_least=stats.at_least,
    )
    return row, event


def team_open(config: Config, team: str, now: datetime) -> bool:
    spec = config.teams.get(team)
    return spec is not None and is_open(config.schedules[spec.schedule], now)


def dispatch_agent(u: Unit, agent_id: int, rounds: int | None = None) -> None:
    """Give a free agent the head of the queues they serve, until they are full or none is
    left (or `rounds` conversations have been tried)."""
    tried = 0
    while rounds is None or tried < rounds:
        tried += 1
        agent, head = head_for(u, agent_id)
        if agent is None or head is None:
            return
        snapshot = store.agent_snapshot(agent)
        if not is_eligible(snapshot):
            return
        before = len(u.events)
        route(u, head)
        made = [e for e in u.events[before:] if isinstance(e, OfferMade)]
        if not made:
            return  # the head went nowhere (e.g. its sticky agent is someone else): stop here
        if snapshot.free_slots == 1 and any(e.agent_id == agent_id for e in made):
            return  # their last free slot is taken now


def head_for(
    u: Unit, agent_id: int, passed: frozenset[int] = frozenset()
) -> tuple[Any | None, Any | None]:
    """The agent and the first conversation (priority with aging) of the queues they serve
    now: their teams, and teams they back up once a conversation waits past
    `overflow_after` (if one of their teams is open)."""
    spec = u.config.agent(agent_id)  # the config says who serves which team (sync_agents)
    own = list(spec.teams) if spec is not None else []
    backed_up = [
        key
        for key, team in u.config.teams.items()
        if key not in own and any(t in own for t in team.secondary)
    ]
    if not team_open_any(u.config, own, u.now):
        backed_up = []
    return store.head_for_agent(
        u.conn,
        agent_id,
        own=own,
        backed_up=backed_up,
        rules=queue_rules(u),
        passed=passed,
    )


def team_open_any(config: Config, teams: Sequence[str], now: datetime) -> bool:
    return any(team_open(config, t, now) for t in teams)


def end_offer(u: Unit, offer: Any, outcome: OfferState) -> None:
    """Resolve a pending offer once and give the agent's reserved slot back.

    Raises Conflict when someone resolved it meanwhile, so the whole decision is retried on
    fresh state (PostgreSQL re-checks the WHERE after waiting for the row lock).
    """
    transitions.resolve_offer(u, offer, outcome)
    store.change_agent(u.conn, offer.agent_id, pending_offers=store.agents.c.pending_offers - 1)
    if outcome is not OfferState.ACCEPTED:
        u.events.append(OfferEnded(offer.conversation_id, offer.id, offer.agent_id, outcome))


def requeue_from_agent(u: Unit, row: Any, team: str, why: str) -> None:
    routing = u.config.routing
    requeued = transitions.move(
        u,
        row,
        C.QUEUED,
        notes=[("requeue", why)],
        events=[Requeued(row.id, row.agent_id, team, why)],
        agent_id=None,
        team=team,
        queued_at=u.now,
        queue_key=queue_key(u.now, row.priority, routing.aging),
        sticky_tried=True,
        not_before=None,
        transfers=row.transfers + (1 if team != row.team else 0),
    )
    # The releasing agent counts as just routed, so round robin tries the others first.
    store.change_agent(
        u.conn, row.agent_id, load=store.agents.c.load - 1, last_routed_at=u.routed_at()
    )
    route(u, requeued, announce=True, exclude_agent=row.agent_id)


def close(u: Unit, row: Any, *, reason: str) -> None:
    freed: list[int] = []
    if row.state == C.OFFERED:
        offer = store.pending_offer(u.conn, row.id)
        if offer is not None:
            end_offer(u, offer, OfferState.RESCINDED)
            freed.append(offer.agent_id)
    transitions.move(
        u,
        row,
        C.CLOSED,
        notes=[("close", f"closed ({reason})")],
        closed_at=u.now,
        close_reason=reason,
    )
    if row.state == C.ASSIGNED and row.agent_id is not None:
        store.change_agent(u.conn, row.agent_id, load=store.agents.c.load - 1)
        freed.append(row.agent_id)
    if row.team:
        store.set_usual_team(u.conn, row.customer_id, row.team)
    u.events.append(Closed(row.id, row.customer_id, row.agent_id, reason))
    for agent_id in freed:
        dispatch_agent(u, agent_id)


def rescind_offers_of(u: Unit, agent_id: int, why: str) -> None:
    """End the agent's pending offers; their conversations are all back in the queue before
    any is routed again, and then go in queue order (none overtakes another)."""
    requeued: list[Any] = []
    for offer in store.pending_offers_of(u.conn, agent_id):
        end_offer(u, offer, OfferState.RESCINDED)
        row = store.get_conversation(u.conn, offer.conversation_id)
        u.note(row.id, "rescind", f"offer rescinded: {why}")
        if row.state == C.OFFERED:
            requeued.append(transitions.move(u, row, C.QUEUED))
    for row in sorted(requeued, key=lambda r: (r.queue_key, r.id)):
        route(u, row)
