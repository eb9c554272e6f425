"""KPIs of a period read from the database: loads the records `handoff.metrics` computes over."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff import store
from handoff.metrics import (
    REOPEN_WINDOW,
    ConversationRecord,
    Kpis,
    OfferRecord,
    ShiftRecord,
    compute_kpis,
)
from handoff.tables import Csat, ShiftLog


async def load_kpis(engine: AsyncEngine, start: datetime, end: datetime) -> Kpis:
    """The KPIs of `[start, end)`; shifts still running are counted up to `end`."""
    conversations, csat, shifts = store.conversations, Csat.__table__, ShiftLog.__table__
    touched = or_(
        and_(conversations.c.created_at >= start, conversations.c.created_at < end + REOPEN_WINDOW),
        and_(conversations.c.closed_at >= start, conversations.c.closed_at < end),
        and_(conversations.c.assigned_at < end, conversations.c.closed_at.is_(None)),
    )
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(conversations, csat.c.score)
            .outerjoin(csat, csat.c.conversation_id == conversations.c.id)
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
                assigned_at=r.assigned_at,
                first_response_at=r.first_response_at,
                closed_at=r.closed_at,
                transfers=r.transfers,
                csat=r.score,
            )
            for r in rows
        ]
        offers = [
            OfferRecord(o.conversation_id, o.agent_id, o.state, o.created_at, o.resolved_at)
            for o in await conn.execute(
                select(store.offers).where(
                    store.offers.c.created_at >= start, store.offers.c.created_at < end
                )
            )
        ]
        shift_records = [
            ShiftRecord(s.agent_id, s.start, s.end or end)
            for s in await conn.execute(
                select(shifts).where(
                    shifts.c.start < end, or_(shifts.c.end.is_(None), shifts.c.end > start)
                )
            )
        ]
        teams: dict[int, list[str]] = {}
        for member in await conn.execute(select(store.agent_teams)):
            teams.setdefault(member.agent_id, []).append(member.team)
    return compute_kpis(records, offers, shift_records, start, end, teams)
