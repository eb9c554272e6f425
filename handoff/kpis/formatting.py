"""`frontdoor report`'s table and CSV of a KPI report (`handoff.kpis.report`): the same rounded
values as its JSON, a table for people and CSV for spreadsheets."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from zoneinfo import ZoneInfo

from handoff.kpis.report import COLUMNS, Report


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


def as_table(report: Report) -> str:
    """Aligned plain text: the period, then a line per row; durations as m:ss, "-" for none."""
    heads = [HEADINGS.get(c, (c, _number))[0] for c in COLUMNS]
    lines = [
        [HEADINGS.get(c, (c, _number))[1](value) for c, value in asdict(row).items()]
        for row in report.rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(heads, *lines, strict=True)]
    text_columns = {COLUMNS.index(c) for c in ("scope", "key", "name")}

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i in text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    zone = ZoneInfo(report.timezone)
    title = (
        f"KPIs from {report.start.astimezone(zone):%Y-%m-%d %H:%M} "
        f"to {report.end.astimezone(zone):%Y-%m-%d %H:%M} ({report.timezone})"
    )
    return "\n".join([title, "", line(heads), *(line(cells) for cells in lines)]) + "\n"


def as_csv(report: Report) -> str:
    """A header of column names, then a line per row; seconds and percentages as numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report.rows:
        writer.writerow("" if value is None else value for value in asdict(row).values())
    return out.getvalue()
