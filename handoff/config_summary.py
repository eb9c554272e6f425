"""The summary `frontdoor check-config` prints for a valid config (SPEC §6).

Opening hours this week per team, agents per shift, and coverage gaps: times a team is open while
none of its agents is on shift.
"""

from __future__ import annotations

from collections.abc import Iterable, Sized
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import groupby
from zoneinfo import ZoneInfo

from handoff.config import WEEKDAYS, Config, Schedule
from handoff.hours import holiday_name, hours_on, is_open, opening_spans, override_on

DAYS_SHOWN = 7


@dataclass(frozen=True)
class Gap:
    """A stretch of time when `team` is open but none of its agents is on shift."""

    team: str
    start: datetime
    end: datetime


def _team_gaps(config: Config, team: str, start: datetime, end: datetime) -> list[Gap]:
    opening = config.schedules[config.teams[team].schedule]
    shifts = [config.schedules[a.shift] for a in config.agents if team in a.teams]
    # Coverage only changes where some span starts or ends, so testing each boundary suffices.
    moments = sorted({start, *_boundaries([opening, *shifts], start, end)})
    gaps: list[Gap] = []
    for here, following in zip(moments, [*moments[1:], end], strict=True):
        if not (is_open(opening, here) and not any(is_open(s, here) for s in shifts)):
            continue
        if gaps and gaps[-1].end == here:
            gaps[-1] = Gap(team, gaps[-1].start, following)
        else:
            gaps.append(Gap(team, here, following))
    return gaps


def _boundaries(schedules: Iterable[Schedule], start: datetime, end: datetime) -> set[datetime]:
    """Span starts and ends of these schedules strictly between `start` and `end`."""
    found: set[datetime] = set()
    for schedule in schedules:
        tz = ZoneInfo(schedule.timezone)
        day, last = start.astimezone(tz).date(), end.astimezone(tz).date()
        while day <= last:
            for span in opening_spans(schedule, day):
                found.update(moment for moment in span if start < moment < end)
            day += timedelta(days=1)
    return found


def summarize(config: Config, now: datetime) -> str:
    """The check-config report: counts, hours this week, agents per shift, coverage gaps."""
    sections = [_counts(config), _opening_hours(config, now), _shifts(config), _gaps(config, now)]
    return "\n\n".join(sections)


def _counts(config: Config) -> str:
    managers = sum(agent.manager for agent in config.agents)
    return (
        f"Config OK: {_count(config.teams, 'team')}, {_count(config.agents, 'agent')} "
        f"({_count(range(managers), 'manager')}), {_count(config.intents, 'intent')}, "
        f"{_count(config.replies, 'canned reply')}, {_count(config.schedules, 'schedule')}"
    )


def _count(items: Sized, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{len(items)} {noun if len(items) == 1 else plural}"


def _week(schedule: Schedule, now: datetime) -> tuple[datetime, datetime]:
    """Midnight of now's local date and seven days later, in the schedule's timezone."""
    tz = ZoneInfo(schedule.timezone)
    first = datetime.combine(now.astimezone(tz).date(), time(), tzinfo=tz)
    return first, datetime.combine(first.date() + timedelta(days=DAYS_SHOWN), time(), tzinfo=tz)


def _opening_hours(config: Config, now: datetime) -> str:
    lines = ["Opening hours this week"]
    for key, team in config.teams.items():
        schedule = config.schedules[team.schedule]
        first, _ = _week(schedule, now)
        zone = f"{schedule.timezone}, {first.tzname()}"
        lines.append(f"  {key} ({team.name}; schedule {team.schedule}, {zone}):")
        for offset in range(DAYS_SHOWN):
            day = first.date() + timedelta(days=offset)
            lines.append(f"    {_day_label(day)}  {_day_text(schedule, day)}")
    return "\n".join(lines)


def _day_label(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()].title()} {day.isoformat()}"


def _day_text(schedule: Schedule, day: date) -> str:
    hours = ", ".join(map(str, hours_on(schedule, day))) or "closed"
    notes = []
    if (override := override_on(schedule, day)) is not None:
        notes.append(f"override: {override.note}" if override.note else "override")
    if (holiday := holiday_name(schedule, day)) is not None:
        notes.append(f"holiday: {holiday}")
    return f"{hours:<26} {'; '.join(notes)}".rstrip()


def _shifts(config: Config) -> str:
    lines = ["Agents per shift"]
    by_shift = sorted(config.agents, key=lambda agent: agent.shift)
    for shift, agents in groupby(by_shift, key=lambda agent: agent.shift):
        lines.append(f"  {shift} ({_weekly_text(config.schedules[shift])}):")
        for agent in agents:
            handle = f", @{agent.username}" if agent.username else ""
            who = f"{agent.name} ({agent.id}{handle})"
            role = ", manager" if agent.manager else ""
            lines.append(
                f"    {who:<40} teams {', '.join(agent.teams)}; capacity {agent.capacity}{role}"
            )
    if not config.agents:
        lines.append("  no agents configured")
    return "\n".join(lines)


def _weekly_text(schedule: Schedule) -> str:
    """`Mon-Fri 08:00-17:00; Sat 08:00-12:00`: consecutive days with equal hours grouped."""
    days = [(name.title(), ", ".join(map(str, schedule.hours.get(name, [])))) for name in WEEKDAYS]
    parts = []
    for hours, run in groupby(days, key=lambda day: day[1]):
        names = [name for name, _ in run]
        if hours:
            label = names[0] if len(names) == 1 else f"{names[0]}-{names[-1]}"
            parts.append(f"{label} {hours}")
    return f"{schedule.timezone}: {'; '.join(parts) or 'never open'}"


def _gaps(config: Config, now: datetime) -> str:
    lines = ["Coverage gaps this week (team open, no agent of the team on shift)"]
    for key, team in config.teams.items():
        first, last = _week(config.schedules[team.schedule], now)
        gaps = _team_gaps(config, key, first, last)
        lines.extend(f"  {_gap_text(gap, first.tzinfo)}" for gap in gaps)
    if len(lines) == 1:
        lines.append("  none: every open hour has an agent on shift")
    return "\n".join(lines)


def _gap_text(gap: Gap, tz: tzinfo | None) -> str:
    """`billing: Sat 2026-11-28 13:00-15:00 WIB open, no agent on shift`."""
    start, end = gap.start.astimezone(tz), gap.end.astimezone(tz)
    if end.date() == start.date():
        when = f"{_day_label(start.date())} {start:%H:%M}-{end:%H:%M}"
    elif end.time() == time() and end.date() == start.date() + timedelta(days=1):
        when = f"{_day_label(start.date())} {start:%H:%M}-24:00"
    else:
        when = f"{_day_label(start.date())} {start:%H:%M} - {_day_label(end.date())} {end:%H:%M}"
    return f"{gap.team}: {when} {start.tzname()} open, no agent on shift"
