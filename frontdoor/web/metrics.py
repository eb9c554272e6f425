"""/metrics (SPEC §9): the database read at each scrape, written out by the bot's registry
(frontdoor/web/prometheus.py).

The reads are COUNT/GROUP BY over indexed columns. Queue ages follow the routing clock, as the
rows they come from do; the inbox lag follows the wall clock, as `received_at` does. A chat held
for its team's opening (after hours) is not waiting yet: it counts in
frontdoor_held_conversations, not in the team's queue length or oldest wait, which would read 0
for it (its wait starts at the opening).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from frontdoor.web.prometheus import Snapshot, TeamQueue
from frontdoor.web.server import FRONTDOOR
from handoff.states import ConversationState
from handoff.store import WAIT_START, agents, conversations, offers
from telegram_io import inbox

if TYPE_CHECKING:
    from frontdoor.bootstrap import Frontdoor

WAITING = (ConversationState.QUEUED, ConversationState.OFFERED)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus scrape; 503 while the database does not answer."""
    frontdoor = request.app[FRONTDOOR]
    try:
        snapshot = await read_snapshot(frontdoor)
    except (SQLAlchemyError, OSError):
        return web.Response(status=503, text="database unreachable\n")
    body = frontdoor.metrics.render(snapshot)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def read_snapshot(frontdoor: Frontdoor) -> Snapshot:
    """What the database and the outbox say now."""
    now = frontdoor.clock.now()
    async with frontdoor.engine.connect() as conn:
        teams = await _team_queues(conn, list(frontdoor.config.teams), now)
        by_state = await _count_by(conn, conversations.c.state)
        offers_by_state = await _count_by(conn, offers.c.state)
        staff = await _agents(conn)
    unprocessed, oldest = await inbox.unprocessed(frontdoor.engine)
    lag = 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    return Snapshot(
        teams=teams,
        conversations=by_state,
        offers=offers_by_state,
        agents=staff,
        outbox_depth=await frontdoor.outbox.pending(),
        outbox=frontdoor.outbox.stats,
        inbox_unprocessed=unprocessed,
        inbox_lag=lag,
    )


async def _team_queues(
    conn: AsyncConnection, teams: list[str], now: datetime
) -> dict[str, TeamQueue]:
    """Each team's waiting chats, how long the first of them has waited, and its held chats;
    every configured team is present."""
    c = conversations.c
    held = and_(c.state.in_(WAITING), c.not_before > now)
    waiting = await conn.execute(
        select(c.team, func.count().label("n"), func.min(WAIT_START).label("since"))
        .where(c.state.in_(WAITING), or_(c.not_before.is_(None), c.not_before <= now))
        .group_by(c.team)
    )
    lines = {
        row.team: TeamQueue(row.n, max(0.0, (now - row.since).total_seconds())) for row in waiting
    }
    held_rows = await conn.execute(select(c.team, func.count()).where(held).group_by(c.team))
    for team, count in held_rows.tuples():
        line = lines.get(team, TeamQueue())
        lines[team] = TeamQueue(line.waiting, line.oldest, count)
    return {team: lines.get(team, TeamQueue()) for team in sorted(set(teams) | lines.keys())}


async def _count_by(conn: AsyncConnection, column: Any) -> dict[Any, int]:
    return dict((await conn.execute(select(column, func.count()).group_by(column))).tuples().all())


async def _agents(conn: AsyncConnection) -> dict[tuple[str, bool], int]:
    """Agents of the config, by status and on_shift."""
    a = agents.c
    rows = await conn.execute(
        select(a.status, a.on_shift, func.count().label("n"))
        .where(a.active.is_(True))
        .group_by(a.status, a.on_shift)
    )
    return {(row.status, bool(row.on_shift)): row.n for row in rows}
