"""The staffing search of `frontdoor simulate --staffing`: the fewest agents on shift per team and
hour that answer a target share of its chats within the team's SLA.

The first guess per hour is Erlang C's (the hour's expected chats, the mean handle time, an
agent's slots as servers); the days are then simulated on the real router with each team staffed
by that many agents per hour, and an hour that falls short gets an agent more, round after round,
until every hour meets the target. Erlang C cannot see Frontdoor's rules (claim delays, missed
offers, sticky agents, overflow, a queue carried from one hour to the next), the simulation can.
An hour where an agent more did not raise the share answered in time keeps the agents it had and
is reported as short: its waits are not for want of agents (claims slower than the SLA, say).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handoff.config import Agent, Config, Schedule, Span
from handoff.hours import is_open
from handoff.kpis.report import report_zone
from handoff.simulation.engine import HOURS, Arrivals, Chat, People, Simulation
from handoff.simulation.report import as_minutes

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TARGET = 0.8
MAX_ROUNDS = 8
# The staffed agents' ids: they replace all of the config's agents, and stay below the ids the
# simulation gives its customers (10**9 and up).
STAFF_IDS = 9 * 10**8
Hour = tuple[str, int, int]  # a team's hour of the week: team, weekday (Monday 0), hour


@dataclass(frozen=True)
class HourNeed:
    """One team's hour of the week: the agents it needs, those the config has on shift, and the
    share answered in time with the agents it needs."""

    team: str
    day: str  # mon … sun
    hour: int
    needed: int
    on_shift: int
    chats: int
    service_level: float | None  # answered within the SLA, of the chats that came
    met: bool  # the target reached with `needed`


@dataclass(frozen=True)
class Staffing:
    target: float  # the share to answer within each team's SLA
    rounds: int  # simulations run
    capacity: Mapping[str, int]  # the slots of a team's agent
    hours: list[HourNeed]


def erlang_c_agents(
    per_hour: float, handle: float, within: float, target: float, capacity: int
) -> int:
    """The fewest agents of `capacity` slots each for which Erlang C answers `target` of
    `per_hour` chats (mean handle time `handle` seconds) within `within` seconds."""
    if per_hour <= 0:
        return 0
    load = per_hour * handle / 3600  # Erlangs
    blocked, servers = 1.0, 0  # Erlang B, by its recursion
    while True:
        servers += 1
        blocked = load * blocked / (servers + load * blocked)
        if servers <= load:
            continue
        waits = servers * blocked / (servers - load * (1 - blocked))
        level = 1 - waits * math.exp(-(servers - load) * within / max(handle, 1e-9))
        if level >= target:
            return math.ceil(servers / capacity)


def _team_capacity(config: Config, team: str) -> int:
    """The slots of a team's agent: what most of its agents have (the default if it has none)."""
    found = Counter(agent.capacity for agent in config.agents if team in agent.teams)
    return found.most_common(1)[0][0] if found else Agent.model_fields["capacity"].default


def hours_between(start: datetime, end: datetime, zone: ZoneInfo) -> Iterable[datetime]:
    """The start of each hour (company time) from the one `start` falls in to `end`: counted in
    UTC, so a clock change neither repeats nor invents an hour."""
    moment = start.astimezone(zone).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    while moment < end:
        yield moment.astimezone(zone)
        moment += timedelta(hours=1)


def _open_in(schedule: Schedule, hour: datetime) -> bool:
    """Whether the schedule is open at any minute of the hour starting at `hour`."""
    return any(is_open(schedule, hour + timedelta(minutes=m)) for m in range(60))


def _open_hours(config: Config, start: datetime, end: datetime) -> dict[Hour, list[datetime]]:
    """Each team's hours of the week it is open (for a minute or more) from `start` to `end`,
    with the moments those hours start."""
    zone = report_zone(config)
    found: dict[Hour, list[datetime]] = {}
    for moment in hours_between(start, end, zone):
        for name, team in config.teams.items():
            if _open_in(config.schedules[team.schedule], moment):
                found.setdefault((name, moment.weekday(), moment.hour), []).append(moment)
    return found


