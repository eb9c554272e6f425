"""Health and metrics on the bot's web server (SPEC §9): /healthz, /readyz and /metrics.

/healthz answers while the process serves (liveness, no I/O). /readyz asks the database for
`SELECT 1` and Telegram for getMe, each within a short timeout; a successful getMe stands for a
few seconds, so a scraper polling /readyz cannot flood Telegram. Neither answer ever carries the
bot token or a password, even when an error message quotes a URL.

/metrics is Prometheus' text format (frontdoor/web/prometheus.py), read at each scrape with COUNT/GROUP BY
over indexed columns. Queue ages and waits follow the routing clock, as the rows they come from
do; the inbox lag follows the wall clock, as `received_at` does. `frontdoor_wait_seconds` covers
conversations assigned in the last 24 hours: a sliding window, not "since midnight UTC", which is
no team's midnight and would empty the summary mid-shift. Its _sum and _count cover the same
window, so they fall as old waits leave it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from telegram import Bot
from telegram.error import NetworkError, TelegramError

from frontdoor.web.prometheus import CONTENT_TYPE, Family, Kind, one_value, render, summary
from frontdoor.web.server import FRONTDOOR
from handoff.kpis.measures import percentiles, wait_start
from handoff.states import AgentStatus, ConversationState, OfferState
from handoff.store import WAIT_START, agents, conversations, offers
from telegram_io import inbox

if TYPE_CHECKING:
    from frontdoor.bootstrap import Frontdoor

OK = "ok"
DATABASE_TIMEOUT = 2.0  # seconds
TELEGRAM_TIMEOUT = 3.0
TELEGRAM_OK_FOR = 5.0  # seconds a successful getMe stands for the next /readyz
WAIT_WINDOW = timedelta(hours=24)
WAITING = (ConversationState.QUEUED, ConversationState.OFFERED)
# Where a conversation can be once assigned and not closed (released ones queue again).
ONCE_ASSIGNED = (*WAITING, ConversationState.ASSIGNED)
TELEGRAM_CHECK: web.AppKey[TelegramCheck] = web.AppKey("telegram_check")


def add_routes(app: web.Application) -> None:
    app[TELEGRAM_CHECK] = TelegramCheck()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process serves requests."""
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 when the database and Telegram both answer, else 503 naming each check."""
    frontdoor = request.app[FRONTDOOR]
    database, telegram = await asyncio.gather(
        check_database(frontdoor.engine),
        request.app[TELEGRAM_CHECK].run(frontdoor.application.bot),
    )
    secrets = (
        frontdoor.token,
        frontdoor.token.partition(":")[2],  # the token's secret half, should the rest be encoded
        frontdoor.engine.url.password,
        frontdoor.webhook_secret,
        frontdoor.dashboard_token,
    )
    checks = {"database": redact(database, secrets), "telegram": redact(telegram, secrets)}
    ready = database == OK and telegram == OK
    return web.json_response({"ok": ready, "checks": checks}, status=200 if ready else 503)


async def check_database(engine: AsyncEngine) -> str:
    """OK, or why the database did not answer `SELECT 1`."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except TimeoutError:  # before OSError, its base class
        return f"unreachable: no answer within {DATABASE_TIMEOUT:g} s"
    except DBAPIError as error:
        return f"unreachable: {error.orig}"  # the driver's words, without SQLAlchemy's SQL
    except (SQLAlchemyError, OSError) as error:
        return f"unreachable: {str(error) or type(error).__name__}"
    return OK


class TelegramCheck:
    """getMe within a timeout; a success stands for TELEGRAM_OK_FOR seconds."""

    def __init__(self) -> None:
        self._ok_until = 0.0  # time.monotonic() until which the last success stands

    async def run(self, bot: Bot) -> str:
        """OK, or why Telegram (the Bot API server the bot uses) did not answer getMe."""
        if time.monotonic() < self._ok_until:
            return OK
        try:
            async with asyncio.timeout(TELEGRAM_TIMEOUT):
                await bot.get_me()
        except TimeoutError:
            return f"unreachable: no answer within {TELEGRAM_TIMEOUT:g} s"
        except NetworkError as error:  # 5xx, timeouts, no connection
            return f"unreachable: {error}"
        except TelegramError as error:  # a refusal: a revoked token, say
            return f"refused: {error}"
        self._ok_until = time.monotonic() + TELEGRAM_OK_FOR
        return OK


def redact(message: str, secrets: tuple[str | None, ...]) -> str:
    """The message with every secret in it blotted out (PTB's errors may quote the call's URL,
    which holds the token; a database error may quote its URL)."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus scrape; 503 while the database does not answer."""
    try:
        families = await read_metrics(request.app[FRONTDOOR])
    except (SQLAlchemyError, OSError):
        return web.Response(status=503, text="database unreachable\n")
    return web.Response(body=render(families).encode(), headers={"Content-Type": CONTENT_TYPE})


async def read_metrics(frontdoor: Frontdoor) -> list[Family]:
    """Every metric family, read now."""
    now = frontdoor.clock.now()
    async with frontdoor.engine.connect() as conn:
        families = [
            *await _queue_families(conn, list(frontdoor.config.teams), now),
            await _wait_summary(conn, now - WAIT_WINDOW),
            *await _offer_families(conn),
            await _counts(
                conn,
                conversations.c.state,
                ConversationState,
                Family("frontdoor_conversations", Kind.GAUGE, "Conversations, by state."),
                "state",
            ),
            await _agent_family(conn),
        ]
    return [*families, *await _pipeline_families(frontdoor)]


