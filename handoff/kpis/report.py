"""One KPI report for a period (SPEC §4.4, §10): the rows `frontdoor report` prints and the
dashboard shows, built by one function from one set of records, so the two always agree.

A report has a row per scope (overall, each team, each agent), all with the same columns. The
conversation columns follow `handoff.kpis.measures` (what counts where is said there); an agent's row
covers the conversations they hold or held last, the ones `handled` credits them with. The
agent columns (offers … utilization) of a team add up its members (an agent of two teams counts
in both) and the overall row adds up every agent. Fairness is the Gini of a team's claims; the
overall row shows the mean over the teams that have one.

Values are rounded once here (seconds to 0.1, percentages to 0.1, CSAT to 0.01, Gini to 0.001),
so a table, a CSV file (`handoff.kpis.formatting`), JSON and the dashboard show the same numbers.
All pure: records in, rows out.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

from handoff.config import Config
from handoff.kpis.measures import (
    AgentKpis,
    ConversationRecord,
    Kpis,
    OfferRecord,
    ShiftRecord,
    TeamKpis,
    compute_kpis,
)

HOUR = timedelta(hours=1)
LONGEST_PERIOD = timedelta(days=366)  # a report is computed in one go, on the bot's event loop
FIRST_YEAR, LAST_YEAR = 2000, 2999
NOBODY = ""  # the holder key of conversations no agent claimed


@dataclass(frozen=True)
class Records:
    """Everything the KPIs of a period are computed from, as loaded once."""

    conversations: list[ConversationRecord]
    offers: list[OfferRecord]
    shifts: list[ShiftRecord]
    team_of_agent: dict[int, list[str]]
    agent_names: dict[int, str]


class Scope(StrEnum):
    OVERALL = "overall"
    TEAM = "team"
    AGENT = "agent"


@dataclass(frozen=True)
class Row:
    """One scope's KPIs; seconds, percentages in 0–100, None where there is nothing to measure."""

    scope: Scope
    key: str  # "all", the team's key or the agent's Telegram id
    name: str
    created: int
    closed: int
    wait_p50_s: float | None
    wait_p90_s: float | None
    first_response_p50_s: float | None
    first_response_p90_s: float | None
    aht_s: float | None  # mean handle time, claimed → closed
    handle_p50_s: float | None
    fcr_pct: float | None
    csat_mean: float | None
    csat_good_pct: float | None  # ratings of 4 or 5
    csat_count: int
    transfers: int
    assisted_pct: float | None  # agents' messages that were canned replies or suggested answers
    aht_assisted_s: float | None  # mean handle time of chats where an agent sent one …
    aht_unassisted_s: float | None  # … and of those where none was sent
    offers: int
    accepts: int
    timeouts: int
    handled: int
    utilization_pct: float | None
    fairness_gini: float | None


COLUMNS = tuple(f.name for f in fields(Row))


@dataclass(frozen=True)
class Report:
    start: datetime
    end: datetime
    timezone: str
    rows: list[Row]


@dataclass(frozen=True)
class Hour:
    """One hour of a day: conversations created and closed in it, its waits, and how many
    waited at its end (None for an hour that has not begun)."""

    start: datetime
    label: str  # local wall-clock time, "09:00"
    created: int
    closed: int
    wait_p50_s: float | None
    first_response_p50_s: float | None
    waiting: int | None


class PeriodError(ValueError):
    """A report period that cannot be read, or that is empty."""


def report_zone(config: Config) -> ZoneInfo:
    """The timezone reports and the dashboard's "today" use: the first team's schedule's."""
    first = next(iter(config.teams.values()))
    return ZoneInfo(config.schedules[first.schedule].timezone)


def local_midnight(moment: datetime, zone: ZoneInfo) -> datetime:
    """The start of `moment`'s day in `zone`."""
    return datetime.combine(moment.astimezone(zone).date(), time(), zone)


