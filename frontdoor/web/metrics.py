"""/metrics (SPEC §9): the database read at each scrape, written out by the bot's registry
(frontdoor/web/prometheus.py).

The routing state comes from the live read model (`handoff.kpis.live`: a chat held for its team's
opening counts in frontdoor_held_conversations, not in the team's queue). Queue ages follow the
routing clock, as the rows they come from do; the inbox lag follows the wall clock, as
`received_at` does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from frontdoor.web.prometheus import Snapshot
from frontdoor.web.server import FRONTDOOR
from handoff.kpis.live import live
from telegram_io import inbox

if TYPE_CHECKING:
    from frontdoor.bootstrap import Frontdoor


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
    now, teams = frontdoor.clock.now(), list(frontdoor.config.teams)
    state, (unprocessed, oldest) = await frontdoor.database.read(
        lambda conn: (live(conn, teams, now), inbox.unprocessed(conn))
    )
    lag = 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    return Snapshot(
        teams=state.teams,
        conversations=state.conversations,
        offers=state.offers,
        agents=state.agents,
        outbox_depth=await frontdoor.outbox.pending(),
        outbox=frontdoor.outbox.stats,
        inbox_unprocessed=unprocessed,
        inbox_lag=lag,
        updates_handled=frontdoor.processor.handled,
        leading=frontdoor.workers.leading,
        config_reloads=frontdoor.reloads,
    )
