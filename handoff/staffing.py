"""Who is working: agents from the config, their status and shifts; and the periodic sweep's steps
(SPEC §4.3). Plain functions over a unit of work; `handoff.router.Router` runs them."""

from __future__ import annotations

from sqlalchemy import delete, insert, or_, select, update

from handoff import agent_actions, moves, store, transitions
from handoff.events import AgentReachability, AgentStatusChanged, SlaBreached
from handoff.hours import is_open
from handoff.kpis.measures import wait_start
from handoff.moves import C
from handoff.policies import TeamHours, team_hours
from handoff.results import ActionResult
from handoff.states import AgentStatus
from handoff.tables import ShiftLog
from handoff.unit_of_work import Unit

shift_log = ShiftLog.__table__


def sync_agents(u: Unit) -> None:
    """Make the agent table match the config (new, changed and removed agents)."""
    agents, teams = store.agents, store.agent_teams
    existing = {r.id for r in u.conn.execute(select(agents.c.id))}
    for agent in u.config.agents:
        values = dict(
            name=agent.name,
            username=agent.username,
            capacity=agent.capacity,
            is_manager=agent.manager,
            active=True,
        )
        if agent.id in existing:
            u.conn.execute(update(agents).where(agents.c.id == agent.id).values(**values))
        else:
            u.conn.execute(insert(agents).values(id=agent.id, **values))
    configured = {a.id for a in u.config.agents}
    for gone in existing - configured:
        u.conn.execute(
            update(agents).where(agents.c.id == gone).values(active=False, on_shift=False)
        )
    u.conn.execute(delete(teams))
    rows = [{"agent_id": a.id, "team": t} for a in u.config.agents for t in a.teams]
    if rows:
        u.conn.execute(insert(teams), rows)


def set_agent_status(u: Unit, agent_id: int, status: AgentStatus, why: str) -> ActionResult:
    """`/on`, `/away`, `/off`: takes effect at once; pending offers of an agent leaving are
    rescinded."""
    agent = store.get_agent(u.conn, agent_id)
    if agent is None or not agent.active:
        return ActionResult.NOT_ALLOWED
    transitions.set_status(
        u,
        agent_id,
        status,
        events=[AgentStatusChanged(None, agent_id, status, why)],
        **({"missed_offers": 0} if status is AgentStatus.AVAILABLE else {}),
    )
    if status is AgentStatus.AVAILABLE:
        moves.dispatch_agent(u, agent_id)
    else:
        moves.rescind_offers_of(u, agent_id, f"{agent.name} went {status}")
    return ActionResult.DONE


def set_reachable(u: Unit, agent_id: int, reachable: bool) -> ActionResult:
    """Whether the bot can message this agent privately. An unreachable agent gets no offers, and
    the chats they hold go back to the queue (nothing they would write could arrive)."""
    agent = store.get_agent(u.conn, agent_id)
    if agent is None or agent.reachable == reachable:
        return ActionResult.ALREADY_DONE
    store.change_agent(u.conn, agent_id, reachable=reachable)
    u.events.append(AgentReachability(None, agent_id, reachable))
    if reachable:
        moves.dispatch_agent(u, agent_id)
        return ActionResult.DONE
    moves.rescind_offers_of(u, agent_id, f"{agent.name} cannot be messaged")
    held = u.conn.execute(
        select(store.conversations).where(
            store.conversations.c.agent_id == agent_id,
            store.conversations.c.state == C.ASSIGNED,
        )
    )
    for row in held.all():
        moves.requeue_from_agent(u, row, row.team, f"requeued: the bot cannot message {agent.name}")
    return ActionResult.DONE


def sync_shifts(u: Unit) -> None:
    """Start and end shifts by the agents' schedules: starting means available, ending offline."""
    for spec in u.config.agents:
        row = store.get_agent(u.conn, spec.id)
        on = is_open(u.config.schedules[spec.shift], u.now)
        if row is None or row.on_shift == on:
            continue
        if on:
            transitions.set_status(
                u,
                spec.id,
                AgentStatus.AVAILABLE,
                events=[AgentStatusChanged(None, spec.id, AgentStatus.AVAILABLE, "shift_start")],
                on_shift=True,
                missed_offers=0,
            )
            u.conn.execute(insert(shift_log).values(agent_id=spec.id, start=u.now))
            moves.dispatch_agent(u, spec.id)
        else:
            transitions.set_status(
                u,
                spec.id,
                AgentStatus.OFFLINE,
                events=[AgentStatusChanged(None, spec.id, AgentStatus.OFFLINE, "shift_end")],
                on_shift=False,
            )
            u.conn.execute(
                update(shift_log)
                .where(shift_log.c.agent_id == spec.id, shift_log.c.end.is_(None))
                .values(end=u.now)
            )
            moves.rescind_offers_of(u, spec.id, f"{spec.name}'s shift ended")


def recheck_held(u: Unit) -> None:
    """After a config reload: chats held for a team's opening follow the teams' new hours."""
    table = store.conversations
    held = u.conn.execute(
        select(table).where(table.c.state == C.QUEUED, table.c.not_before > u.now)
    )
    for row in held.all():
        if row.team not in u.config.teams:
            continue
        hours = team_hours(u.config, row.team, u.now)
        opening = u.now if hours.outcome is TeamHours.OPEN else hours.opening
        if opening is None or (opening == row.not_before and hours.team == row.team):
            continue
        store.update_conversation(u.conn, row, team=hours.team, not_before=opening)
        u.note(row.id, "time", f"config reloaded; {hours.reason}")


def dispatch_free_agents(u: Unit) -> None:
    """Offer waiting conversations to every agent with a free slot (openings, overflow, drains):
    one conversation per free agent a round, longest idle first, so a queue drained at an opening
    is shared out evenly rather than filling the first agent's capacity.

    Offers already past their deadline end first: a drain due at the same moment as a deadline
    (an overflow, an opening) then finds those chats back in the queue and serves them in queue
    order, whichever of the two timers fires first."""
    agent_actions.expire_overdue(u)
    while True:
        before = len(u.events)
        for agent_id in store.free_agent_ids(u.conn):
            moves.dispatch_agent(u, agent_id, rounds=1)
        if len(u.events) == before:
            return


def check_sla(u: Unit) -> None:
    """Note each chat that has waited past its team's first-response SLA, once."""
    table = store.conversations
    rows = u.conn.execute(
        select(table)
        .where(
            table.c.state.in_((C.QUEUED, C.OFFERED, C.ASSIGNED)),
            table.c.first_response_at.is_(None),
            table.c.sla_alerted.is_(False),
            or_(table.c.not_before.is_(None), table.c.not_before <= u.now),
        )
        .limit(500)
    )
    for row in rows:
        team = u.config.teams.get(row.team)
        if team is None:
            continue
        # A chat held for the team's opening starts its SLA clock at the opening.
        waited = (u.now - wait_start(row.queued_at, row.not_before)).total_seconds()
        if waited >= team.sla.first_response:
            u.conn.execute(update(table).where(table.c.id == row.id).values(sla_alerted=True))
            u.note(row.id, "sla", f"no first response after {waited:.0f} s")
            u.events.append(SlaBreached(row.id, row.team, waited))
