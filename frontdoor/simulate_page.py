"""`frontdoor simulate --format html`: one self-contained page (no script, no file or request
beside it) with the teams' figures and, per hour of the day, the mean wait and the service level
of each scenario as line charts.

The charts are a few SVG lines drawn here: a plotting library would add a dependency (and, for
the JavaScript ones, a script or a download) for two line charts of 24 points.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape

from handoff.simulation.report import (
    AgentFigures,
    HourFigures,
    TeamFigures,
    as_minutes,
    as_percent,
)

WIDTH, HEIGHT, LEFT, BOTTOM = 640, 220, 48, 28
COLOURS = ("#2563eb", "#dc2626")  # the first scenario, the second


def _table(figures: Sequence[TeamFigures]) -> str:
    heads = ("team", "chats", "answered", "left", "held", "wait mean", "p90", "max", "SL", "in")
    heads += ("Gini", "sticky")
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(cell)}</td>"
            for cell in (
                f.team,
                str(f.arrivals),
                str(f.answered),
                str(f.abandoned),
                str(f.held),
                as_minutes(f.wait_mean),
                as_minutes(f.wait_p90),
                as_minutes(f.wait_max),
                as_percent(f.service_level),
                as_minutes(f.target),
                "-" if f.fairness is None else f"{f.fairness:.2f}",
                f"{f.sticky_hits}/{f.returning}" if f.returning else "-",
            )
        )
        + "</tr>"
        for f in figures
    )
    head = "".join(f"<th>{h}</th>" for h in heads)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _agents(agents: Sequence[AgentFigures]) -> str:
    heads = ("agent", "offers", "accepted", "timed out", "handled", "utilization")
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(cell)}</td>"
            for cell in (
                a.name,
                str(a.offers),
                str(a.accepted),
                str(a.timed_out),
                str(a.handled),
                as_percent(a.utilization),
            )
        )
        + "</tr>"
        for a in agents
    )
    head = "".join(f"<th>{h}</th>" for h in heads)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _chart(
    title: str,
    series: Mapping[str, Sequence[float | None]],
    top: float,
    label: Callable[[float], str],
) -> str:
    """A line per scenario over the 24 hours; a gap where an hour had no chats."""
    plot_w, plot_h = WIDTH - LEFT - 12, HEIGHT - BOTTOM - 12
    top = top or 1.0

    def x(hour: int) -> float:
        return LEFT + plot_w * hour / 23

    def y(value: float) -> float:
        return 12 + plot_h * (1 - value / top)

    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">']
    for step in range(5):
        value = top * step / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - 12}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'class="grid"/><text x="{LEFT - 6}" y="{y(value) + 4:.1f}" class="axis" '
            f'text-anchor="end">{escape(label(value))}</text>'
        )
    for hour in range(0, 24, 3):
        parts.append(
            f'<text x="{x(hour):.1f}" y="{HEIGHT - 8}" class="axis" '
            f'text-anchor="middle">{hour:02}:00</text>'
        )
    for colour, (name, values) in zip(COLOURS, series.items(), strict=False):
        runs: list[list[str]] = [[]]
        for hour, value in enumerate(values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(hour):.1f},{y(value):.1f}")
        for run in runs:
            if run:
                points = " ".join(run)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="2"><title>{escape(name)}</title></polyline>'
                )
    parts.append("</svg>")
    return f"<figure><figcaption>{escape(title)}</figcaption>{''.join(parts)}</figure>"


def page(
    title: str,
    teams: Mapping[str, Sequence[TeamFigures]],
    hours: Mapping[str, Sequence[HourFigures]],
    agents: Mapping[str, Sequence[AgentFigures]],
) -> str:
    """The whole page: per scenario its table, then per team the two charts, both scenarios on
    each."""
    legend = "".join(
        f'<span class="key" style="border-color:{colour}">{escape(name)}</span>'
        for colour, name in zip(COLOURS, teams, strict=False)
    )
    tables = "".join(f"<h2>{escape(name)}</h2>{_table(figures)}" for name, figures in teams.items())
    names = [f.team for f in next(iter(teams.values()))]
    charts = []
    for team in names:
        waits = {
            name: [h.wait_mean for h in rows if h.team == team] for name, rows in hours.items()
        }
        levels = {
            name: [h.service_level for h in rows if h.team == team] for name, rows in hours.items()
        }
        longest = max((w for values in waits.values() for w in values if w is not None), default=0)
        charts.append(
            f"<section><h3>{escape(team)}</h3><div class='charts'>"
            + _chart("mean wait by hour of arrival", waits, longest * 1.1, as_minutes)
            + _chart("service level by hour of arrival", levels, 1.0, as_percent)
            + "</div></section>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 24px; color: #111827; }}
table {{ border-collapse: collapse; margin-bottom: 16px; }}
th, td {{ padding: 4px 10px; border-bottom: 1px solid #e5e7eb; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 16px; }}
figure {{ margin: 0; width: {WIDTH}px; }}
figcaption {{ color: #374151; margin-bottom: 4px; }}
.grid {{ stroke: #e5e7eb; }}
.axis {{ font-size: 11px; fill: #6b7280; }}
.key {{ border-left: 14px solid; padding-left: 6px; margin-right: 16px; }}
</style></head>
<body><h1>{escape(title)}</h1><p>{legend}</p>{tables}{"".join(charts)}</body></html>
"""
