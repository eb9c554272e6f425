"""`frontdoor simulate`: the example company's day on the real router, one config or two side by
side; what it cannot use is refused with exit code 2."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from frontdoor.cli import EXIT_OK, EXIT_USAGE, main
from handoff import store
from handoff.config_loader import load_config
from handoff.states import AgentStatus
from tests.support.frontdoor import EXAMPLE
from tests.support.routing import running_router

MORNING = ["--start", "2026-11-23", "--days", "0.4"]  # Monday to 09:36: quick


def test_the_example_day_is_reported_per_team(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--config", str(EXAMPLE), *MORNING]) == EXIT_OK
    out = capsys.readouterr().out
    teams, agents = out.strip().split("\n\n")
    title, header, *rows = teams.splitlines()
    assert title.startswith(f"What if, {EXAMPLE}: 0.4 days from Mon 23 Nov 2026 (Asia/Jakarta)")
    assert header.split()[:4] == ["team", "chats", "answered", "left"]
    assert rows[-1].split()[0] == "all" and "support" in [r.split()[0] for r in rows]
    agent_header, *agent_rows = agents.splitlines()
    assert agent_header.split()[:3] == ["agent", "offers", "accepted"]
    assert any(row.startswith("Agus Setiawan") for row in agent_rows)
    table = [header, *rows, agent_header, *agent_rows]  # the title names the file as given
    assert max(len(line) for line in table) <= 100


def test_the_same_seed_gives_the_same_days(capsys: pytest.CaptureFixture[str]) -> None:
    runs = []
    for _ in range(2):
        assert main(["simulate", "--config", str(EXAMPLE), *MORNING, "--format", "json"]) == 0
        runs.append(json.loads(capsys.readouterr().out))
    assert runs[0] == runs[1]
    support = next(r for r in runs[0][str(EXAMPLE)]["teams"] if r["team"] == "support")
    agents = runs[0][str(EXAMPLE)]["agents"]
    assert {a["name"] for a in agents} >= {"Sari Wulandari", "Agus Setiawan"}
    assert all(a["utilization"] is None or 0 <= a["utilization"] <= 1 for a in agents)
    assert sum(a["handled"] for a in agents) > 0
    assert support["arrivals"] > 0 and 0 <= support["service_level"] <= 1


def test_two_configs_side_by_side_show_what_fewer_agents_cost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["agents"] = [a for a in data["agents"] if "support" not in a["teams"] or a["id"] == 1005]
    fewer = tmp_path / "fewer.yaml"
    fewer.write_text(yaml.safe_dump(data, allow_unicode=True))
    arguments = ["simulate", "--config", str(EXAMPLE), "--compare", str(fewer), *MORNING]
    assert main([*arguments, "--format", "json"]) == EXIT_OK
    both = json.loads(capsys.readouterr().out)
    mean = {
        name: next(r for r in found["teams"] if r["team"] == "support")
        for name, found in both.items()
    }
    assert (mean[str(fewer)]["wait_mean"] or 0) > (mean[str(EXAMPLE)]["wait_mean"] or 0)

    assert main(arguments) == EXIT_OK
    table = capsys.readouterr().out
    header = next(
        line for line in table.splitlines() if line.startswith("team") and "change" in line
    )
    words = "team SL A SL B change mean wait A mean wait B change"
    assert header.split() == words.split()
    assert "A: frontdoor.yaml   B: fewer.yaml" in table
    support = next(line for line in table.splitlines()[::-1] if line.startswith("support"))
    assert support.split()[3].startswith("-")  # fewer agents: a lower service level


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        (["--days", "0"], "--days: 0.0 is not 0 < days <= 31"),
        (["--days", "90"], "--days: 90.0 is not 0 < days <= 31"),
        (["--start", "monday"], "--start: 'monday' is not an ISO date such as 2026-11-23"),
    ],
)
def test_what_it_cannot_simulate_is_refused(
    options: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--config", str(EXAMPLE), *options]) == EXIT_USAGE
    assert capsys.readouterr().err == f"frontdoor simulate: {complaint}\n"


def test_a_broken_profile_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "busy.yaml"
    profile.write_text("people: {handle: {mean: 300}}\narrivals: {gangguan: -5}\n")
    arguments = ["simulate", "--config", str(EXAMPLE), "--arrivals", str(profile)]
    assert main(arguments) == EXIT_USAGE
    assert (
        "busy.yaml arrivals: Value error, gangguan: a rate of chats per hour cannot be negative"
        in (capsys.readouterr().err)
    )


def test_out_writes_the_report_to_a_file_and_a_folder_it_cannot_write_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "what-if.json"
    arguments = ["simulate", "--config", str(EXAMPLE), *MORNING, "--format", "json"]
    assert main([*arguments, "--out", str(out)]) == EXIT_OK
    assert capsys.readouterr().out == f"written to {out}\n"
    assert json.loads(out.read_text())[str(EXAMPLE)]["teams"][-1]["team"] == "all"
    nowhere = tmp_path / "missing" / "what-if.json"
    assert main([*arguments, "--out", str(nowhere)]) == EXIT_USAGE
    assert capsys.readouterr().err.startswith(f"frontdoor simulate: --out: cannot write {nowhere}")


def test_csv_is_a_line_per_scenario_and_team(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--config", str(EXAMPLE), *MORNING, "--format", "csv"]) == EXIT_OK
    header, *lines = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert header[:4] == ["scenario", "team", "arrivals", "answered"]
    assert {line[0] for line in lines} == {str(EXAMPLE)} and lines[-1][1] == "all"
    row = dict(zip(header, lines[-1], strict=True))
    assert 0 <= float(row["service_level"]) <= 1 and int(row["arrivals"]) > 0


async def history(directory: Path) -> str:
    """A database where, on Monday 23 Nov, eight customers asked Support about an outage at
    10:00-11:45: each waited 30 s, was claimed and closed after 5 minutes; one gave up after 2."""
    config = load_config(EXAMPLE)
    async with running_router(directory, config) as router:
        for agent in (1001, 1002):
            await router.set_agent_status(agent, AgentStatus.AVAILABLE)
        for i in range(8):
            await router.ensure_customer(500 + i)
            busy = await router.request_handoff(500 + i, intent="gangguan")
            router.clock.advance(30)
            async with router.engine.connect() as conn:
                offer = await conn.run_sync(store.pending_offer, busy.conversation_id)
            agent = offer.agent_id
            assert (await router.claim(busy.conversation_id, agent)).result == "claimed"
            router.clock.advance(300)
            await router.close(busy.conversation_id, by_agent_id=agent)
            router.clock.advance(300)
        for agent in (1001, 1002):
            await router.set_agent_status(agent, AgentStatus.OFFLINE)
        await router.ensure_customer(600)
        left = await router.request_handoff(600, intent="gangguan")
        router.clock.advance(120)
        await router.cancel(600)
        assert left.conversation_id
    return str(directory / "frontdoor.db")


async def test_from_history_fits_the_profile_of_the_days_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = await history(tmp_path)
    arguments = ["simulate", "--config", str(EXAMPLE), "--from-history", "--db", database]
    period = ["--from", "2026-11-23", "--to", "2026-11-23", "--start", "2026-11-30"]
    options = ["--days", "0.25", "--format", "json"]
    assert await asyncio.to_thread(main, [*arguments, *period, *options]) == EXIT_OK
    profile = json.loads(capsys.readouterr().out)[str(EXAMPLE)]["profile"]
    rates = profile["arrivals"]["gangguan"]
    assert rates[10] + rates[11] == 9 and sum(rates) == 9  # the nine, at 10:00 and 11:00
    assert profile["people"]["handle"]["mean"] == pytest.approx(300)
    assert profile["people"]["claim_delay"]["mean"] >= 0
    assert profile["people"]["patience"]["mean"] == pytest.approx((8 * 30 + 120) / 1)


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        (["--from-history"], "--from-history needs --from DATE and --to DATE"),
        (["--from", "2026-11-23", "--to", "2026-11-23"], "add --from-history"),
        (
            ["--from-history", "--from", "2026-11-24", "--to", "2026-11-23"],
            "--to 2026-11-23 is before --from 2026-11-24",
        ),
        (
            ["--from-history", "--from", "2026-11-01", "--to", "2026-11-02"],
            "no chat asked for a person in that period",
        ),
    ],
)
async def test_from_history_refuses_what_it_cannot_fit(
    options: list[str], complaint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = await history(tmp_path)
    arguments = ["simulate", "--config", str(EXAMPLE), "--db", database, *options]
    assert await asyncio.to_thread(main, arguments) == EXIT_USAGE
    assert complaint in capsys.readouterr().err


def test_staffing_gives_the_agents_needed_per_team_and_hour(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "--config", str(EXAMPLE), *MORNING, "--staffing"]) == EXIT_OK
    heading, *blocks = capsys.readouterr().out.split("\n\n")
    title, summary = heading.splitlines()
    assert title.startswith(f"What if, {EXAMPLE}: 0.4 days from Mon 23 Nov 2026")
    assert summary.startswith("Staffing: agents on shift for 80% answered within each team's SLA")
    by_team = {block.split(":")[0]: block.splitlines() for block in blocks}
    assert {"night", "support", "billing"} <= set(by_team)
    heading, hours, needed, on_shift = by_team["support"][:4]
    assert heading == "support: SLA 5:00, 4 chats at once per agent"
    assert hours.split()[1:] == [f"{hour:02}" for hour in range(24)]
    assert needed.startswith("mon needed") and on_shift.startswith("mon on shift")
    cells = needed.split()[2:]
    assert cells[:7] == ["."] * 7  # support opens at 07:00 (the night team before)
    assert all(cell.rstrip("!").isdigit() for cell in cells[7:10])
    assert max(len(line) for block in blocks for line in block.splitlines()) <= 100


def test_staffing_as_json_and_csv_is_a_row_per_team_and_hour(
    capsys: pytest.CaptureFixture[str],
) -> None:
    night = ["simulate", "--config", str(EXAMPLE), "--start", "2026-11-23", "--days", "0.2"]
    assert main([*night, "--staffing", "--target", "0.9", "--format", "json"]) == EXIT_OK
    found = json.loads(capsys.readouterr().out)[str(EXAMPLE)]
    assert found["target"] == 0.9 and found["rounds"] >= 1 and found["capacity"]["night"] == 4
    rows = found["hours"]
    assert {(r["team"], r["day"]) for r in rows} == {("night", "mon")}
    assert [r["hour"] for r in rows] == [0, 1, 2, 3, 4]
    assert all(r["needed"] >= 0 and r["on_shift"] == 1 for r in rows)
    assert all(r["service_level"] is None or r["met"] == (r["service_level"] >= 0.9) for r in rows)
    assert main([*night, "--staffing", "--target", "0.9", "--format", "csv"]) == EXIT_OK
    header, *lines = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert header == ["scenario", *rows[0]]
    assert [line[1:5] for line in lines] == [
        [r["team"], r["day"], str(r["hour"]), str(r["needed"])] for r in rows
    ]


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        (
            ["--staffing", "--compare", str(EXAMPLE)],
            "--staffing searches one config: leave out --compare",
        ),
        (["--staffing", "--format", "html"], "--staffing writes a table, csv or json: not html"),
        (["--staffing", "--target", "80"], "--target: 80 is not a share 0 < target <= 1"),
        (["--staffing", "--target", "0"], "--target: 0 is not a share 0 < target <= 1"),
        (["--target", "0.9"], "--target is the staffing search's: add --staffing"),
    ],
)
def test_what_the_staffing_search_cannot_use_is_refused(
    options: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--config", str(EXAMPLE), *options]) == EXIT_USAGE
    assert capsys.readouterr().err == f"frontdoor simulate: {complaint}\n"
