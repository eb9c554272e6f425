"""`frontdoor report`'s table and CSV of a KPI report (`handoff.kpis.report`): the same rounded
values as its JSON, a table for people and CSV for spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict
from zoneinfo import ZoneInfo

from handoff.kpis.report import COLUMNS, Report, Row
from handoff.trimming import trimmed


def duration(seconds: object) -> str:
    if not isinstance(seconds, float):
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def percent(value: object) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _number(value: object) -> str:
    return "-" if value is None else str(value)


HEADINGS = {  # column → (heading, how a table shows it); the rest show as they are
    "wait_p50_s": ("wait p50", duration),
    "wait_p90_s": ("wait p90", duration),
    "first_response_p50_s": ("FRT p50", duration),
    "first_response_p90_s": ("FRT p90", duration),
    "aht_s": ("AHT", duration),
    "handle_p50_s": ("handle p50", duration),
    "fcr_pct": ("FCR", percent),
    "csat_mean": ("CSAT", _number),
    "csat_good_pct": ("CSAT 4-5", percent),
    "csat_count": ("ratings", _number),
    "assisted_pct": ("canned", percent),
    "aht_assisted_s": ("AHT canned", duration),
    "aht_unassisted_s": ("AHT own", duration),
    "utilization_pct": ("util", percent),
    "fairness_gini": ("Gini", _number),
}


WIDTH = 100  # columns a table fits in (the CSV and JSON have every column, and the ids)
NAME_WIDTH = 26  # characters of a team's or agent's name before it is cut
SECTIONS = (  # a table per concern, each under WIDTH, the name repeated on the left
    ("Volume and speed", ("created", "closed", "transfers", "wait_p50_s", "wait_p90_s",
                          "first_response_p50_s", "first_response_p90_s")),
    ("Handling and quality", ("aht_s", "handle_p50_s", "fcr_pct", "csat_mean", "csat_good_pct",
                              "csat_count")),
    ("Offers and load", ("offers", "accepts", "timeouts", "handled", "utilization_pct",
                         "fairness_gini")),
    ("Canned replies and suggestions", ("assisted_pct", "aht_assisted_s", "aht_unassisted_s")),
)  # fmt: skip


def who(row: Row) -> str:
    """A row's name as the table shows it: "All", "Billing", "· Sari W." (an agent, marked)."""
    return trimmed(f"· {row.name}" if row.scope == "agent" else row.name, NAME_WIDTH)


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells as lines of a table: the first column to the left, the rest to the right."""
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    return [
        "  ".join(
            [
                row[0].ljust(widths[0]),
                *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
            ]
        ).rstrip()
        for row in rows
    ]


def as_table(report: Report) -> str:
    """Aligned plain text within 100 columns: the period, then a table per concern with a line
    per row (agents marked with ·); durations as m:ss, "-" for none."""
    zone = ZoneInfo(report.timezone)
    lines = [
        f"KPIs from {report.start.astimezone(zone):%Y-%m-%d %H:%M} "
        f"to {report.end.astimezone(zone):%Y-%m-%d %H:%M} ({report.timezone})"
    ]
    for title, columns in SECTIONS:
        heads = ["", *(HEADINGS.get(c, (c, _number))[0] for c in columns)]
        rows = [
            [who(row), *(HEADINGS.get(c, (c, _number))[1](getattr(row, c)) for c in columns)]
            for row in report.rows
        ]
        lines += ["", title, *aligned([heads, *rows])]
    return "\n".join(lines) + "\n"


def as_csv(report: Report) -> str:
    """A header of column names, then a line per row; seconds and percentages as numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report.rows:
        writer.writerow("" if value is None else value for value in asdict(row).values())
    return out.getvalue()