def _first_guess(
    config: Config,
    arrivals: Arrivals,
    people: People,
    hours: Mapping[Hour, list[datetime]],
    target: float,
) -> dict[Hour, int]:
    """Erlang C's agents for each team's open hour, from the chats its intents bring."""
    guess = {}
    for (team, weekday, hour), moments in hours.items():
        intents = [i for i in arrivals.per_hour if config.intents[i].team == team]
        per_hour = sum(arrivals.rate(i, m) for i in intents for m in moments) / len(moments)
        within = max(config.teams[team].sla.first_response - people.claim_delay.mean, 0.0)
        guess[(team, weekday, hour)] = erlang_c_agents(
            per_hour, people.handle.mean, within, target, _team_capacity(config, team)
        )
    return guess


def _spans(hours: Iterable[int]) -> list[Span]:
    """Whole hours of a day as the fewest spans."""
    spans: list[Span] = []
    for hour in sorted(hours):
        end = None if hour + 1 == HOURS else time(hour + 1)
        if spans and spans[-1].end == time(hour):
            spans[-1] = Span(start=spans[-1].start, end=end)
        else:
            spans.append(Span(start=time(hour), end=end))
    return spans


def staffed(config: Config, plan: Mapping[Hour, int]) -> Config:
    """`config` with its agents replaced by each team's `plan`: agent k of a team is on shift in
    the hours that need more than k (one team each, the team's usual capacity)."""
    zone = str(report_zone(config))
    agents, schedules = [], dict(config.schedules)
    for team in sorted({team for team, _, _ in plan}):
        most = max(n for (t, _, _), n in plan.items() if t == team)
        for k in range(most):
            week: dict[str, list[Span]] = {}
            for weekday, day in enumerate(DAYS):
                spans = _spans(
                    h for (t, d, h), n in plan.items() if (t, d) == (team, weekday) and n > k
                )
                if spans:
                    week[day] = spans
            shift = f"staffing:{team}:{k + 1}"
            schedules[shift] = Schedule(timezone=zone, hours=week)  # type: ignore[arg-type]
            agents.append(
                Agent(
                    id=STAFF_IDS + len(agents) + 1,
                    name=f"{team} {k + 1}",
                    teams=[team],
                    capacity=_team_capacity(config, team),
                    shift=shift,
                )
            )
    return config.model_copy(update={"agents": agents, "schedules": schedules})


def _on_shift(config: Config, team: str, hours: list[datetime]) -> int:
    """The config's agents of `team` on shift in that hour, for a minute or more (the most of
    its days)."""
    return max(
        sum(
            1
            for agent in config.agents
            if team in agent.teams and _open_in(config.schedules[agent.shift], hour)
        )
        for hour in hours
    )


def _levels(chats: Iterable[Chat], config: Config) -> tuple[Counter[Hour], Counter[Hour]]:
    """Per team's hour of arrival: the chats that came, and those answered within the SLA."""
    zone = report_zone(config)
    came: Counter[Hour] = Counter()
    in_time: Counter[Hour] = Counter()
    for chat in chats:
        team = chat.team or config.intents[chat.intent].team
        local = chat.arrived.astimezone(zone)
        key = (team, local.weekday(), local.hour)
        came[key] += 1
        if chat.waited is not None and chat.waited <= config.teams[team].sla.first_response:
            in_time[key] += 1
    return came, in_time


