"""The managers' dashboard (SPEC §9): the live queue, the agents, today's KPIs with charts, and
each conversation's routing trail, on the bot's web server behind the dashboard token.

Access: `GET /dashboard?token=T` (the link `frontdoor sandbox` prints) or the login form's POST
with the right token sets an HttpOnly, SameSite=Strict cookie and redirects to `/dashboard`, so
the token leaves the address bar and the history. The cookie holds an HMAC of the token, never
the token itself. A script may send `Authorization: Bearer T` instead. Without a configured token
the dashboard is refused to everyone.

The page (frontdoor/web/static/dashboard/) polls `/dashboard/api/overview`; `/dashboard/api/report` serves
the same report `frontdoor report --format json` prints, from the same function.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import Connection

from agents_app import views
from agents_app.cards import status_line, team_name
from frontdoor.web.server import FRONTDOOR
from handoff import store
from handoff.config import Config
from handoff.hours import hours_on
from handoff.kpis.loading import load_report, load_today
from handoff.kpis.measures import wait_start
from handoff.kpis.report import PeriodError, hour_dict, report_dict, report_period, report_zone

if TYPE_CHECKING:
    from frontdoor.bootstrap import Frontdoor

PAGE = "/dashboard"
API = f"{PAGE}/api"
STATIC = Path(__file__).parent / "static" / "dashboard"
ASSETS = ("dashboard.js", "dashboard.css")
COOKIE = "frontdoor_dashboard"
SESSION_LABEL = b"frontdoor dashboard session"
QUEUE_SHOWN = 200  # waiting conversations listed; the count covers them all
TRANSCRIPT_SHOWN = 200
TIMES = ("created_at", "queued_at", "assigned_at", "first_response_at", "closed_at")
CONVERSATION_ID = re.compile(r"^[0-9]{1,18}$")  # fits a 64-bit integer column
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
LOGIN_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Frontdoor dashboard: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Frontdoor dashboard</h1><p>{message}</p>
<form method="post" action="/dashboard">
<label>Dashboard token <input type="password" name="token" autocomplete="current-password"
autofocus required></label> <button type="submit">Sign in</button></form></body></html>
"""

RELOAD_HERE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0">
<title>Frontdoor dashboard</title></head><body><a href="/dashboard">Open the dashboard</a></body></html>
"""

Handler = Callable[[web.Request, "Frontdoor"], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application) -> None:
    app.router.add_get(PAGE, page)
    app.router.add_post(PAGE, sign_in)
    app.router.add_get(f"{PAGE}/static/{{name}}", _guarded(asset))
    app.router.add_get(f"{API}/overview", _guarded(overview))
    app.router.add_get(f"{API}/report", _guarded(report))
    app.router.add_get(f"{API}/conversations/{{id}}", _guarded(conversation))


# ---- access ---------------------------------------------------------------------------------


def session_value(token: str) -> str:
    """What the cookie holds: derived from the token, so the cookie never carries it."""
    return hmac.new(token.encode(), SESSION_LABEL, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def is_signed_in(request: web.Request, token: str) -> bool:
    """The request carries the session cookie or `Authorization: Bearer <token>`."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and _same(given.strip(), token):
        return True
    return _same(request.cookies.get(COOKIE, ""), session_value(token))


def _disabled_reason(config: Config) -> str:
    env = config.web.dashboard_token_env
    return f"dashboard disabled: set {env} (config.web.dashboard_token_env)"


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error": message}, status=status, headers={"Cache-Control": "no-store"}
    )


def _html(text: str, status: int) -> web.Response:
    return web.Response(
        text=text,
        content_type="text/html",
        status=status,
        headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
    )


def _login(message: str) -> web.Response:
    return _html(LOGIN_FORM.format(message=escape(message)), status=401)


def _guarded(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler for signed-in requests; a JSON error for the rest."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        frontdoor = request.app[FRONTDOOR]
        token = frontdoor.dashboard_token
        if token is None:
            return _error(403, _disabled_reason(frontdoor.config))
        if not is_signed_in(request, token):
            return _error(401, "sign in at /dashboard, or send Authorization: Bearer <token>")
        return await handler(request, frontdoor)

    return guarded


async def page(request: web.Request) -> web.StreamResponse:
    """The dashboard, the sign-in by link (`?token=`), or the login form."""
    frontdoor = request.app[FRONTDOOR]
    token = frontdoor.dashboard_token
    if token is None:
        return web.Response(text=_disabled_reason(frontdoor.config), status=403)
    given = request.query.get("token")
    if given is not None:
        return _signed_in(request, token) if _same(given, token) else _login("Wrong token.")
    if not is_signed_in(request, token):
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            # A navigation begun on another site (a link in a chat) carries no SameSite=Strict
            # cookie, even after our own redirect: load the page once more from here.
            return _html(RELOAD_HERE, status=200)
        return _login("Sign in with the dashboard token.")
    return web.FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


async def sign_in(request: web.Request) -> web.Response:
    """The login form's POST."""
    frontdoor = request.app[FRONTDOOR]
    token = frontdoor.dashboard_token
    if token is None:
        return web.Response(text=_disabled_reason(frontdoor.config), status=403)
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        return web.Response(text="Sign in from the dashboard's own page.", status=403)
    given = (await request.post()).get("token")
    if isinstance(given, str) and _same(given, token):
        return _signed_in(request, token)
    return _login("Wrong token.")


def _signed_in(request: web.Request, token: str) -> web.Response:
    """Set the session cookie and send the browser to the plain address (303: GET it)."""
    response = web.Response(
        status=303, headers={"Location": PAGE, "Referrer-Policy": "no-referrer"}
    )
    response.set_cookie(
        COOKIE,
        session_value(token),
        path=PAGE,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )
    return response


async def asset(request: web.Request, frontdoor: Frontdoor) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in ASSETS:
        return _error(404, f"no such file: {name}")
    return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})


