"""KPIs of a period read from the database: loads, once, the records `handoff.kpis.measures` and
`handoff.kpis.report` compute over."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, or_, select

from handoff import store
from handoff.config import Config
from handoff.kpis.measures import REOPEN_WINDOW, ConversationRecord, OfferRecord, ShiftRecord
from handoff.kpis.report import (
    Hour,
    Records,
    Report,
    build_report,
    day_series,
    local_midnight,
    report_zone,
)
from handoff.tables import Csat, ShiftLog
from handoff.unit_of_work import Reader


def read_records(
    conn: Connection, start: datetime, end: datetime, now: datetime | None = None
) -> Records:
    """What the KPIs of `[start, end)` need: every conversation open at some time in the period
    (and those created up to a day after it, which tell reopens), its offers, and the shifts;
    a shift still running counts up to `end`, or to `now` if that comes first."""
    conversations, csat, shifts = store.conversations, Csat.__table__, ShiftLog.__table__
    touched = or_(
        and_(
            conversations.c.created_at < end,
            or_(conversations.c.closed_at.is_(None), conversations.c.closed_at >= start),
        ),
        and_(conversations.c.created_at >= start, conversations.c.created_at < end + REOPEN_WINDOW),
    )
    running_until = end if now is None else min(end, now)
    messages = store.messages
    written = (
        select(
            messages.c.conversation_id,
            messages.c.agent_id,
            func.count().label("agent_messages"),
            func.count(messages.c.reply_how).label("assisted_messages"),
        )
        .where(
            messages.c.sender == "agent",
            messages.c.conversation_id.in_(select(conversations.c.id).where(touched)),
        )
        .group_by(messages.c.conversation_id, messages.c.agent_id)
        .subquery()
    )
    rows = conn.execute(
        select(conversations, csat.c.score, written.c.agent_messages, written.c.assisted_messages)
        .outerjoin(csat, csat.c.conversation_id == conversations.c.id)
        # The holder's own messages: a chat counts for the agent who held it (transferred,
        # what the first agent wrote is theirs, not the holder's).
        .outerjoin(
            written,
            and_(
                written.c.conversation_id == conversations.c.id,
                written.c.agent_id == conversations.c.agent_id,
            ),
        )
        .where(touched, conversations.c.team.is_not(None))
    )
    records = [
        ConversationRecord(
            id=r.id,
            customer_id=r.customer_id,
            team=r.team,
            agent_id=r.agent_id,
            created_at=r.created_at,
            queued_at=r.queued_at,
            not_before=r.not_before,
            assigned_at=r.assigned_at,
            first_response_at=r.first_response_at,
            closed_at=r.closed_at,
            transfers=r.transfers,
            csat=r.score,
            agent_messages=r.agent_messages or 0,
            assisted_messages=r.assisted_messages or 0,
        )
        for r in rows
    ]
    offers = [
        OfferRecord(o.conversation_id, o.agent_id, o.state, o.created_at, o.resolved_at)
        for o in conn.execute(
            select(store.offers).where(
                store.offers.c.created_at >= start, store.offers.c.created_at < end
            )
        )
    ]
    shift_records = [
        ShiftRecord(s.agent_id, s.start, s.end or max(s.start, running_until))
        for s in conn.execute(
            select(shifts).where(
                shifts.c.start < end, or_(shifts.c.end.is_(None), shifts.c.end > start)
            )
        )
    ]
    teams: dict[int, list[str]] = {}
    for member in conn.execute(select(store.agent_teams)):
        teams.setdefault(member.agent_id, []).append(member.team)
    names = {a.id: a.name for a in conn.execute(select(store.agents.c.id, store.agents.c.name))}
    return Records(records, offers, shift_records, teams, names)


async def load_report(
    database: Reader, config: Config, start: datetime, end: datetime, now: datetime
) -> Report:
    """The report of `[start, end)` that `frontdoor report` prints and the dashboard serves."""
    records = await database.read(lambda conn: read_records(conn, start, end, now))
    # Computed in a thread: a long period takes seconds, and the bot's event loop goes on.
    return await asyncio.to_thread(
        build_report, records, start, end, report_zone(config), _team_names(config)
    )


async def load_today(database: Reader, config: Config, now: datetime) -> tuple[Report, list[Hour]]:
    """Today's report and its hours, from one load of the records. Today is the whole day in
    the report timezone: nothing has happened after `now` and running shifts stop there, so it
    is today so far, `now` included (a clock that stands still, as in tests, loses nothing)."""
    zone = report_zone(config)
    start = local_midnight(now, zone)
    end = local_midnight(start + timedelta(hours=36), zone)  # the next midnight, DST or not
    records = await database.read(lambda conn: read_records(conn, start, end, now))

    def compute() -> tuple[Report, list[Hour]]:
        report = build_report(records, start, end, zone, _team_names(config))
        return report, day_series(records.conversations, start.date(), zone, now)

    return await asyncio.to_thread(compute)


def _team_names(config: Config) -> dict[str, str]:
    return {key: team.name for key, team in config.teams.items()}