async def search(
    config: Config,
    arrivals: Arrivals,
    people: People,
    *,
    start: datetime,
    days: float,
    seed: int = 1,
    warm_up: float = 0.0,
    target: float = DEFAULT_TARGET,
) -> Staffing:
    """The fewest agents per team and hour of the week that answer `target` of the chats within
    the team's SLA, over the days from `start` (see the module's docstring)."""
    end = start + timedelta(days=days)
    hours = _open_hours(config, start, end)
    # The warm-up before `start` is staffed too (by Erlang C), so the counted days do not begin
    # with a queue left by nobody on shift; only the counted hours are searched and reported.
    plan = _first_guess(
        config,
        arrivals,
        people,
        _open_hours(config, start - timedelta(seconds=warm_up), end),
        target,
    )
    measured: dict[tuple[Hour, int], tuple[int, float | None]] = {}  # (hour, agents) → result
    settled: set[Hour] = set()  # an agent more did not help
    raised: set[Hour] = set()
    rounds = 0

    async def simulate() -> dict[Hour, int]:
        """Run the days with the plan as it is; record each hour's result; the plan run."""
        simulation = Simulation(
            staffed(config, plan),
            arrivals,
            people,
            start=start,
            days=days,
            seed=seed,
            warm_up=warm_up,
        )
        came, in_time = _levels((await simulation.run()).chats, config)
        for key in hours:
            share = in_time[key] / came[key] if came[key] else None
            measured[(key, plan[key])] = (came[key], share)
        return dict(plan)

    while rounds < MAX_ROUNDS:
        rounds += 1
        simulated = await simulate()
        for key in raised:
            before = measured.get((key, plan[key] - 1), (0, None))[1]
            now = measured[(key, plan[key])][1]
            if before is not None and now is not None and now <= before:
                plan[key] -= 1
                settled.add(key)
        raised = {
            key
            for key in hours
            if key not in settled and _short(measured[(key, plan[key])][1], target)
        }
        if not raised:
            break
        for key in raised:
            plan[key] += 1
    if raised:  # the rounds ran out: the last agents added were not simulated
        for key in raised:
            plan[key] -= 1
    if plan != simulated:  # hours went back to fewer agents: measure the plan as it is now
        rounds += 1
        await simulate()
    rows = []
    for key in sorted(hours):
        team, weekday, hour = key
        chats, level = measured[(key, plan[key])]
        rows.append(
            HourNeed(
                team=team,
                day=DAYS[weekday],
                hour=hour,
                needed=plan[key],
                on_shift=_on_shift(config, team, hours[key]),
                chats=chats,
                service_level=level,
                met=not _short(level, target),
            )
        )
    capacity = {team: _team_capacity(config, team) for team in config.teams}
    return Staffing(target=target, rounds=rounds, capacity=capacity, hours=rows)


def _short(level: float | None, target: float) -> bool:
    return level is not None and level < target


def as_table(staffing: Staffing, config: Config) -> str:
    """Per team, a line per day of the agents needed by hour, one of those on shift now (`.`
    closed), and where the target was not reached, a line marking those hours `!`."""
    lines = [
        f"Staffing: agents on shift for {100 * staffing.target:.0f}% answered within each team's"
        f" SLA ({staffing.rounds} simulation{'s' if staffing.rounds != 1 else ''})"
    ]
    for team in sorted({h.team for h in staffing.hours}):
        rows = [h for h in staffing.hours if h.team == team]
        sla = as_minutes(config.teams[team].sla.first_response)
        lines += ["", f"{team}: SLA {sla}, {staffing.capacity[team]} chats at once per agent"]
        table = [["hour", *(f"{hour:02}" for hour in range(HOURS))]]
        for day in [d for d in DAYS if any(h.day == d for h in rows)]:
            of_day = {h.hour: h for h in rows if h.day == day}
            cells = {
                "needed": lambda h: str(h.needed),
                "on shift": lambda h: str(h.on_shift),
                "short": lambda h: "" if h.met else "!",
            }
            for name, cell in cells.items():
                if name == "short" and all(h.met for h in of_day.values()):
                    continue
                table.append(
                    [
                        f"{day} {name}",
                        *(cell(of_day[hour]) if hour in of_day else "." for hour in range(HOURS)),
                    ]
                )
        label = max(len(row[0]) for row in table)
        width = max(len(cell) for row in table for cell in row[1:])
        # One space between the hours (the KPI tables' two would not fit 24 in 100 columns).
        lines += [
            " ".join([row[0].ljust(label), *(cell.rjust(width) for cell in row[1:])]).rstrip()
            for row in table
        ]
    if any(not h.met for h in staffing.hours):
        lines += [
            "",
            "!: the target not reached there: an agent more did not raise it (claims slower",
            f"than the SLA, missed offers), or the search stopped after {MAX_ROUNDS} simulations",
        ]
    return "\n".join(lines) + "\n"
