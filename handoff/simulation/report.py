"""What a simulation came to, per team and overall: waits, abandonment, service level."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from handoff.config import Config
from handoff.kpis.formatting import aligned
from handoff.simulation.engine import Chat, Outcome
from handoff.trimming import trimmed


def percentile(values: Sequence[float], share: float) -> float | None:
    """The `share` (0–1) percentile, nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


@dataclass(frozen=True)
class TeamFigures:
    team: str
    arrivals: int
    answered: int
    abandoned: int
    waited_share: float  # of the answered: the share that waited at all
    wait_mean: float | None
    wait_p50: float | None
    wait_p90: float | None
    wait_max: float | None
    service_level: float | None  # of all arrivals: answered within `target` seconds
    target: float
    held: int
    fairness: float | None = None  # Gini of the chats its agents handled (0: evenly)
    returning: int = 0  # customers back after a chat with an agent (within the sticky window)
    sticky_hits: int = 0  # of those, answered by the same agent again


@dataclass(frozen=True)
class AgentFigures:
    """One agent's simulated days, from the bot's own KPIs."""

    name: str
    offers: int
    accepted: int
    timed_out: int
    handled: int
    utilization: float | None  # share of their slots' time on shift spent holding chats


def team_figures(
    outcome: Outcome, config: Config, targets: Mapping[str, float] | None = None
) -> list[TeamFigures]:
    """Per team, then overall ("all"): waits, abandonment and the service level against each
    team's `sla.first_response` (or `targets`)."""
    by_team: dict[str, list[Chat]] = {}
    for chat in outcome.chats:
        by_team.setdefault(chat.team or config.intents[chat.intent].team, []).append(chat)
    gini = {}
    for row in outcome.kpis.rows if outcome.kpis is not None else []:
        if row.scope in ("team", "overall"):
            gini["all" if row.scope == "overall" else row.key] = row.fairness_gini
    rows = []
    for team, chats in [*sorted(by_team.items()), ("all", outcome.chats)]:
        figures = _figures(team, chats, _target(config, team, targets))
        rows.append(replace(figures, fairness=gini.get(team)))
    return rows


def agent_figures(outcome: Outcome) -> list[AgentFigures]:
    """Per agent: offers, accepted, timed out, chats handled, utilization."""
    return [
        AgentFigures(
            row.name,
            row.offers,
            row.accepts,
            row.timeouts,
            row.handled,
            row.utilization_pct / 100 if row.utilization_pct is not None else None,
        )
        for row in (outcome.kpis.rows if outcome.kpis is not None else [])
        if row.scope == "agent"
    ]


def _target(config: Config, team: str, targets: Mapping[str, float] | None) -> float:
    """The seconds a chat of `team` should be answered in: its `sla.first_response` (overall:
    the strictest), unless `targets` says."""
    if targets is not None and team in targets:
        return targets[team]
    spec = config.teams.get(team)
    if spec is not None:
        return spec.sla.first_response
    return min((t.sla.first_response for t in config.teams.values()), default=20.0)


def _figures(team: str, chats: Sequence[Chat], target: float) -> TeamFigures:
    waits = [c.waited for c in chats if c.waited is not None]
    within = sum(1 for w in waits if w <= target)
    return TeamFigures(
        team=team,
        arrivals=len(chats),
        answered=len(waits),
        abandoned=sum(1 for c in chats if c.abandoned),
        waited_share=(sum(1 for w in waits if w > 0) / len(waits)) if waits else 0.0,
        wait_mean=sum(waits) / len(waits) if waits else None,
        wait_p50=percentile(waits, 0.5),
        wait_p90=percentile(waits, 0.9),
        wait_max=max(waits) if waits else None,
        service_level=within / len(chats) if chats else None,
        target=target,
        held=sum(1 for c in chats if c.held),
        returning=sum(1 for c in chats if c.returning_to is not None),
        sticky_hits=sum(
            1 for c in chats if c.returning_to is not None and c.answered_by == c.returning_to
        ),
    )


def as_rows(figures: Sequence[TeamFigures]) -> list[dict[str, Any]]:
    return [dict(f.__dict__) for f in figures]


def as_minutes(value: float | None) -> str:
    """Seconds as m:ss; "-" for none."""
    if value is None:
        return "-"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}:{seconds:02}"


def as_percent(value: float | None) -> str:
    """A share (0-1) as a percentage; "-" for none."""
    return "-" if value is None else f"{100 * value:.1f}%"


