"""The check-config summary: hours this week, agents per shift and coverage gaps."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from handoff.config import Config
from handoff.config_loader import load_config
from handoff.config_summary import summarize

WIB = ZoneInfo("Asia/Jakarta")
EXAMPLE = Path(__file__).parents[2] / "config" / "frontdoor.yaml"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=WIB)  # a Monday


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


def shop_config() -> Config:
    """Billing is open Saturday 09:00-15:00 but its only agent leaves at 13:00."""
    return Config.model_validate(
        {
            "messages": {"id": {"greeting": "Halo"}},
            "schedules": {
                "office": {
                    "timezone": "Asia/Jakarta",
                    "holidays": "ID",
                    "hours": {"mon": ["08:00-17:00"], "sat": ["09:00-15:00"]},
                    "overrides": [{"date": "2026-11-24", "hours": [], "note": "stocktaking"}],
                },
                "early": {
                    "timezone": "Asia/Jakarta",
                    "hours": {"mon": ["08:00-17:00"], "sat": ["09:00-13:00"]},
                },
                "night": {
                    "timezone": "Asia/Jakarta",
                    "hours": {"fri": ["22:00-24:00"], "sat": ["00:00-06:00"]},
                },
            },
            "teams": {
                "billing": {"name": "Billing", "schedule": "office"},
                "night": {"name": "Night Support", "schedule": "night"},
            },
            "agents": [
                {"id": 1, "name": "Sari", "teams": ["billing"], "shift": "early", "manager": True},
                {"id": 2, "name": "Agus", "teams": ["billing"], "shift": "early", "capacity": 5},
                {"id": 3, "name": "Rina", "teams": ["billing"], "shift": "night"},
            ],
        }
    )


def gap_lines(summary: str) -> list[str]:
    """The lines of the summary's coverage-gaps section (the last one), without its heading."""
    section = summary.split("Coverage gaps this week")[1]
    return [line.strip() for line in section.splitlines()[1:]]


def test_a_team_open_while_its_agents_are_off_shift_is_a_gap() -> None:
    gaps = gap_lines(summarize(shop_config(), NOW))
    billing = [line for line in gaps if line.startswith("billing:")]
    assert billing == ["billing: Sat 2026-11-28 13:00-15:00 WIB open, no agent on shift"]


def test_an_agent_of_another_team_does_not_cover_a_gap() -> None:
    # Rina works nights but only for billing; the night team has nobody at all.
    gaps = gap_lines(summarize(shop_config(), NOW))
    night = [line for line in gaps if line.startswith("night:")]
    assert night == [
        "night: Fri 2026-11-27 22:00 - Sat 2026-11-28 06:00 WIB open, no agent on shift"
    ]


def test_a_gap_is_cut_at_the_edges_of_the_week() -> None:
    # From a Saturday the week runs to the next Saturday's midnight: the night team's gap of
    # Friday 22:00 to Saturday 06:00 is cut at both ends of it.
    gaps = gap_lines(summarize(shop_config(), wib(2026, 11, 28, 10, 0)))
    assert gaps == [
        "billing: Sat 2026-11-28 13:00-15:00 WIB open, no agent on shift",
        "night: Sat 2026-11-28 00:00-06:00 WIB open, no agent on shift",
        "night: Fri 2026-12-04 22:00-24:00 WIB open, no agent on shift",
    ]


def test_the_summary_counts_what_the_config_holds() -> None:
    first_line = summarize(shop_config(), NOW).splitlines()[0]
    assert (
        first_line
        == "Config OK: 2 teams, 3 agents (1 manager), 0 intents, 0 canned replies, 3 schedules"
    )


def test_the_summary_lists_each_teams_hours_this_week_with_overrides() -> None:
    summary = summarize(shop_config(), NOW)
    assert "  billing (Billing; schedule office, Asia/Jakarta, WIB):" in summary
    assert "    Mon 2026-11-23  08:00-17:00" in summary
    assert "    Tue 2026-11-24  closed" in summary and "override: stocktaking" in summary
    billing = summary.split("  billing (")[1].split("  night (")[0]
    assert "    Sat 2026-11-28  09:00-15:00" in billing
    assert "Sun 2026-11-29" in billing and "Mon 2026-11-30" not in billing


def test_the_summary_marks_public_holidays_by_name() -> None:
    summary = summarize(shop_config(), wib(2026, 8, 17, 9, 0))
    assert "Mon 2026-08-17  closed" in summary and "holiday: Independence Day" in summary


def test_the_summary_lists_agents_per_shift() -> None:
    shifts = summarize(shop_config(), NOW).split("Agents per shift")[1]
    assert "  early (Asia/Jakarta: Mon 08:00-17:00; Sat 09:00-13:00):" in shifts
    assert "Sari (1)" in shifts and "teams billing; capacity 3, manager" in shifts
    assert "Agus (2)" in shifts and "capacity 5" in shifts


def test_the_summary_prints_the_coverage_gap() -> None:
    summary = summarize(shop_config(), NOW)
    assert "  billing: Sat 2026-11-28 13:00-15:00 WIB open, no agent on shift" in summary
    assert (
        "  night: Fri 2026-11-27 22:00 - Sat 2026-11-28 06:00 WIB open, no agent on shift"
        in summary
    )


def test_the_example_config_summarises_without_gaps() -> None:
    summary = summarize(load_config(EXAMPLE), NOW)
    for team in ("sales", "support", "billing", "night"):
        assert f"  {team} (" in summary
    assert gap_lines(summary) == ["none: every open hour has an agent on shift"]
