"""When a schedule is open (SPEC §4.2 step 2): weekly hours, public holidays, dated overrides.

Every span boundary is "the first instant the local clock reads that time or later", so a 09:00
opening stays 09:00 local across a DST change, a boundary inside a spring-forward gap falls on the
transition, and an ambiguous (fall-back) time means its first occurrence. Day tables are computed
once per schedule and local date, so `is_open` is a dict lookup and a few comparisons.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from handoff.config import WEEKDAYS, Override, Schedule, Span

SEARCH_DAYS = 370  # next_opening/next_closing look this far ahead before giving up
_MAX_COMPILED = 256  # schedules kept compiled; a reload replaces them all

_Span = tuple[datetime, datetime]
_holiday_calendars: dict[tuple[str, str | None], holidays.HolidayBase] = {}


def _holiday_calendar(country: str, subdivision: str | None) -> holidays.HolidayBase:
    """One calendar per (country, subdivision); `expand` adds years as they are looked up."""
    key = (country, subdivision)
    if key not in _holiday_calendars:
        # Building a calendar is slow (tens of ms), so it is shared by every schedule.
        _holiday_calendars[key] = holidays.country_holidays(country, subdiv=subdivision)
    return _holiday_calendars[key]


@dataclass(frozen=True, slots=True)
class _Day:
    """One local day of a schedule: its hours and the instants they cover."""

    hours: tuple[Span, ...]
    spans: tuple[_Span, ...]
    bounds: tuple[tuple[float, float], ...]  # spans as POSIX timestamps, for fast comparison
    holiday: str | None


@dataclass(slots=True)
class _Compiled:
    schedule: Schedule
    tz: ZoneInfo
    weekly: tuple[tuple[Span, ...], ...]
    overrides: dict[date, Override]
    days: dict[date, _Day] = field(default_factory=dict)

    def day(self, day: date) -> _Day:
        if (cached := self.days.get(day)) is None:
            cached = self.days[day] = self._build(day)
        return cached

    def _build(self, day: date) -> _Day:
        holiday = None
        if self.schedule.holidays:
            calendar = _holiday_calendar(self.schedule.holidays, self.schedule.holiday_subdivision)
            holiday = calendar.get(day)
        if (override := self.overrides.get(day)) is not None:
            hours = tuple(override.hours)
        elif holiday is not None:
            hours = ()
        else:
            hours = self.weekly[day.weekday()]
        spans = tuple(
            (
                _first_instant(datetime.combine(day, span.start), self.tz),
                _first_instant(_end_wall_time(day, span), self.tz),
            )
            for span in hours
        )
        bounds = tuple((start.timestamp(), end.timestamp()) for start, end in spans)
        return _Day(hours, spans, bounds, holiday)


_compiled: dict[int, _Compiled] = {}


def _compile(schedule: Schedule) -> _Compiled:
    # Keyed by identity: config models hold dicts and lists, so they are not hashable.
    entry = _compiled.get(id(schedule))
    if entry is not None and entry.schedule is schedule:
        return entry
    if len(_compiled) >= _MAX_COMPILED:
        _compiled.clear()
    entry = _compiled[id(schedule)] = _Compiled(
        schedule=schedule,
        tz=ZoneInfo(schedule.timezone),
        weekly=tuple(tuple(schedule.hours.get(name, ())) for name in WEEKDAYS),
        overrides={o.date: o for o in schedule.overrides},
    )
    return entry


def _end_wall_time(day: date, span: Span) -> datetime:
    if span.end is None:  # 24:00 is the start of the next day
        return datetime.combine(day + timedelta(days=1), time())
    return datetime.combine(day, span.end)


def _first_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first instant at which the local clock reads `wall` or later."""
    aware = wall.replace(tzinfo=tz)  # fold=0: the first of two ambiguous instants
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:
        return aware
    # `wall` falls in a spring-forward gap: find the transition between the instant that
    # reads `wall` under the later offset (before the gap) and under the earlier one (after).
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = aware.astimezone(UTC)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0).astimezone(tz)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment!r}")


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether the schedule is open at this instant."""
    _require_aware(at)
    compiled = _compile(schedule)
    stamp = at.timestamp()
    bounds = compiled.day(at.astimezone(compiled.tz).date()).bounds
    return any(start <= stamp < end for start, end in bounds)


def _spans_from(compiled: _Compiled, after: float) -> Iterator[tuple[float, float, _Span]]:
    """Spans in order that end after the timestamp `after`, searching SEARCH_DAYS ahead."""
    first = datetime.fromtimestamp(after, compiled.tz).date()
    for offset in range(SEARCH_DAYS + 1):
        day = compiled.day(first + timedelta(days=offset))
        for (start, end), span in zip(day.bounds, day.spans, strict=True):
            if end > after:
                yield start, end, span


def next_opening(schedule: Schedule, after: datetime) -> datetime | None:
    """The first instant at or after `after` when the schedule is open; None if never."""
    _require_aware(after)
    stamp = after.timestamp()
    for start, _end, span in _spans_from(_compile(schedule), stamp):
        return after if start <= stamp else span[0]
    return None


def next_closing(schedule: Schedule, after: datetime) -> datetime | None:
    """The first instant at or after `after` when the schedule is closed; None if never.

    Spans that touch (Fri 22:00-24:00, Sat 00:00-06:00) count as one opening.
    """
    _require_aware(after)
    stamp = after.timestamp()
    closing: tuple[float, datetime] | None = None
    for start, end, span in _spans_from(_compile(schedule), stamp):
        if closing is None:
            if start > stamp:
                return after
        elif start != closing[0]:
            return closing[1]
        closing = (end, span[1])
    return after if closing is None else None


def opening_spans(schedule: Schedule, day: date) -> list[_Span]:
    """The open intervals of one local day, as aware datetimes in the schedule's timezone.

    Python compares two datetimes of one zone by wall clock, ignoring DST folds: compare
    these after `.astimezone(UTC)` or by `.timestamp()`.
    """
    return list(_compile(schedule).day(day).spans)


def hours_on(schedule: Schedule, day: date) -> list[Span]:
    """The wall-clock hours of one local day, holidays and overrides applied."""
    return list(_compile(schedule).day(day).hours)


def holiday_name(schedule: Schedule, day: date) -> str | None:
    """The public holiday on this local day in the schedule's country, if any."""
    return _compile(schedule).day(day).holiday


def override_on(schedule: Schedule, day: date) -> Override | None:
    """The dated override for this local day, if any."""
    return _compile(schedule).overrides.get(day)
