"""The one KPI report behind `frontdoor report` and the dashboard, on small hand-computed records;
its day series, its period parsing and its table and CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handoff.kpis.formatting import as_csv, as_table
from handoff.kpis.measures import ConversationRecord, OfferRecord, ShiftRecord
from handoff.kpis.report import (
    COLUMNS,
    PeriodError,
    Records,
    Scope,
    build_report,
    day_series,
    report_dict,
    report_period,
    report_zone,
)
from tests.support.configs import make_config

WIB = ZoneInfo("Asia/Jakarta")
MIDNIGHT = datetime(2026, 11, 24, tzinfo=WIB)  # a Tuesday in Jakarta
DAY_END = MIDNIGHT + timedelta(days=1)
SARI, AGUS = 7, 8
TEAMS = {"support": "Support", "billing": "Billing"}


def at(clock: str) -> datetime:
    """`"09:01"` on that day in Jakarta, as the database gives it (UTC)."""
    hours, minutes = map(int, clock.split(":"))
    return (MIDNIGHT + timedelta(hours=hours, minutes=minutes)).astimezone(UTC)


def chat(
    id: int,
    *,
    team: str = "support",
    agent: int | None = None,
    created: str = "09:00",
    assigned: str | None = None,
    first_response: str | None = None,
    closed: str | None = None,
    customer: int | None = None,
    transfers: int = 0,
    csat: int | None = None,
) -> ConversationRecord:
    def moment(clock: str | None) -> datetime | None:
        return None if clock is None else at(clock)

    return ConversationRecord(
        id=id,
        customer_id=customer or 100 + id,
        team=team,
        agent_id=agent,
        created_at=at(created),
        queued_at=at(created),
        assigned_at=moment(assigned),
        first_response_at=moment(first_response),
        closed_at=moment(closed),
        transfers=transfers,
        csat=csat,
    )


def morning_records() -> Records:
    """Sari and Agus on shift 07:00-15:00; each handles a support chat; one billing chat waits."""
    conversations = [
        # 09:00 queued, claimed after 1 min, answered after 2, closed after 10 more: rated 5.
        chat(1, agent=SARI, assigned="09:01", first_response="09:02", closed="09:11", csat=5),
        # 10:00 queued, claimed after 3 min, transferred once, closed 20 min later: rated 3.
        chat(
            2,
            agent=AGUS,
            created="10:00",
            assigned="10:03",
            first_response="10:04",
            closed="10:23",
            transfers=1,
            csat=3,
        ),
        chat(3, team="billing", created="11:30"),  # still waiting
    ]
    offers = [
        OfferRecord(1, SARI, "accepted", at("09:00"), at("09:01")),
        OfferRecord(2, SARI, "timed_out", at("10:00"), at("10:01")),
        OfferRecord(2, AGUS, "accepted", at("10:01"), at("10:03")),
    ]
    shifts = [ShiftRecord(agent, at("07:00"), at("15:00")) for agent in (SARI, AGUS)]
    return Records(
        conversations,
        offers,
        shifts,
        {SARI: ["support", "billing"], AGUS: ["support"]},
        {SARI: "Sari", AGUS: "Agus"},
    )


def rows_by_key(records: Records, end: datetime = DAY_END) -> dict[str, dict[str, object]]:
    report = build_report(records, MIDNIGHT, end, WIB, TEAMS)
    return {row.key: report_dict(report)["rows"][i] for i, row in enumerate(report.rows)}


def test_the_report_has_an_overall_row_then_teams_in_config_order_then_agents_by_name():
    report = build_report(morning_records(), MIDNIGHT, DAY_END, WIB, TEAMS)

    assert [(row.scope, row.key, row.name) for row in report.rows] == [
        (Scope.OVERALL, "all", "All"),
        (Scope.TEAM, "support", "Support"),
        (Scope.TEAM, "billing", "Billing"),
        (Scope.AGENT, str(AGUS), "Agus"),
        (Scope.AGENT, str(SARI), "Sari"),
    ]
    assert all(tuple(row) == COLUMNS for row in report_dict(report)["rows"])


def test_the_overall_row_sums_the_day():
    overall = rows_by_key(morning_records())["all"]

    assert (overall["created"], overall["closed"]) == (3, 2)
    assert (overall["wait_p50_s"], overall["wait_p90_s"]) == (60.0, 180.0)
    assert (overall["first_response_p50_s"], overall["first_response_p90_s"]) == (120.0, 240.0)
    assert (overall["aht_s"], overall["handle_p50_s"]) == (900.0, 600.0)
    assert overall["fcr_pct"] == 50.0  # the transferred one is not resolved first time
    assert (overall["csat_mean"], overall["csat_good_pct"], overall["csat_count"]) == (4.0, 50.0, 2)
    assert overall["transfers"] == 1
    assert (overall["offers"], overall["accepts"], overall["timeouts"], overall["handled"]) == (
        3, 2, 1, 2,
    )  # fmt: skip
    # 10 + 20 minutes handled in 2 × 8 hours on shift.
    assert overall["utilization_pct"] == round(100 * 30 / (2 * 8 * 60), 1)
    assert overall["fairness_gini"] == 0.0  # support's two agents claimed one each


def test_a_team_row_adds_up_its_members_and_carries_its_fairness():
    rows = rows_by_key(morning_records())

    support, billing = rows["support"], rows["billing"]
    assert (support["created"], support["closed"], support["fairness_gini"]) == (2, 2, 0.0)
    assert (support["offers"], support["handled"]) == (3, 2)
    assert (billing["created"], billing["closed"], billing["wait_p50_s"]) == (1, 0, None)
    assert (billing["offers"], billing["handled"]) == (2, 1)  # Sari is in billing too
    assert billing["fairness_gini"] is None  # nobody claimed a billing chat


def test_an_agent_row_covers_the_conversations_they_held():
    rows = rows_by_key(morning_records())

    sari, agus = rows[str(SARI)], rows[str(AGUS)]
    assert (sari["closed"], sari["csat_mean"], sari["fcr_pct"], sari["wait_p50_s"]) == (
        1, 5.0, 100.0, 60.0,
    )  # fmt: skip
    assert (sari["offers"], sari["accepts"], sari["timeouts"], sari["handled"]) == (2, 1, 1, 1)
    assert sari["utilization_pct"] == round(100 * 10 / (8 * 60), 1)
    assert (agus["csat_mean"], agus["fcr_pct"], agus["transfers"]) == (3.0, 0.0, 1)
    assert sari["fairness_gini"] is None


def test_a_reopen_with_nobody_still_counts_against_the_agent_who_closed():
    records = morning_records()
    again = chat(4, customer=101, created="12:00")  # Sari's customer is back within 24 h
    reopened = replace(records, conversations=[*records.conversations, again])

    assert rows_by_key(reopened)[str(SARI)]["fcr_pct"] == 0.0


def test_an_agent_with_nothing_to_measure_shows_none_not_zero():
    records = Records([], [], [], {SARI: ["support"]}, {SARI: "Sari"})

    sari = rows_by_key(records)[str(SARI)]
    assert (sari["created"], sari["wait_p50_s"], sari["utilization_pct"], sari["csat_count"]) == (
        0, None, None, 0,
    )  # fmt: skip


def test_the_report_dict_gives_the_period_in_the_report_timezone():
    end = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)

    data = report_dict(build_report(morning_records(), MIDNIGHT.astimezone(UTC), end, WIB, TEAMS))
    assert (data["start"], data["end"], data["timezone"]) == (
        "2026-11-24T00:00:00+07:00",
        "2026-11-24T12:30:00+07:00",
        "Asia/Jakarta",
    )


# ---- the day, hour by hour --------------------------------------------------------------------


def test_the_day_series_counts_each_hour_from_the_same_records():
    now = at("12:30")
    hours = day_series(morning_records().conversations, MIDNIGHT.date(), WIB, now)

    assert [h.label for h in hours][:3] == ["00:00", "01:00", "02:00"] and len(hours) == 24
    assert hours[9].start == MIDNIGHT + timedelta(hours=9)
    assert [(h.created, h.closed, h.wait_p50_s) for h in hours[9:12]] == [
        (1, 1, 60.0),
        (1, 1, 180.0),
        (1, 0, None),
    ]
    assert hours[10].first_response_p50_s == 240.0
    assert [h.waiting for h in hours[8:13]] == [0, 0, 0, 1, 1]  # the billing chat since 11:30
    assert hours[13].waiting is None  # not begun yet
    assert sum(h.created for h in hours) == 3


def test_a_day_with_a_dst_change_has_23_hours():
    berlin = ZoneInfo("Europe/Berlin")
    hours = day_series([], date(2026, 3, 29), berlin, datetime(2026, 3, 30, tzinfo=UTC))

    assert len(hours) == 23
    assert [h.label for h in hours[:4]] == ["00:00", "01:00", "03:00", "04:00"]


def test_a_chat_released_back_to_the_queue_waits_again():
    released = ConversationRecord(
        id=1, customer_id=1, team="support", agent_id=None, created_at=at("09:00"),
        queued_at=at("10:30"), assigned_at=at("09:06"), first_response_at=at("09:12"),
        closed_at=None, transfers=0, csat=None,
    )  # fmt: skip

    hours = day_series([released], MIDNIGHT.date(), WIB, at("11:30"))
    assert [h.waiting for h in hours[9:12]] == [0, 1, 1]


# ---- the period -------------------------------------------------------------------------------

NOW = datetime(2026, 11, 24, 3, 15, tzinfo=UTC)  # 10:15 in Jakarta


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, (MIDNIGHT, NOW)),
        ("2026-11-20", "2026-11-23", (datetime(2026, 11, 20, tzinfo=WIB), MIDNIGHT)),
        ("2026-11-24", "2026-11-24", (MIDNIGHT, DAY_END)),
        (
            "2026-11-24T08:00+07:00",
            "2026-11-24T01:30Z",
            (MIDNIGHT + timedelta(hours=8), MIDNIGHT + timedelta(hours=8.5)),
        ),
        ("2026-11-23", None, (MIDNIGHT - timedelta(days=1), NOW)),
    ],
)
def test_a_period_reads_dates_in_the_report_timezone_and_moments_with_offsets(start, end, expected):
    period = report_period(start, end, WIB, NOW)

    assert period == expected
    assert all(moment.tzinfo == WIB for moment in period)


@pytest.mark.parametrize(
    ("start", "end", "complaint"),
    [
        ("yesterday", None, "'yesterday' is neither an ISO date"),
        ("2026-11-24T08:00", None, "'2026-11-24T08:00' has no offset"),
        (None, "2026-13-01", "is neither an ISO date"),
        ("2026-11-25", "2026-11-24", "the period is empty"),
        ("2026-11-24T10:00+07:00", "2026-11-24T10:00+07:00", "the period is empty"),
        ("2026-11-25", None, "the period is empty"),  # from tomorrow to now
        ("2026-01-01", "9999-12-31", "outside the years 2000-2999"),  # would overflow
        ("0001-01-02", None, "outside the years"),
        ("2025-01-01", "2026-11-24", "at most 366 days"),  # the whole period in one go
    ],
)
def test_a_period_that_cannot_be_read_or_is_empty_is_refused(start, end, complaint):
    with pytest.raises(PeriodError, match=complaint):
        report_period(start, end, WIB, NOW)


def test_the_report_timezone_is_the_first_teams_schedules():
    config = make_config(
        teams={"sales": {"schedule": "paris"}, "support": {}},
        schedules={"paris": {"timezone": "Europe/Paris", "hours": {"mon": ["09:00-17:00"]}}},
    )

    assert report_zone(config) == ZoneInfo("Europe/Paris")


# ---- text -------------------------------------------------------------------------------------


def test_csv_has_the_column_names_then_a_line_per_row_with_empty_for_none():
    report = build_report(morning_records(), MIDNIGHT, DAY_END, WIB, TEAMS)

    header, *lines = list(csv.reader(io.StringIO(as_csv(report))))
    assert tuple(header) == COLUMNS
    assert [line[:3] for line in lines] == [[r.scope, r.key, r.name] for r in report.rows]
    billing = dict(zip(header, lines[2], strict=True))
    assert (billing["created"], billing["wait_p50_s"], billing["fcr_pct"]) == ("1", "", "")


def test_the_table_is_aligned_text_within_100_columns_with_durations_and_percentages():
    report = build_report(morning_records(), MIDNIGHT, DAY_END, WIB, TEAMS)

    text = as_table(report)
    lines = text.splitlines()
    assert lines[0] == "KPIs from 2026-11-24 00:00 to 2026-11-25 00:00 (Asia/Jakarta)"
    assert max(len(line) for line in lines) <= 100
    sections = text.split("\n\n")[1:]
    assert [s.splitlines()[0] for s in sections] == [
        "Volume and speed",
        "Handling and quality",
        "Offers and load",
        "Canned replies and suggestions",
    ]
    _, header, *rows = sections[0].splitlines()
    assert len(rows) == len(report.rows)
    overall = rows[0].split()
    assert overall[:3] == ["All", "3", "2"]
    assert "1:00" in overall and "3:00" in overall
    assert "50%" in sections[1].splitlines()[2]
    wait_column = header.index("wait p50") + len("wait p50")  # right-aligned under its heading
    assert all(row[wait_column - 1] != " " for row in rows)
    billing = rows[2]
    assert billing.split()[0] == "Billing" and billing.split()[4] == "-"  # nobody claimed


def test_a_long_name_is_cut_to_keep_the_table_narrow():
    report = build_report(morning_records(), MIDNIGHT, DAY_END, WIB, TEAMS)
    long = [
        replace(row, name="Customer Success and Retention Team, Jakarta") for row in report.rows
    ]
    text = as_table(replace(report, rows=long))
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "Customer Success and Rete…" in text
