"""Opening hours: weekly spans, holidays, overrides, timezones, DST and overnight spans."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handoff.config import Schedule
from handoff.hours import (
    holiday_name,
    hours_on,
    is_open,
    next_closing,
    next_opening,
    opening_spans,
)

WIB = ZoneInfo("Asia/Jakarta")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")

OFFICE = Schedule.model_validate(
    {
        "timezone": "Asia/Jakarta",
        "holidays": "ID",
        "hours": {day: ["08:00-12:00", "13:00-17:00"] for day in WEEKDAYS},
        "overrides": [
            {"date": "2026-12-24", "hours": ["08:00-12:00"], "note": "Christmas Eve"},
            {"date": "2026-11-27", "hours": [], "note": "company outing"},
        ],
    }
)
NIGHT = Schedule.model_validate(
    {"timezone": "Asia/Jakarta", "hours": {"fri": ["22:00-24:00"], "sat": ["00:00-06:00"]}}
)
NEVER = Schedule.model_validate({"timezone": "Asia/Jakarta", "hours": {}})
ALWAYS = Schedule.model_validate(
    {"timezone": "Asia/Jakarta", "hours": {d: ["00:00-24:00"] for d in (*WEEKDAYS, "sat", "sun")}}
)


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


def schedule_in(timezone: str, **extra: object) -> Schedule:
    every_day = {day: ["09:00-17:00"] for day in (*WEEKDAYS, "sat", "sun")}
    return Schedule.model_validate({"timezone": timezone, "hours": every_day, **extra})


def test_office_is_open_on_a_weekday_morning() -> None:
    assert is_open(OFFICE, wib(2026, 11, 23, 9, 30))


def test_office_is_closed_over_the_lunch_break() -> None:
    assert not is_open(OFFICE, wib(2026, 11, 23, 12, 30))
    assert is_open(OFFICE, wib(2026, 11, 23, 13, 0))


def test_a_span_includes_its_start_and_excludes_its_end() -> None:
    assert is_open(OFFICE, wib(2026, 11, 23, 8, 0))
    assert not is_open(OFFICE, wib(2026, 11, 23, 17, 0))


def test_office_is_closed_at_the_weekend() -> None:
    assert not is_open(OFFICE, wib(2026, 11, 28, 10, 0))
    assert not is_open(OFFICE, wib(2026, 11, 29, 10, 0))


def test_independence_day_closes_the_whole_day() -> None:
    assert not is_open(OFFICE, wib(2026, 8, 17, 10, 0))
    assert holiday_name(OFFICE, date(2026, 8, 17)) == "Independence Day"


def test_christmas_closes_the_whole_day() -> None:
    assert not is_open(OFFICE, wib(2026, 12, 25, 10, 0))
    assert holiday_name(OFFICE, date(2026, 12, 25)) is not None


def test_an_ordinary_day_has_no_holiday_name() -> None:
    assert holiday_name(OFFICE, date(2026, 11, 23)) is None


def test_a_half_day_override_replaces_that_days_hours() -> None:
    assert is_open(OFFICE, wib(2026, 12, 24, 11, 0))
    assert not is_open(OFFICE, wib(2026, 12, 24, 14, 0))
    assert [str(span) for span in hours_on(OFFICE, date(2026, 12, 24))] == ["08:00-12:00"]


def test_a_closed_override_closes_a_working_day() -> None:
    assert not is_open(OFFICE, wib(2026, 11, 27, 10, 0))


def test_an_override_on_a_holiday_opens_it_anyway() -> None:
    reopened = Schedule.model_validate(
        {**OFFICE.model_dump(), "overrides": [{"date": "2026-08-17", "hours": ["09:00-12:00"]}]}
    )
    assert is_open(reopened, wib(2026, 8, 17, 10, 0))


def test_holidays_of_later_years_are_known_too() -> None:
    assert holiday_name(OFFICE, date(2031, 8, 17)) == "Independence Day"


def test_next_opening_while_open_is_the_same_instant() -> None:
    moment = wib(2026, 11, 23, 9, 30)
    assert next_opening(OFFICE, moment) == moment


def test_next_opening_after_lunch_is_one_oclock() -> None:
    assert next_opening(OFFICE, wib(2026, 11, 23, 12, 15)) == wib(2026, 11, 23, 13, 0)


def test_next_opening_skips_the_weekend() -> None:
    assert next_opening(OFFICE, wib(2026, 11, 20, 18, 0)) == wib(2026, 11, 23, 8, 0)


def test_next_opening_skips_a_holiday() -> None:
    # Christmas Eve closes at 12:00; Christmas Day is a holiday, then the weekend.
    assert next_opening(OFFICE, wib(2026, 12, 24, 12, 0)) == wib(2026, 12, 28, 8, 0)


def test_next_opening_from_within_a_closed_override_day() -> None:
    assert next_opening(OFFICE, wib(2026, 11, 27, 10, 0)) == wib(2026, 11, 30, 8, 0)


def test_next_opening_of_a_schedule_that_never_opens_is_none() -> None:
    assert next_opening(NEVER, wib(2026, 11, 23, 10, 0)) is None


def test_next_closing_while_closed_is_the_same_instant() -> None:
    moment = wib(2026, 11, 28, 10, 0)
    assert next_closing(OFFICE, moment) == moment


def test_next_closing_is_the_end_of_the_current_span() -> None:
    assert next_closing(OFFICE, wib(2026, 11, 23, 9, 0)) == wib(2026, 11, 23, 12, 0)


def test_next_closing_of_a_schedule_that_never_closes_is_none() -> None:
    assert next_closing(ALWAYS, wib(2026, 11, 23, 10, 0)) is None


def test_an_overnight_opening_is_one_opening_across_midnight() -> None:
    assert is_open(NIGHT, wib(2026, 11, 27, 23, 59))
    assert is_open(NIGHT, wib(2026, 11, 28, 0, 0))
    assert next_closing(NIGHT, wib(2026, 11, 27, 23, 0)) == wib(2026, 11, 28, 6, 0)


def test_a_span_to_24_00_ends_at_the_next_midnight() -> None:
    spans = opening_spans(NIGHT, date(2026, 11, 27))
    assert spans == [(wib(2026, 11, 27, 22, 0), wib(2026, 11, 28, 0, 0))]


def test_indonesian_timezones_give_different_answers_at_the_same_instant() -> None:
    zones = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
    schedules = [schedule_in(zone) for zone in zones]
    # Open 09:00-17:00 local. 01:30 UTC is 08:30 WIB, 09:30 WITA, 10:30 WIT;
    # 08:30 UTC is 15:30 WIB, 16:30 WITA, 17:30 WIT.
    early = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    late = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert [is_open(s, early) for s in schedules] == [False, True, True]
    assert [is_open(s, late) for s in schedules] == [True, True, False]


def test_nine_oclock_stays_nine_oclock_when_new_york_springs_forward() -> None:
    schedule = schedule_in("America/New_York")
    # 09:00 EST on Saturday is 14:00 UTC; 09:00 EDT on Sunday 2026-03-08 is 13:00 UTC.
    assert not is_open(schedule, datetime(2026, 3, 7, 13, 30, tzinfo=UTC))
    assert is_open(schedule, datetime(2026, 3, 8, 13, 30, tzinfo=UTC))
    after_close = datetime(2026, 3, 7, 17, 0, tzinfo=NEW_YORK)
    assert next_opening(schedule, after_close) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


def test_nine_oclock_stays_nine_oclock_when_new_york_falls_back() -> None:
    schedule = schedule_in("America/New_York")
    # 09:00 EDT on Saturday is 13:00 UTC; 09:00 EST on Sunday 2026-11-01 is 14:00 UTC.
    assert is_open(schedule, datetime(2026, 10, 31, 13, 30, tzinfo=UTC))
    assert not is_open(schedule, datetime(2026, 11, 1, 13, 30, tzinfo=UTC))
    after_close = datetime(2026, 10, 31, 17, 0, tzinfo=NEW_YORK)
    assert next_opening(schedule, after_close) == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)


def test_amsterdam_opening_hours_follow_the_local_clock_across_dst() -> None:
    schedule = schedule_in("Europe/Amsterdam")
    before = opening_spans(schedule, date(2026, 3, 28))[0][0].astimezone(UTC)
    after = opening_spans(schedule, date(2026, 3, 29))[0][0].astimezone(UTC)
    assert (before.hour, after.hour) == (8, 7)


def test_a_boundary_in_the_spring_forward_gap_falls_on_the_transition() -> None:
    schedule = Schedule.model_validate(
        {"timezone": "America/New_York", "hours": {"sun": ["02:30-04:00"]}}
    )
    start, end = opening_spans(schedule, date(2026, 3, 8))[0]
    assert start == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT, the first valid minute
    assert end - start == timedelta(hours=1)


def test_an_ambiguous_boundary_means_its_first_occurrence() -> None:
    schedule = Schedule.model_validate(
        {"timezone": "America/New_York", "hours": {"sun": ["00:00-01:30"]}}
    )
    _start, end = opening_spans(schedule, date(2026, 11, 1))[0]
    # 01:30 EDT, before the clocks go back (compared in UTC: same-zone comparison ignores folds)
    assert end.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert not is_open(schedule, datetime(2026, 11, 1, 6, 15, tzinfo=UTC))  # 01:15 EST


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(OFFICE, datetime(2026, 11, 23, 9, 0))


PROPERTY_SCHEDULES = [OFFICE, NIGHT, NEVER, schedule_in("America/New_York", holidays="US")]
INSTANTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(
    schedule=st.sampled_from(PROPERTY_SCHEDULES),
    moment=INSTANTS,
    fractions=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=8),
)
def test_next_opening_is_open_and_nothing_before_it_is(
    schedule: Schedule, moment: datetime, fractions: list[float]
) -> None:
    opening = next_opening(schedule, moment)
    if opening is None:
        horizon = timedelta(days=365)
        assert not any(is_open(schedule, moment + f * horizon) for f in fractions)
        return
    assert opening >= moment
    assert is_open(schedule, opening)
    # timedelta * float rounds to microseconds, so a sample may land on the opening itself.
    samples = [moment + f * (opening - moment) for f in fractions]
    assert not any(is_open(schedule, sample) for sample in samples if sample < opening)