# ---- data -----------------------------------------------------------------------------------


async def overview(request: web.Request, frontdoor: Frontdoor) -> web.Response:
    """Now: the queue, the agents, and today's report with its hours."""
    config, now = frontdoor.config, frontdoor.clock.now()
    zone = report_zone(config)
    waiting, waiting_total, agents = await frontdoor.database.read(
        lambda conn: (
            views.waiting(conn, QUEUE_SHOWN, by_team=False),
            views.waiting_count(conn),
            views.agent_rows(conn),
        )
    )
    today, hours = await load_today(frontdoor.database.reports, config, now)
    return _data(
        {
            "now": now.astimezone(zone).isoformat(),
            "timezone": zone.key,
            "queue": [_queue_entry(view, config, now) for view in waiting],
            "queue_total": waiting_total,
            "agents": [_agent_entry(row, config, now) for row in agents],
            "today": report_dict(today),
            "day": [hour_dict(hour) for hour in hours],
        }
    )


async def report(request: web.Request, frontdoor: Frontdoor) -> web.Response:
    """`?from=…&to=…` as `frontdoor report` reads them; the same report dict it prints."""
    config, now = frontdoor.config, frontdoor.clock.now()
    try:
        start, end = report_period(
            request.query.get("from"), request.query.get("to"), report_zone(config), now
        )
    except PeriodError as error:
        return _error(400, str(error))
    return _data(
        report_dict(await load_report(frontdoor.database.reports, config, start, end, now))
    )


async def conversation(request: web.Request, frontdoor: Frontdoor) -> web.Response:
    """One conversation: where it stands, its times, its routing trail and its transcript."""
    ref = request.match_info["id"]
    if not CONVERSATION_ID.match(ref):
        return _error(400, f"a conversation id is a number, such as 12; got {ref!r}")
    conversation_id = int(ref)

    def read(conn: Connection) -> tuple[Any, list[views.CardView], list[Any], list[views.Line]]:
        return (
            store.get_conversation(conn, conversation_id),
            views.card_views(conn, [conversation_id]),
            views.trail(conn, conversation_id),
            views.transcript(conn, conversation_id, TRANSCRIPT_SHOWN),
        )

    row, found, steps, lines = await frontdoor.database.read(read)
    if row is None or not found:
        return _error(404, f"no conversation #{conversation_id}")
    view, config = found[0], frontdoor.config
    return _data(
        {
            "id": conversation_id,
            "state": view.state,
            "status": status_line(view, config, frontdoor.clock.now()),
            "team": view.team,
            "team_name": team_name(config, view.team),
            "intent": view.intent,
            "priority": view.priority,
            "customer": {"id": view.customer_id, "name": view.customer_name, "vip": view.is_vip},
            "agent": _person(view.holder),
            "offered_to": _person(view.offered_to),
            "transfers": row.transfers,
            "close_reason": row.close_reason,
            "times": {name: _iso(getattr(row, name)) for name in TIMES},
            "trail": [{"at": _iso(at), "kind": kind, "reason": why} for at, kind, why in steps],
            "transcript": [
                {"at": _iso(line.at), "sender": line.sender, "kind": line.kind, "text": line.text}
                for line in lines
            ],
        }
    )


def _data(body: dict[str, Any]) -> web.Response:
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _person(person: views.Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"id": person.id, "name": person.name, "username": person.username}


def _queue_entry(view: views.CardView, config: Config, now: datetime) -> dict[str, Any]:
    """A waiting conversation as the queue table shows it; one held for its team's opening
    starts waiting then."""
    held = view.not_before is not None and view.not_before > now
    since = now if view.queued_at is None else wait_start(view.queued_at, view.not_before)
    return {
        "id": view.conversation_id,
        "customer": view.customer_name,
        "team": view.team,
        "team_name": team_name(config, view.team),
        "intent": view.intent,
        "priority": view.priority,
        "vip": view.is_vip,
        "lead": view.is_lead,
        "state": "held" if held else view.state,
        "held_until": _iso(view.not_before) if held else None,
        "offered_to": _person(view.offered_to),
        "offer_deadline": _iso(view.offer_deadline),
        "status": status_line(view, config, now),
        "queued_at": _iso(view.queued_at),
        "waiting_seconds": 0.0 if held else max(0.0, (now - since).total_seconds()),
    }


def _agent_entry(row: Any, config: Config, now: datetime) -> dict[str, Any]:
    """An agent as the agents table shows them, with their shift's hours today (in its zone)."""
    spec = config.agent(row.id)
    shift = None
    if spec is not None:
        schedule = config.schedules[spec.shift]
        today = now.astimezone(ZoneInfo(schedule.timezone)).date()
        shift = {
            "schedule": spec.shift,
            "timezone": schedule.timezone,
            "today": [str(span) for span in hours_on(schedule, today)],
        }
    return {
        "id": row.id,
        "name": row.name,
        "username": row.username,
        "teams": list(spec.teams) if spec is not None else [],
        "manager": row.is_manager,
        "status": row.status,
        "on_shift": row.on_shift,
        "reachable": row.reachable,
        "load": row.load,
        "capacity": row.capacity,
        "pending_offers": row.pending_offers,
        "shift": shift,
    }
