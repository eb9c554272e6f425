"""Managers' commands (SPEC §5.5): `/agents`, `/stats`, `/assign`, `/reload`."""

from __future__ import annotations

from agents_app import views
from agents_app.desk import CLAIM_ANSWERS, AgentDesk, parse_ref
from handoff.config import Agent
from handoff.kpis.formatting import duration, percent
from handoff.kpis.loading import load_today
from handoff.router import ClaimResult


async def agents(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    async with desk.router.engine.connect() as conn:
        rows = await views.agent_rows(conn)
    lines = []
    for row in rows:
        flags = [str(row.status), "on shift" if row.on_shift else "off shift"]
        if not row.reachable:
            flags.append("cannot be messaged")
        lines.append(f"{row.name}: {', '.join(flags)}, {row.load}/{row.capacity} chats")
    await desk.say(chat_id, "Agents:\n" + "\n".join(lines))


async def stats(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    """Today's overall row of the dashboard's report (`handoff.kpis.report`), in words."""
    report, _ = await load_today(desk.router.engine, desk.config, desk.router.clock.now())
    day = report.rows[0]
    async with desk.router.engine.connect() as conn:
        waiting_now = await views.waiting_count(conn)
    lines = [
        f"Today since {report.start:%H:%M %Z}: {day.created} chats, {day.closed} closed, "
        f"{waiting_now} waiting now",
        f"Wait p50 {duration(day.wait_p50_s)}, p90 {duration(day.wait_p90_s)}",
        f"First response p50 {duration(day.first_response_p50_s)}; "
        f"handle time {duration(day.aht_s)}",
        f"FCR {percent(day.fcr_pct)}; CSAT {day.csat_mean or '-'} "
        f"({day.csat_count} ratings, {percent(day.csat_good_pct)} happy)",
    ]
    await desk.say(chat_id, "\n".join(lines))


async def assign(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = parse_ref(args[0]) if args else None
    agent = desk.agent_named(args[1]) if len(args) == 2 else None
    if ref is None or agent is None:
        await desk.say(chat_id, "Write it as /assign #12 @agent (an agent in the config).")
        return
    outcome = await desk.router.assign(ref, agent.id)
    if outcome.result is ClaimResult.CLAIMED:
        over = any(getattr(e, "over_capacity", False) for e in outcome.events)
        note = " (over their capacity)" if over else ""
        await desk.say(chat_id, f"#{ref} assigned to {agent.name}{note}.")
    else:
        template = CLAIM_ANSWERS[ClaimResult(outcome.result)]
        await desk.say(chat_id, template.format(id=ref, holder=desk.name_of(outcome.holder_id)))


async def reload(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    if desk.reload is None:
        await desk.say(chat_id, "This bot was started without a config file to reload.")
        return
    await desk.say(chat_id, (await desk.reload()).message)