def parse_bound(text: str, zone: ZoneInfo, *, through_day: bool = False) -> datetime:
    """An ISO date (midnight in `zone`; the next midnight when `through_day`, so the date is
    included) or an ISO moment with its offset."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        _check_year(text, day.year)
        return datetime.combine(day + timedelta(days=through_day), time(), zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PeriodError(
            f"{text!r} is neither an ISO date (2026-11-24) nor a moment with its offset "
            "(2026-11-24T10:00+07:00)"
        ) from None
    if moment.tzinfo is None:
        raise PeriodError(f"{text!r} has no offset; write it as {text}+07:00 or {text}Z")
    _check_year(text, moment.year)
    return moment


def _check_year(text: str, year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(f"{text!r} is outside the years {FIRST_YEAR}-{LAST_YEAR}")


def report_period(
    start: str | None, end: str | None, zone: ZoneInfo, now: datetime
) -> tuple[datetime, datetime]:
    """`[start, end)` from the user's words: from today's midnight in `zone` to `now` unless
    given; a date given as the end counts whole."""
    until = now if end is None else parse_bound(end, zone, through_day=True)
    since = local_midnight(now, zone) if start is None else parse_bound(start, zone)
    if since >= until:
        raise PeriodError(
            f"the period is empty: from {since.isoformat()} is not before to {until.isoformat()}"
        )
    if until - since > LONGEST_PERIOD:
        raise PeriodError(
            f"a report covers at most {LONGEST_PERIOD.days} days; ask for the period in parts"
        )
    return since.astimezone(zone), until.astimezone(zone)


def kpis_of(records: Records, start: datetime, end: datetime) -> Kpis:
    return compute_kpis(
        records.conversations, records.offers, records.shifts, start, end, records.team_of_agent
    )


def _rounded(value: float | None, digits: int = 1, scale: float = 1.0) -> float | None:
    return None if value is None else round(value * scale, digits)


def _conversation_columns(kpis: TeamKpis) -> dict[str, Any]:
    return dict(
        created=kpis.created,
        closed=kpis.closed,
        wait_p50_s=_rounded(kpis.waits.p50),
        wait_p90_s=_rounded(kpis.waits.p90),
        first_response_p50_s=_rounded(kpis.first_response.p50),
        first_response_p90_s=_rounded(kpis.first_response.p90),
        aht_s=_rounded(kpis.mean_handle_seconds),
        handle_p50_s=_rounded(kpis.handle_time.p50),
        fcr_pct=_rounded(kpis.fcr, scale=100),
        csat_mean=_rounded(kpis.csat_mean, 2),
        csat_good_pct=_rounded(kpis.csat_share, scale=100),
        csat_count=kpis.csat_count,
        transfers=kpis.transfers,
        assisted_pct=_rounded(kpis.assisted_share, scale=100),
        aht_assisted_s=_rounded(kpis.mean_handle_assisted),
        aht_unassisted_s=_rounded(kpis.mean_handle_unassisted),
    )


def _agent_columns(agents: Sequence[AgentKpis]) -> dict[str, Any]:
    on_shift = sum(a.on_shift_seconds for a in agents)
    busy = sum(a.handling_seconds for a in agents)
    return dict(
        offers=sum(a.offers for a in agents),
        accepts=sum(a.accepts for a in agents),
        timeouts=sum(a.timeouts for a in agents),
        handled=sum(a.handled for a in agents),
        utilization_pct=_rounded(busy / on_shift if on_shift else None, scale=100),
    )


def _by_holder(records: Records, start: datetime, end: datetime) -> dict[str, TeamKpis]:
    """Conversation KPIs per agent holding them: the team KPIs with the holder as the "team";
    every conversation is passed, so a reopen with another agent (or none) still counts."""
    relabelled = [
        replace(c, team=NOBODY if c.agent_id is None else str(c.agent_id))
        for c in records.conversations
    ]
    return compute_kpis(relabelled, [], [], start, end, {}).by_team


def build_report(
    records: Records, start: datetime, end: datetime, zone: ZoneInfo, team_names: Mapping[str, str]
) -> Report:
    """The rows of `[start, end)`: overall, the teams (in `team_names`' order, then any other
    team met in the records), then the agents by name."""
    kpis = kpis_of(records, start, end)
    held = _by_holder(records, start, end)
    empty = compute_kpis([], [], [], start, end, {}).overall
    members: dict[str, list[AgentKpis]] = {}
    for agent, values in kpis.by_agent.items():
        for team in records.team_of_agent.get(agent, ()):
            members.setdefault(team, []).append(values)
    fairness = list(kpis.fairness.values())
    rows = [
        Row(
            scope=Scope.OVERALL,
            key="all",
            name="All",
            **_conversation_columns(kpis.overall),
            **_agent_columns(list(kpis.by_agent.values())),
            fairness_gini=_rounded(fmean(fairness) if fairness else None, 3),
        )
    ]
    teams = [t for t in team_names if t in kpis.by_team]
    teams += [t for t in kpis.by_team if t not in team_names]
    rows += [
        Row(
            scope=Scope.TEAM,
            key=team,
            name=team_names.get(team, team),
            **_conversation_columns(kpis.by_team[team]),
            **_agent_columns(members.get(team, [])),
            fairness_gini=_rounded(kpis.fairness.get(team), 3),
        )
        for team in teams
    ]
    names = {agent: records.agent_names.get(agent, str(agent)) for agent in kpis.by_agent}
    rows += [
        Row(
            scope=Scope.AGENT,
            key=str(agent),
            name=names[agent],
            **_conversation_columns(held.get(str(agent), empty)),
            **_agent_columns([kpis.by_agent[agent]]),
            fairness_gini=None,
        )
        for agent in sorted(kpis.by_agent, key=lambda a: (names[a], a))
    ]
    return Report(start, end, zone.key, rows)


def report_dict(report: Report) -> dict[str, object]:
    """The report as JSON-able data: the period's ends in the report's timezone, a dict per row."""
    zone = ZoneInfo(report.timezone)
    return {
        "start": report.start.astimezone(zone).isoformat(),
        "end": report.end.astimezone(zone).isoformat(),
        "timezone": report.timezone,
        "rows": [asdict(row) for row in report.rows],
    }


def _waiting_at(c: ConversationRecord, moment: datetime) -> bool:
    """In the queue just before `moment` (an hour's end): waiting for an agent before it (a chat
    held for its team's opening from the opening), not claimed since (a release queues it again
    after its claim), and not closed."""
    if c.waiting_since is None or c.waiting_since >= moment:
        return False
    if c.closed_at is not None and c.closed_at <= moment:
        return False
    return c.assigned_at is None or c.assigned_at < c.queued_at or c.assigned_at > moment


def day_series(
    conversations: Iterable[ConversationRecord], day: date, zone: ZoneInfo, now: datetime
) -> list[Hour]:
    """Hour by hour through a local day (23 to 25 hours), each hour's KPIs computed from the
    conversations with a moment in it, so the records are passed over about once."""
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    starts: list[datetime] = []
    moment = start.astimezone(UTC)  # hours counted in UTC: a day with a DST change stays right
    while moment < end:
        starts.append(moment)
        moment += HOUR
    buckets: list[list[ConversationRecord]] = [[] for _ in starts]
    conversations = list(conversations)
    for c in conversations:
        moments = (c.created_at, c.assigned_at, c.first_response_at, c.closed_at)
        hours = {bisect_right(starts, m) - 1 for m in moments if m is not None and start <= m < end}
        for hour in hours:
            buckets[hour].append(c)
    series = []
    for hour_start, bucket in zip(starts, buckets, strict=True):
        hour_end = min(hour_start + HOUR, end)
        overall = compute_kpis(bucket, [], [], hour_start, hour_end, {}).overall
        looked_at = min(hour_end, now)
        series.append(
            Hour(
                start=hour_start.astimezone(zone),
                label=f"{hour_start.astimezone(zone):%H:%M}",
                created=overall.created,
                closed=overall.closed,
                wait_p50_s=_rounded(overall.waits.p50),
                first_response_p50_s=_rounded(overall.first_response.p50),
                waiting=sum(_waiting_at(c, looked_at) for c in conversations)
                if hour_start <= now
                else None,
            )
        )
    return series


def hour_dict(hour: Hour) -> dict[str, object]:
    return asdict(hour) | {"start": hour.start.isoformat()}
