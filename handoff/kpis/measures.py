"""KPIs for a period (SPEC §4.4): pure functions over records the caller loads from storage.

No clock, no database: the period `[start, end)` (half-open) and all records are passed in.
What counts in a period:

- created / closed: `created_at` / `closed_at` in the period. Wait (queued → claimed):
  `assigned_at` in the period. First response (queued → first agent message): `first_response_at`
  in the period. A chat requeued after its first claim is queued anew (`queued_at` moves past
  `assigned_at` and `first_response_at`, which keep the first claim), so neither counts for it.
  A chat held for its team's opening waits from the opening (`wait_start`), as its SLA does.
  Handle time (claimed → closed), AHT, FCR, CSAT, transfers: closed in the period.
- FCR: share of closed conversations *an agent held* (`assigned_at` set) with no transfer and no
  reopen; ones the bot closed alone would inflate it. A reopen is another conversation of the same
  customer created within 24 h after the close: pass conversations created up to `end` + 24 h too.
- Per agent: offers created in the period, counted by current state; handled = closed in the period
  with the agent as `agent_id` (the last holder, who is also credited with time before a transfer).
- Utilization: |union of claimed → closed intervals ∩ shifts ∩ period| / |shifts ∩ period|, so
  overlapping conversations count once; an open conversation counts until `end` (pass end <= now).
- Fairness: per calendar day (in `start`'s timezone) and team, the Gini of that day's claims of the
  team's conversations among the team's agents on shift that day (a `ShiftRecord` overlapping it;
  idle ones count as zero) plus anyone else who claimed one. A team's value is the mean over days
  with at least one claim; teams without such a day are absent.

Percentiles use the nearest-rank method, so each one is a value actually observed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean
from typing import TypeVar

REOPEN_WINDOW = timedelta(hours=24)
GOOD_CSAT = 4  # scores 4 and 5 make up "CSAT %"

Interval = tuple[datetime, datetime]
T = TypeVar("T")
K = TypeVar("K")


def wait_start(queued_at: datetime, not_before: datetime | None) -> datetime:
    """When a chat's wait for an agent began: one held for its team's opening waits from the
    opening, as its SLA clock does."""
    return max(queued_at, not_before or queued_at)


def seconds_waited(queued_at: datetime, not_before: datetime | None, until: datetime) -> float:
    """Seconds from the start of a chat's wait (`wait_start`) to `until`; none for a chat an
    agent took before the opening it was held for."""
    return max(0.0, (until - wait_start(queued_at, not_before)).total_seconds())


@dataclass(frozen=True)
class ConversationRecord:
    id: int
    customer_id: int
    team: str
    agent_id: int | None
    created_at: datetime
    queued_at: datetime | None
    assigned_at: datetime | None
    first_response_at: datetime | None
    closed_at: datetime | None
    transfers: int
    csat: int | None
    not_before: datetime | None = None  # held for the team's opening until then
    agent_messages: int = 0  # what agents wrote to the customer
    assisted_messages: int = 0  # of which canned replies or suggested answers (handoff.canned)

    @property
    def waiting_since(self) -> datetime | None:
        return None if self.queued_at is None else wait_start(self.queued_at, self.not_before)


@dataclass(frozen=True)
class OfferRecord:
    conversation_id: int
    agent_id: int
    state: str  # pending, accepted, timed_out, declined or rescinded
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class ShiftRecord:
    agent_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Percentiles:
    """Nearest-rank percentiles in seconds; None when there is no data."""

    p50: float | None
    p90: float | None
    p99: float | None
    count: int


@dataclass(frozen=True)
class TeamKpis:
    created: int
    closed: int
    transfers: int
    reopens: int
    waits: Percentiles
    first_response: Percentiles
    handle_time: Percentiles
    mean_handle_seconds: float | None
    fcr: float | None  # share in [0, 1]
    csat_mean: float | None
    csat_share: float | None  # share of ratings that are 4 or 5
    csat_count: int
    assisted_share: float | None  # share of agents' messages that were canned or suggested
    mean_handle_assisted: float | None  # chats where an agent sent one, else …
    mean_handle_unassisted: float | None  # … where none was sent


@dataclass(frozen=True)
class AgentKpis:
    offers: int
    accepts: int
    timeouts: int
    declines: int
    rescinds: int
    handled: int
    mean_handle_seconds: float | None
    handling_seconds: float  # on shift and in the period, overlaps counted once
    on_shift_seconds: float
    utilization: float | None


@dataclass(frozen=True)
class Kpis:
    start: datetime
    end: datetime
    overall: TeamKpis
    by_team: dict[str, TeamKpis]
    by_agent: dict[int, AgentKpis]
    fairness: dict[str, float]


def percentiles(values: Iterable[float]) -> Percentiles:
    """p50, p90 and p99 by nearest rank: the least value with p% of the values at or below it."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return Percentiles(None, None, None, 0)

    def rank(p: int) -> float:
        return float(ordered[-(-p * n // 100) - 1])  # ceil(p * n / 100), in integers

    return Percentiles(rank(50), rank(90), rank(99), n)


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative values: 0 when even, (n-1)/n when one holds everything."""
    ordered = sorted(values)
    if ordered and ordered[0] < 0:
        raise ValueError(f"gini needs non-negative values, got {ordered[0]!r}")
    total = sum(ordered)
    if not total:
        return 0.0
    n = len(ordered)
    weighted = sum(rank * value for rank, value in enumerate(ordered, 1))
    # G = (2·Σ i·x_i − (n+1)·Σ x_i) / (n·Σ x_i), exact for integer counts until the division.
    return max(0.0, (2 * weighted - (n + 1) * total) / (n * total))


def _merged(
    intervals: Iterable[Interval], clip_start: datetime, clip_end: datetime
) -> list[Interval]:
    """Disjoint, sorted intervals covering the same time as `intervals` within the clip."""
    merged: list[Interval] = []
    for start, end in sorted((max(s, clip_start), min(e, clip_end)) for s, e in intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def interval_union_seconds(
    intervals: Iterable[Interval], clip_start: datetime, clip_end: datetime
) -> float:
    """Seconds covered by at least one interval, counting only time in [clip_start, clip_end)."""
    return sum(
        (end - start).total_seconds() for start, end in _merged(intervals, clip_start, clip_end)
    )


def _group_by(items: Iterable[T], key: Callable[[T], K]) -> defaultdict[K, list[T]]:
    groups: defaultdict[K, list[T]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return groups


def reopened_conversations(conversations: Iterable[ConversationRecord]) -> set[int]:
    """Ids of closed conversations whose customer opened another one within 24 h of the close."""
    reopened: set[int] = set()
    for own in _group_by(conversations, lambda c: c.customer_id).values():
        opened = sorted((c.created_at, c.id) for c in own)
        times = [created_at for created_at, _ in opened]
        for c in own:
            if c.closed_at is None:
                continue
            first = bisect_left(times, c.closed_at)
            last = bisect_right(times, c.closed_at + REOPEN_WINDOW)
            if any(other_id != c.id for _, other_id in opened[first:last]):
                reopened.add(c.id)
    return reopened


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


def _team_kpis(
    conversations: Sequence[ConversationRecord], reopened: set[int], start: datetime, end: datetime
) -> TeamKpis:
    def within(moment: datetime | None) -> bool:
        return moment is not None and start <= moment < end

    closed = [c for c in conversations if within(c.closed_at)]
    held = [c for c in closed if c.assigned_at is not None]
    handle_times = [_seconds(c.assigned_at, c.closed_at) for c in held]
    ratings = [c.csat for c in closed if c.csat is not None]
    written = sum(c.agent_messages for c in held)
    resolved = [c for c in held if c.transfers == 0 and c.id not in reopened]
    return TeamKpis(
        created=sum(within(c.created_at) for c in conversations),
        closed=len(closed),
        transfers=sum(c.transfers for c in closed),
        reopens=sum(c.id in reopened for c in closed),
        waits=percentiles(
            _seconds(c.waiting_since, c.assigned_at)
            for c in conversations
            if c.waiting_since is not None
            and within(c.assigned_at)
            and c.waiting_since <= c.assigned_at
        ),
        first_response=percentiles(
            _seconds(c.waiting_since, c.first_response_at)
            for c in conversations
            if c.waiting_since is not None
            and within(c.first_response_at)
            and c.waiting_since <= c.first_response_at
        ),
        handle_time=percentiles(handle_times),
        mean_handle_seconds=_mean(handle_times),
        fcr=_share(len(resolved), len(held)),
        csat_mean=_mean(ratings),
        csat_share=_share(sum(rating >= GOOD_CSAT for rating in ratings), len(ratings)),
        csat_count=len(ratings),
        assisted_share=_share(sum(c.assisted_messages for c in held), written),
        mean_handle_assisted=_mean(
            [t for c, t in zip(held, handle_times, strict=True) if c.assisted_messages]
        ),
        mean_handle_unassisted=_mean(
            [t for c, t in zip(held, handle_times, strict=True) if not c.assisted_messages]
        ),
    )


def _agent_kpis(
    conversations: Sequence[ConversationRecord],
    offers: Sequence[OfferRecord],
    shifts: Sequence[ShiftRecord],
    start: datetime,
    end: datetime,
) -> AgentKpis:
    states = Counter(o.state for o in offers if start <= o.created_at < end)
    claimed = [c for c in conversations if c.assigned_at is not None]
    handled = [c for c in claimed if c.closed_at is not None and start <= c.closed_at < end]
    on_shift = _merged(((s.start, s.end) for s in shifts), start, end)
    handling = [(c.assigned_at, c.closed_at or end) for c in claimed]
    # Shifts are disjoint once merged, so summing per shift counts no moment twice.
    busy = sum(interval_union_seconds(handling, s, e) for s, e in on_shift)
    on_shift_seconds = sum(_seconds(s, e) for s, e in on_shift)
    return AgentKpis(
        offers=states.total(),
        accepts=states["accepted"],
        timeouts=states["timed_out"],
        declines=states["declined"],
        rescinds=states["rescinded"],
        handled=len(handled),
        mean_handle_seconds=_mean([_seconds(c.assigned_at, c.closed_at) for c in handled]),
        handling_seconds=busy,
        on_shift_seconds=on_shift_seconds,
        utilization=busy / on_shift_seconds if on_shift_seconds else None,
    )


def _days(start: datetime, end: datetime) -> list[Interval]:
    """Calendar days in `start`'s timezone, clipped to the period."""
    days: list[Interval] = []
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while midnight < end:
        following = midnight + timedelta(days=1)  # wall-clock arithmetic: next local midnight
        days.append((max(midnight, start), min(following, end)))
        midnight = following
    return days


def _fairness(
    conversations: Sequence[ConversationRecord],
    shifts: Sequence[ShiftRecord],
    team_of_agent: Mapping[int, Sequence[str]],
    start: datetime,
    end: datetime,
) -> dict[str, float]:
    days = _days(start, end)
    day_starts = [day_start for day_start, _ in days]
    on_shift: dict[tuple[str, int], set[int]] = defaultdict(set)
    for shift in shifts:
        first = max(0, bisect_right(day_starts, shift.start) - 1)
        for day in range(first, bisect_left(day_starts, shift.end)):
            day_start, day_end = days[day]
            if shift.start < day_end and day_start < shift.end:
                for team in team_of_agent.get(shift.agent_id, ()):
                    on_shift[(team, day)].add(shift.agent_id)
    claims: dict[tuple[str, int], Counter[int]] = defaultdict(Counter)
    for c in conversations:
        if c.agent_id is not None and c.assigned_at is not None and start <= c.assigned_at < end:
            claims[(c.team, bisect_right(day_starts, c.assigned_at) - 1)][c.agent_id] += 1
    daily: dict[str, list[float]] = defaultdict(list)
    for (team, day), counts in claims.items():
        agents = on_shift[(team, day)] | counts.keys()
        daily[team].append(gini([counts[agent] for agent in agents]))
    return {team: fmean(values) for team, values in sorted(daily.items())}


def compute_kpis(
    conversations: Iterable[ConversationRecord],
    offers: Iterable[OfferRecord],
    shifts: Iterable[ShiftRecord],
    start: datetime,
    end: datetime,
    team_of_agent: Mapping[int, Sequence[str]],
) -> Kpis:
    """All KPIs of SPEC §4.4 for `[start, end)`; see the module docstring for what counts where."""
    conversations, offers, shifts = list(conversations), list(offers), list(shifts)
    reopened = reopened_conversations(conversations)

    by_team = _group_by(conversations, lambda c: c.team)
    by_agent = _group_by(conversations, lambda c: c.agent_id)
    offers_of = _group_by(offers, lambda o: o.agent_id)
    shifts_of = _group_by(shifts, lambda s: s.agent_id)
    teams = set(by_team) | {team for names in team_of_agent.values() for team in names}
    agents = (set(team_of_agent) | set(by_agent) | set(offers_of) | set(shifts_of)) - {None}
    return Kpis(
        start=start,
        end=end,
        overall=_team_kpis(conversations, reopened, start, end),
        by_team={t: _team_kpis(by_team[t], reopened, start, end) for t in sorted(teams)},
        by_agent={
            a: _agent_kpis(by_agent[a], offers_of[a], shifts_of[a], start, end)
            for a in sorted(agents)
        },
        fairness=_fairness(conversations, shifts, team_of_agent, start, end),
    )
