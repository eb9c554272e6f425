"""A profile fitted from the bot's own history (`frontdoor simulate --from-history`): how many chats
per intent asked for a person in each hour of the day (or of the week, given a week or more), how
long agents held them, how soon they claimed and how often an offer timed out, and how long
customers waited before they gave up."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from handoff import store
from handoff.simulation.engine import HOURS, HOURS_OF_WEEK
from handoff.simulation.profile import DAYS, DistributionSpec, PeopleSpec, Profile, Shape
from handoff.states import OfferState
from handoff.unit_of_work import Reader

MIN_HANDLED = 5  # chats an agent closed: fewer, and there is no handle time to fit


class NoHistory(ValueError):
    """The period holds too little to fit a profile from; the message says what is missing."""


def _rows(conn: Connection, start: datetime, end: datetime) -> tuple[list[Any], list[Any]]:
    """The conversations that asked for a person in `[start, end)`, and their offers."""
    chats = store.conversations
    found = conn.execute(
        select(
            chats.c.id,
            chats.c.customer_id,
            chats.c.intent,
            chats.c.queued_at,
            chats.c.assigned_at,
            chats.c.closed_at,
            chats.c.close_reason,
        ).where(chats.c.queued_at >= start, chats.c.queued_at < end)
    ).all()
    offers = store.offers
    made = conn.execute(
        select(offers.c.state, offers.c.created_at, offers.c.resolved_at).where(
            offers.c.created_at >= start, offers.c.created_at < end
        )
    ).all()
    return list(found), list(made)


def _lognormal(samples: list[float]) -> DistributionSpec:
    """The lognormal with these samples' mean and their logarithms' spread."""
    logs = [math.log(s) for s in samples if s > 0]
    sigma = statistics.pstdev(logs) if len(logs) > 1 else 0.5
    return DistributionSpec(
        mean=statistics.fmean(samples), shape=Shape.LOGNORMAL, sigma=max(sigma, 0.05)
    )


def _returning(chats: list[Any], window: float) -> float:
    """The share of chats whose customer had a chat closed by an agent within `window` seconds
    before (in the period: its first days count fewer than they had)."""
    last: dict[int, datetime] = {}
    back = 0
    for chat in sorted(chats, key=lambda c: c.queued_at):
        closed = last.get(chat.customer_id)
        if closed is not None and (chat.queued_at - closed).total_seconds() <= window:
            back += 1
        if chat.closed_at is not None and chat.close_reason == "agent":
            last[chat.customer_id] = chat.closed_at
    return back / len(chats) if chats else 0.0


def _arrivals(
    asked: list[Any], start: datetime, end: datetime, zone: ZoneInfo
) -> dict[str, float | list[float]]:
    """Chats per hour by intent: per hour of the week when the period holds each day of the
    week at least once, else per hour of the day."""
    days = (end - start).total_seconds() / 86400
    seen = Counter(
        (start + timedelta(days=d)).astimezone(zone).weekday() for d in range(math.floor(days))
    )
    weekly = len(seen) == len(DAYS)
    counts = Counter((c.intent, _hour(c.queued_at.astimezone(zone), weekly)) for c in asked)
    hours = range(HOURS_OF_WEEK if weekly else HOURS)
    return {
        intent: [
            round(counts[(intent, h)] / (seen[h // HOURS] if weekly else days), 3) for h in hours
        ]
        for intent in sorted({c.intent for c in asked})
    }


def _hour(moment: datetime, weekly: bool) -> int:
    return moment.weekday() * HOURS + moment.hour if weekly else moment.hour


def fit(
    chats: list[Any],
    offers: list[Any],
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    sticky_window: float = 72 * 3600.0,
) -> Profile:
    """The profile of a period's chats and offers."""
    asked = [c for c in chats if c.intent]
    if not asked:
        raise NoHistory("no chat asked for a person in that period")
    arrivals = _arrivals(asked, start, end, zone)
    handled = [
        (c.closed_at - c.assigned_at).total_seconds()
        for c in asked
        if c.assigned_at is not None and c.closed_at is not None and c.close_reason == "agent"
    ]
    if len(handled) < MIN_HANDLED:
        raise NoHistory(
            f"{len(handled)} chats closed by an agent in that period; "
            f"a handle time needs {MIN_HANDLED} at least"
        )
    claimed = [
        (o.resolved_at - o.created_at).total_seconds()
        for o in offers
        if o.state == OfferState.ACCEPTED and o.resolved_at is not None
    ]
    ended = [o for o in offers if o.state in (OfferState.ACCEPTED, OfferState.TIMED_OUT)]
    missed = sum(o.state == OfferState.TIMED_OUT for o in ended) / len(ended) if ended else 0.0
    # Patience, exponential, estimated with the waits that ended before it ran out (censored):
    # the time everyone waited, over the number who gave up.
    gave_up = sum(c.assigned_at is None and c.close_reason == "customer_cancel" for c in asked)
    waited = sum(
        ((c.assigned_at or c.closed_at) - c.queued_at).total_seconds()
        for c in asked
        if (c.assigned_at or c.closed_at) is not None
    )
    people = PeopleSpec(
        handle=_lognormal(handled),
        claim_delay=DistributionSpec(mean=statistics.fmean(claimed))
        if claimed
        else DistributionSpec(mean=0, shape=Shape.FIXED),
        miss=round(missed, 3),
        patience=DistributionSpec(mean=round(waited / gave_up, 1)) if gave_up else None,
        returning=round(_returning(asked, sticky_window), 3),
    )
    return Profile(people=people, arrivals=arrivals)


async def profile_from_history(
    database: Reader, start: datetime, end: datetime, zone: ZoneInfo, sticky_window: float
) -> Profile:
    """Fit a profile from the database's chats of `[start, end)` (NoHistory if too few)."""
    chats, offers = await database.read(lambda conn: _rows(conn, start, end))
    return fit(chats, offers, start, end, zone, sticky_window)
