"""`frontdoor report`: the KPIs of a period as a table, CSV or JSON, read from the bot's database;
bad periods and missing databases are refused with exit code 2, and nothing is written."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from frontdoor.cli import EXIT_OK, EXIT_USAGE, main
from handoff.router import ActionResult
from tests.support.configs import make_config
from tests.support.frontdoor import EXAMPLE
from tests.support.routing import running_router, served_chat

DAY = "2026-11-23"  # the Monday tests.support.routing starts at 10:00 in Jakarta


@pytest.fixture
async def database(tmp_path: Path) -> str:
    """A database with one chat: waited 30 s, answered after 60 s, closed after 270 s, rated 5."""
    async with running_router(tmp_path, make_config(agents=[{"id": 1}, {"id": 2}])) as router:
        chat = await served_chat(router)
        assert await router.record_csat(chat, 100, 5) is ActionResult.DONE
    return f"sqlite+aiosqlite:///{tmp_path / 'frontdoor.db'}"


async def report(database_url: str, *options: str) -> int:
    """`frontdoor report` for the test day (in a thread: the command runs its own event loop)."""
    arguments = ["report", "--from", DAY, "--to", DAY, "--config", str(EXAMPLE)]
    return await asyncio.to_thread(main, [*arguments, "--database-url", database_url, *options])


async def test_json_is_the_report_with_a_row_per_scope(database, capsys):
    assert await report(database, "--format", "json") == EXIT_OK

    data = json.loads(capsys.readouterr().out)
    assert (data["start"], data["end"], data["timezone"]) == (
        "2026-11-23T00:00:00+07:00",
        "2026-11-24T00:00:00+07:00",
        "Asia/Jakarta",
    )
    rows = {row["key"]: row for row in data["rows"]}
    assert [row["scope"] for row in data["rows"]] == ["overall", "team", "agent", "agent"]
    overall = rows["all"]
    assert (overall["wait_p50_s"], overall["first_response_p50_s"], overall["aht_s"]) == (
        30.0,
        60.0,
        270.0,
    )
    assert (overall["fcr_pct"], overall["csat_mean"], overall["csat_good_pct"]) == (100, 5, 100)
    assert (rows["support"]["name"], rows["support"]["closed"]) == ("Support", 1)
    assert (rows["1"]["name"], rows["1"]["handled"], rows["2"]["handled"]) == ("Agent1", 1, 0)


async def test_csv_is_a_header_and_a_line_per_scope(database, capsys):
    assert await report(database, "--format", "csv") == EXIT_OK

    header, *lines = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert header[:5] == ["scope", "key", "name", "created", "closed"]
    assert [line[:3] for line in lines] == [
        ["overall", "all", "All"],
        ["team", "support", "Support"],
        ["agent", "1", "Agent1"],
        ["agent", "2", "Agent2"],
    ]
    assert dict(zip(header, lines[0], strict=True))["csat_mean"] == "5.0"


async def test_a_table_is_the_default(database, capsys):
    assert await report(database) == EXIT_OK

    out = capsys.readouterr().out
    title, _, section, header, overall, *_ = out.splitlines()
    assert title == "KPIs from 2026-11-23 00:00 to 2026-11-24 00:00 (Asia/Jakarta)"
    assert section == "Volume and speed"
    assert header.split()[:3] == ["created", "closed", "transfers"]
    assert overall.split()[:6] == ["All", "1", "1", "0", "0:30", "0:30"]
    assert max(len(line) for line in out.splitlines()) <= 100


async def test_a_period_outside_the_data_reports_nothing_happened(database, capsys):
    code = await report(database, "--format", "json", "--from", "2026-11-20", "--to", "2026-11-21")

    assert code == EXIT_OK
    overall = json.loads(capsys.readouterr().out)["rows"][0]
    assert (overall["created"], overall["wait_p50_s"], overall["csat_count"]) == (0, None, 0)


@pytest.mark.parametrize(
    ("period", "complaint"),
    [
        (["--from", "last monday"], "'last monday' is neither an ISO date"),
        (["--from", "2026-11-23T10:00"], "has no offset"),
        (["--from", "2026-11-24", "--to", "2026-11-23"], "the period is empty"),
        (["--from", "2026-11-23T12:00+07:00", "--to", "2026-11-23T05:00Z"], "the period is empty"),
    ],
)
def test_a_bad_period_is_refused_before_the_database_is_opened(tmp_path, capsys, period, complaint):
    missing = tmp_path / "never.db"

    code = main(["report", "--config", str(EXAMPLE), "--database-url", _url(missing), *period])

    assert code == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("frontdoor report: ") and complaint in err


def test_a_missing_database_is_refused_and_not_created(tmp_path, capsys):
    missing = tmp_path / "never.db"

    assert main(["report", "--config", str(EXAMPLE), "--database-url", _url(missing)]) == EXIT_USAGE

    assert capsys.readouterr().err == (
        f"frontdoor report: no database at {missing} (name one with --db FILE or "
        "--database-url; frontdoor sandbox keeps its own only with --db FILE)\n"
    )
    assert not missing.exists()


def test_an_empty_file_is_no_database_and_stays_empty(tmp_path, capsys):
    empty = tmp_path / "empty.db"
    empty.touch()

    assert main(["report", "--config", str(EXAMPLE), "--database-url", _url(empty)]) == EXIT_USAGE

    assert "no database at" in capsys.readouterr().err
    assert empty.stat().st_size == 0


def test_a_database_without_frontdoors_tables_is_refused(tmp_path, capsys):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")

    assert main(["report", "--config", str(EXAMPLE), "--database-url", _url(other)]) == EXIT_USAGE

    assert "has no Frontdoor tables" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nonsense", "nonsense"),
        ("postgresql+asyncpg://u:secret@h:notaport/db", "postgresql+asyncpg://u:***@h:notaport/db"),
    ],
    ids=["no-url", "no-port"],
)
def test_a_database_url_that_cannot_be_used_is_refused(url, shown, capsys):
    assert main(["report", "--config", str(EXAMPLE), "--database-url", url]) == EXIT_USAGE

    errors = capsys.readouterr().err
    assert f"cannot use the database URL {shown}" in errors
    assert "secret" not in errors


def test_an_unknown_format_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--format", "xml"])

    assert exit_info.value.code == EXIT_USAGE
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def test_db_names_a_sqlite_file_as_the_sandbox_keeps_it(database, capsys):
    path = database.removeprefix("sqlite+aiosqlite:///")
    arguments = ["report", "--from", DAY, "--to", DAY, "--config", str(EXAMPLE), "--db", path]
    assert await asyncio.to_thread(main, [*arguments, "--format", "json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["rows"][0]["closed"] == 1


async def test_database_url_comes_from_the_environment_unless_a_flag_names_one(
    database, capsys, monkeypatch, tmp_path
):
    arguments = ["report", "--from", DAY, "--to", DAY, "--config", str(EXAMPLE), "--format", "csv"]
    # as hosting platforms write it: the driver is added
    monkeypatch.setenv("DATABASE_URL", database.replace("sqlite+aiosqlite://", "sqlite://"))
    assert await asyncio.to_thread(main, arguments) == EXIT_OK
    assert capsys.readouterr().out.startswith("scope,key,name")

    missing = tmp_path / "other.db"
    assert await asyncio.to_thread(main, [*arguments, "--db", str(missing)]) == EXIT_USAGE
    assert f"no database at {missing}" in capsys.readouterr().err


def test_db_and_database_url_are_one_or_the_other(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--db", "a.db", "--database-url", "sqlite+aiosqlite:///b.db"])
    assert "not allowed with argument" in capsys.readouterr().err