async def _queue_families(conn: AsyncConnection, teams: list[str], now: datetime) -> list[Family]:
    """Waiting conversations per team, and how long the first of them has waited; every
    configured team is present."""
    c = conversations.c
    rows = await conn.execute(
        select(c.team, func.count().label("waiting"), func.min(WAIT_START).label("since"))
        .where(c.state.in_(WAITING))
        .group_by(c.team)
    )
    found = {row.team: row for row in rows}
    length = Family(
        "frontdoor_queue_length", Kind.GAUGE, "Conversations waiting (queued or offered), by team."
    )
    oldest = Family(
        "frontdoor_waiting_oldest_seconds",
        Kind.GAUGE,
        "How long the team's longest-waiting conversation has waited (0 when none waits).",
    )
    for team in sorted(set(teams) | found.keys()):
        row = found.get(team)
        length.add(row.waiting if row else 0, team=team)
        oldest.add(max(0.0, (now - row.since).total_seconds()) if row else 0, team=team)
    return [length, oldest]


async def _wait_summary(conn: AsyncConnection, since: datetime) -> Family:
    """Queued → assigned of the conversations assigned since `since`. The state/closed_at
    condition adds nothing but lets the indexes bound the scan to open and recently closed
    conversations. One requeued after its first claim has a later `queued_at` than `assigned_at`
    (which keeps the first claim): its first wait is gone, so it is left out. A chat held for
    its team's opening waits from the opening (`wait_start`)."""
    c = conversations.c
    rows = await conn.execute(
        select(c.queued_at, c.not_before, c.assigned_at).where(
            or_(c.state.in_(ONCE_ASSIGNED), c.closed_at >= since),
            c.assigned_at >= since,
            c.assigned_at >= c.queued_at,
        )
    )
    starts = [(wait_start(row.queued_at, row.not_before), row.assigned_at) for row in rows]
    waits = [(claimed - start).total_seconds() for start, claimed in starts if start <= claimed]
    found = percentiles(waits)
    return summary(
        "frontdoor_wait_seconds",
        "Wait from queued to assigned of conversations assigned in the last 24 hours.",
        {0.5: found.p50, 0.9: found.p90, 0.99: found.p99},
        sum(waits),
        found.count,
    )


async def _count_by(conn: AsyncConnection, column: Any) -> dict[Any, int]:
    return dict((await conn.execute(select(column, func.count()).group_by(column))).tuples().all())


async def _counts(
    conn: AsyncConnection, column: Any, values: type[StrEnum], family: Family, label: str
) -> Family:
    """`family` with the number of rows per value of `column`, every value present."""
    found = await _count_by(conn, column)
    for value in values:
        family.add(found.get(value, 0), **{label: value})
    return family


async def _offer_families(conn: AsyncConnection) -> list[Family]:
    """Ended offers by outcome (a counter: an ended offer never changes again) and the pending
    ones (a gauge: they end)."""
    found = await _count_by(conn, offers.c.state)
    ended = Family("frontdoor_offers_total", Kind.COUNTER, "Offers ended, by outcome.")
    for state in OfferState:
        if state is not OfferState.PENDING:
            ended.add(found.get(state, 0), outcome=state)
    pending = one_value(
        "frontdoor_offers_pending",
        Kind.GAUGE,
        "Offers waiting for the agent's answer.",
        found.get(OfferState.PENDING, 0),
    )
    return [ended, pending]


async def _agent_family(conn: AsyncConnection) -> Family:
    """Agents of the config, by status and on_shift; every combination present."""
    a = agents.c
    rows = await conn.execute(
        select(a.status, a.on_shift, func.count().label("n"))
        .where(a.active.is_(True))
        .group_by(a.status, a.on_shift)
    )
    found = {(row.status, bool(row.on_shift)): row.n for row in rows}
    family = Family("frontdoor_agents", Kind.GAUGE, "Agents of the config, by status and shift.")
    for status in AgentStatus:
        for on_shift in (True, False):
            count = found.get((status, on_shift), 0)
            family.add(count, status=status, on_shift=str(on_shift).lower())
    return family


async def _pipeline_families(frontdoor: Frontdoor) -> list[Family]:
    """The outbox and the inbox: stored rows, and the outbox's counters since the process began."""
    stats = frontdoor.outbox.stats
    waiting, oldest = await inbox.unprocessed(frontdoor.engine)
    lag = 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    return [
        one_value(
            "frontdoor_outbox_depth",
            Kind.GAUGE,
            "Bot API calls stored and not yet sent.",
            await frontdoor.outbox.pending(),
        ),
        one_value(
            "frontdoor_outbox_sent_total",
            Kind.COUNTER,
            "Bot API calls this process has sent.",
            stats.sent,
        ),
        one_value(
            "frontdoor_outbox_retried_total",
            Kind.COUNTER,
            "Bot API calls this process is to try again (5xx answers, timeouts).",
            stats.retried,
        ),
        one_value(
            "frontdoor_telegram_429_total",
            Kind.COUNTER,
            "Bot API calls of this process answered 429 Too Many Requests.",
            stats.too_many_requests,
        ),
        one_value(
            "frontdoor_outbox_failed_total",
            Kind.COUNTER,
            "Bot API calls this process has given up on (403, 400, out of attempts).",
            stats.failed,
        ),
        one_value(
            "frontdoor_inbox_unprocessed",
            Kind.GAUGE,
            "Updates stored and not yet processed.",
            waiting,
        ),
        one_value(
            "frontdoor_inbox_lag_seconds",
            Kind.GAUGE,
            "Age of the oldest update stored and not yet processed (0 when none).",
            lag,
        ),
    ]
