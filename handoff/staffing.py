"""Who is working: agents from the config, their status and shifts; and the periodic sweep (SPEC §4.3)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, or_, select, update

from handoff import store, transitions
from handoff.config import Config
from handoff.dispatch import (
    ActionResult,
    C,
    Dispatcher,
    Outcome,
    Unit,
)
from handoff.events import (
    AgentReachability,
    AgentStatusChanged,
    Event,
    SlaBreached,
)
from handoff.hours import is_open
from handoff.kpis.measures import wait_start
from handoff.policies import TeamHours, team_hours
from handoff.states import (
    AgentStatus,
)
from handoff.tables import ShiftLog


class Staffing(Dispatcher):
    """Agent status, shifts, and the timed catch-all sweep."""

    async def sync_agents(self, config: Config | None = None) -> None:
        """Make the agent table match the config (new, changed and removed agents)."""
        if config is not None:
            self.config = config

        def work(u: Unit) -> None:
            agents, teams = store.agents, store.agent_teams
            existing = {r.id for r in u.conn.execute(select(agents.c.id))}
            for agent in self.config.agents:
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
            configured = {a.id for a in self.config.agents}
            for gone in existing - configured:
                u.conn.execute(
                    update(agents).where(agents.c.id == gone).values(active=False, on_shift=False)
                )
            u.conn.execute(delete(teams))
            rows = [{"agent_id": a.id, "team": t} for a in self.config.agents for t in a.teams]
            if rows:
                u.conn.execute(insert(teams), rows)

        await self._run(work)
        await self.sync_shifts()

    async def set_agent_status(
        self, agent_id: int, status: AgentStatus, why: str = "command"
    ) -> Outcome:
        """`/on`, `/away`, `/off`: takes effect at once; pending offers of an agent leaving are rescinded."""

        def work(u: Unit) -> ActionResult:
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
                self._dispatch_agent(u, agent_id)
            else:
                self._rescind_offers_of(u, agent_id, f"{agent.name} went {status}")
            return ActionResult.DONE

        result, events = await self._run(work)
        return Outcome(result, tuple(events))

    async def set_reachable(self, agent_id: int, reachable: bool) -> Outcome:
        """Whether the bot can message this agent privately. An unreachable agent gets no offers,
        and the chats they hold go back to the queue (nothing they would write could arrive)."""

        def work(u: Unit) -> ActionResult:
            agent = store.get_agent(u.conn, agent_id)
            if agent is None or agent.reachable == reachable:
                return ActionResult.ALREADY_DONE
            store.change_agent(u.conn, agent_id, reachable=reachable)
            u.events.append(AgentReachability(None, agent_id, reachable))
            if reachable:
                self._dispatch_agent(u, agent_id)
                return ActionResult.DONE
            self._rescind_offers_of(u, agent_id, f"{agent.name} cannot be messaged")
            held = u.conn.execute(
                select(store.conversations).where(
                    store.conversations.c.agent_id == agent_id,
                    store.conversations.c.state == C.ASSIGNED,
                )
            )
            for row in held.all():
                why = f"requeued: the bot cannot message {agent.name}"
                self._requeue_from_agent(u, row, row.team, why)
            return ActionResult.DONE

        result, events = await self._run(work)
        return Outcome(result, tuple(events))

    # ---- time -----------------------------------------------------------------------------

    async def sync_shifts(self) -> Outcome:
        """Start and end shifts by the agents' schedules: starting means available, ending offline."""

        def work(u: Unit) -> None:
            shift_log = ShiftLog.__table__
            for spec in self.config.agents:
                row = store.get_agent(u.conn, spec.id)
                on = is_open(self.config.schedules[spec.shift], u.now)
                if row is None or row.on_shift == on:
                    continue
                if on:
                    transitions.set_status(
                        u,
                        spec.id,
                        AgentStatus.AVAILABLE,
                        events=[
                            AgentStatusChanged(None, spec.id, AgentStatus.AVAILABLE, "shift_start")
                        ],
                        on_shift=True,
                        missed_offers=0,
                    )
                    u.conn.execute(insert(shift_log).values(agent_id=spec.id, start=u.now))
                    self._dispatch_agent(u, spec.id)
                else:
                    transitions.set_status(
                        u,
                        spec.id,
                        AgentStatus.OFFLINE,
                        events=[
                            AgentStatusChanged(None, spec.id, AgentStatus.OFFLINE, "shift_end")
                        ],
                        on_shift=False,
                    )
                    u.conn.execute(
                        update(shift_log)
                        .where(shift_log.c.agent_id == spec.id, shift_log.c.end.is_(None))
                        .values(end=u.now)
                    )
                    self._rescind_offers_of(u, spec.id, f"{spec.name}'s shift ended")

        _, events = await self._run(work)
        return Outcome(ActionResult.DONE, tuple(events))

    async def recheck_held(self) -> Outcome:
        """After a config reload: chats held for a team's opening follow the teams' new hours,
        and any whose team is open now are offered at once."""

        def work(u: Unit) -> None:
            table = store.conversations
            held = u.conn.execute(
                select(table).where(table.c.state == C.QUEUED, table.c.not_before > u.now)
            )
            for row in held.all():
                if row.team not in self.config.teams:
                    continue
                hours = team_hours(self.config, row.team, u.now)
                opening = u.now if hours.outcome is TeamHours.OPEN else hours.opening
                if opening is None or (opening == row.not_before and hours.team == row.team):
                    continue
                store.update_conversation(u.conn, row, team=hours.team, not_before=opening)
                u.note(row.id, "time", f"config reloaded; {hours.reason}")

        _, events = await self._run(work)
        return Outcome(ActionResult.DONE, (*events, *(await self.dispatch_free_agents()).events))

    async def dispatch_free_agents(self) -> Outcome:
        """Offer waiting conversations to every agent with a free slot (openings, overflow, drains)."""

        def work(u: Unit) -> None:
            # One conversation per free agent a round, longest idle first, so a queue drained at
            # an opening is shared out evenly rather than filling the first agent's capacity.
            while True:
                before = len(u.events)
                for agent_id in store.free_agent_ids(u.conn):
                    self._dispatch_agent(u, agent_id, rounds=1)
                if len(u.events) == before:
                    return

        _, events = await self._run(work)
        return Outcome(ActionResult.DONE, tuple(events))

    async def sweep(self) -> list[Event]:
        """The periodic catch-all (SPEC §4.3): overdue offers, shifts, queues, SLA, idle chats."""
        events = list((await self.expire_overdue()).events)
        events += (await self.sync_shifts()).events
        events += (await self.dispatch_free_agents()).events
        events += await self._check_sla()
        events += await self._close_idle()
        return events

    async def _check_sla(self) -> list[Event]:
        def work(u: Unit) -> None:
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
                team = self.config.teams.get(row.team)
                if team is None:
                    continue
                # A chat held for the team's opening starts its SLA clock at the opening.
                started = wait_start(row.queued_at, row.not_before)
                waited = (u.now - started).total_seconds()
                if waited >= team.sla.first_response:
                    u.conn.execute(
                        update(table).where(table.c.id == row.id).values(sla_alerted=True)
                    )
                    u.note(row.id, "sla", f"no first response after {waited:.0f} s")
                    u.events.append(SlaBreached(row.id, row.team, waited))

        _, events = await self._run(work)
        return events

    async def _close_idle(self) -> list[Event]:
        table = store.conversations
        cutoff = self.clock.now() - timedelta(seconds=self.config.routing.idle_close_after)
        idle = await self._read(
            lambda conn: store.conversation_ids(
                conn, table.c.state.in_((C.BOT, C.ASSIGNED)), table.c.last_activity_at <= cutoff
            )
        )
        events: list[Event] = []
        for conversation_id in idle:
            events += (await self.close(conversation_id, reason="idle")).events
        return events