HEADINGS = ("team", "chats", "answered", "left", "held", "sticky")
HEADINGS += ("mean", "p50", "p90", "max", "SL", "Gini")


def _cells(f: TeamFigures) -> list[str]:
    return [
        f.team,
        str(f.arrivals),
        str(f.answered),
        str(f.abandoned),
        str(f.held),
        f"{f.sticky_hits}/{f.returning}" if f.returning else "-",
        as_minutes(f.wait_mean),
        as_minutes(f.wait_p50),
        as_minutes(f.wait_p90),
        as_minutes(f.wait_max),
        f"{as_percent(f.service_level)} in {as_minutes(f.target)}",
        "-" if f.fairness is None else f"{f.fairness:.2f}",
    ]


AGENT_HEADINGS = ("agent", "offers", "accepted", "timed out", "handled", "utilization")


def _agent_cells(f: AgentFigures) -> list[str]:
    counts = [str(n) for n in (f.offers, f.accepted, f.timed_out, f.handled)]
    return [trimmed(f.name, 24), *counts, as_percent(f.utilization)]


def as_table(
    title: str, figures: Sequence[TeamFigures], agents: Sequence[AgentFigures] = ()
) -> str:
    """Aligned text within 100 columns: a line per team, then all of them; then the agents."""
    lines = [title, *aligned([list(HEADINGS), *(_cells(f) for f in figures)])]
    if agents:
        lines += ["", *aligned([list(AGENT_HEADINGS), *(_agent_cells(a) for a in agents)])]
    return "\n".join(lines) + "\n"


def as_comparison(
    names: tuple[str, str], first: Sequence[TeamFigures], second: Sequence[TeamFigures]
) -> str:
    """The two scenarios' service level and mean wait per team, side by side, with the change."""
    theirs = {f.team: f for f in second}
    rows = [["team", "SL A", "SL B", "change", "mean wait A", "mean wait B", "change"]]
    for mine in first:
        other = theirs.get(mine.team)
        if other is None:
            continue
        level = (
            f"{100 * (other.service_level - mine.service_level):+.1f} pt"
            if other.service_level is not None and mine.service_level is not None
            else "-"
        )
        wait = (
            f"{other.wait_mean - mine.wait_mean:+.0f} s"
            if other.wait_mean is not None and mine.wait_mean is not None
            else "-"
        )
        rows.append(
            [
                mine.team,
                as_percent(mine.service_level),
                as_percent(other.service_level),
                level,
                as_minutes(mine.wait_mean),
                as_minutes(other.wait_mean),
                wait,
            ]
        )
    lines = aligned(rows)
    legend = f"A: {names[0]}   B: {names[1]}"
    return "\n".join([legend, *lines]) + "\n"


@dataclass(frozen=True)
class HourFigures:
    """One team's chats that came in one hour of the day, over all the simulated days."""

    team: str
    hour: int  # 0-23, company time
    arrivals: int
    answered: int
    abandoned: int
    wait_mean: float | None
    service_level: float | None


def hourly(outcome: Outcome, config: Config, zone: Any) -> list[HourFigures]:
    """Per team (then "all") and hour of the day: arrivals, answered, left, mean wait and the
    service level against the team's `sla.first_response`."""
    by_key: dict[tuple[str, int], list[Chat]] = {}
    for chat in outcome.chats:
        team = chat.team or config.intents[chat.intent].team
        hour = chat.arrived.astimezone(zone).hour
        by_key.setdefault((team, hour), []).append(chat)
        by_key.setdefault(("all", hour), []).append(chat)
    teams = [*sorted({team for team, _ in by_key if team != "all"}), "all"]
    rows = []
    for team in teams:
        target = _target(config, team, None)
        for hour in range(24):
            chats = by_key.get((team, hour), [])
            figures = _figures(team, chats, target)
            rows.append(
                HourFigures(
                    team,
                    hour,
                    figures.arrivals,
                    figures.answered,
                    figures.abandoned,
                    figures.wait_mean,
                    figures.service_level,
                )
            )
    return rows


def as_csv(scenarios: Mapping[str, Sequence[Any]], kind: type = TeamFigures) -> str:
    """A line per scenario and row (a team's figures, or rows of another `kind` of dataclass),
    every figure as a number (seconds, shares 0-1)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [f.name for f in fields(kind)]
    writer.writerow(["scenario", *names])
    for scenario, figures in scenarios.items():
        for row in figures:
            values = (getattr(row, name) for name in names)
            writer.writerow([scenario, *("" if v is None else v for v in values)])
    return out.getvalue()
