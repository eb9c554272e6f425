"""Managers' commands (SPEC §5.5): `/agents`, `/stats`, `/assign`, `/reload`."""

from __future__ import annotations

from agents_app import views
from agents_app.desk import AgentDesk, parse_ref
from handoff.config import Agent, Config
from handoff.kpis.formatting import duration, percent
from handoff.kpis.loading import load_today
from handoff.reload import Reloaded
from handoff.router import ClaimResult
from telegram_io.calls import Call, Priority, send_text
from telegram_io.texts import say


async def agents(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    rows = await desk.read(views.agent_rows)
    lines = []
    for row in rows:
        flags = [
            desk.text(chat_id, f"status_{row.status}"),
            desk.text(chat_id, "on_shift" if row.on_shift else "off_shift"),
        ]
        if not row.reachable:
            flags.append(desk.text(chat_id, "cannot_be_messaged"))
        values = {"agent": row.name, "flags": ", ".join(flags)}
        lines.append(
            desk.text(chat_id, "agent_row", load=row.load, capacity=row.capacity, **values)
        )
    await desk.say(chat_id, "\n".join([desk.text(chat_id, "agents_heading"), *lines]))


async def stats(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    """Today's overall row of the dashboard's report (`handoff.kpis.report`), in words."""
    report, _ = await load_today(desk.router.database.reports, desk.config, desk.router.clock.now())
    day = report.rows[0]
    waiting_now = await desk.read(views.waiting_count)
    text = desk.text
    since = f"{report.start:%H:%M %Z}"
    lines = [
        text(chat_id, "stats_today", since=since, created=day.created, closed=day.closed,
             waiting=waiting_now),
        text(chat_id, "stats_wait", p50=duration(day.wait_p50_s), p90=duration(day.wait_p90_s)),
        text(chat_id, "stats_response", p50=duration(day.first_response_p50_s),
             aht=duration(day.aht_s)),
        text(chat_id, "stats_quality", fcr=percent(day.fcr_pct), csat=day.csat_mean or "-",
             ratings=day.csat_count, happy=percent(day.csat_good_pct)),
    ]  # fmt: skip
    await desk.say(chat_id, "\n".join(lines))


async def assign(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    ref = parse_ref(args[0]) if args else None
    agent = desk.agent_named(args[1]) if len(args) == 2 else None
    if ref is None or agent is None:
        await desk.tell(chat_id, "assign_usage")
        return
    outcome = await desk.router.assign(ref, agent.id)
    if outcome.result is ClaimResult.CLAIMED:
        over = any(getattr(e, "over_capacity", False) for e in outcome.events)
        note = desk.text(chat_id, "over_capacity_note") if over else ""
        await desk.tell(chat_id, "assigned", id=ref, agent=agent.name, note=note)
    else:
        result = ClaimResult(outcome.result)
        await desk.say(chat_id, desk.claim_text(chat_id, result, ref, outcome.holder_id))


async def reload(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    if desk.reload is None:
        await desk.tell(chat_id, "no_config_file")
        return
    reloaded = await desk.reload()
    await desk.say(chat_id, reload_text(desk.config, desk.language(chat_id), reloaded))


def reload_text(config: Config, language: str, reloaded: Reloaded) -> str:
    """How a reload went, in words a manager is told."""
    if reloaded.ok:
        settings = ", ".join(reloaded.at_restart)
        later = say(config, language, "reload_at_restart", settings=settings) if settings else ""
        counts = {"teams": reloaded.teams, "agents": reloaded.agents, "intents": reloaded.intents}
        return say(config, language, "reloaded", later=later, **counts)
    if reloaded.problem is None:
        return say(config, language, "not_reloaded_no_file")
    return say(config, language, "not_reloaded", problem=reloaded.problem)


def config_changed_notices(config: Config, reloaded: Reloaded) -> list[Call]:
    """The managers are told that the config file changed, and how its reload went."""
    calls = []
    for manager in (a for a in config.agents if a.manager):
        language = config.agent_language(manager.id)
        outcome = reload_text(config, language, reloaded)
        text = say(config, language, "config_file_changed", outcome=outcome)
        calls.append(send_text(manager.id, text, priority=Priority.AGENT))
    return calls
