"""The `frontdoor` command: subcommands still to come say so; `run` refuses bad setups clearly."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

import pytest

from frontdoor.cli import EXIT_USAGE, main
from tests.sandbox_support import BOT_TOKEN
from tests.support.frontdoor import EXAMPLE


def test_an_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["launch-rockets"])
    assert exit_info.value.code == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("environment", "arguments", "complaint"),
    [
        ({}, [], "set TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "not a token"}, [], "set TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "1:x"}, ["--clock", "tomorrow"], "--clock"),
        ({"TELEGRAM_BOT_TOKEN": "1:x"}, ["--clock", "2026-11-28T22:00"], "--clock"),
        (
            {"TELEGRAM_BOT_TOKEN": "1:x", "FRONTDOOR_CLOCK_SET_AT": "2026-11-28T22:00"},
            ["--clock", "2026-11-28T22:00+07:00"],
            "$FRONTDOOR_CLOCK_SET_AT: '2026-11-28T22:00' is not an ISO moment",
        ),
        ({"TELEGRAM_BOT_TOKEN": "1:x"}, ["--config", "/no/such/file.yaml"], "file.yaml"),
        (
            {"TELEGRAM_BOT_TOKEN": "1:x", "FRONTDOOR_DASHBOARD_TOKEN": "short"},
            [],
            "FRONTDOOR_DASHBOARD_TOKEN must be at least 16 characters",
        ),
    ],
    ids=[
        "no-token",
        "malformed-token",
        "bad-clock",
        "clock-without-zone",
        "clock-set-at-without-zone",
        "missing-config",
        "short-dashboard-token",
    ],
)
def test_run_refuses_to_start_without_what_it_needs(
    environment, arguments, complaint, capsys, monkeypatch
):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("FRONTDOOR_DASHBOARD_TOKEN", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert main(["run", *arguments]) == EXIT_USAGE

    assert complaint in capsys.readouterr().err


def test_run_in_webhook_mode_needs_a_secret(tmp_path, capsys, monkeypatch):
    config = tmp_path / "webhook.yaml"
    config.write_text(EXAMPLE.read_text().replace("  mode: polling ", "  mode: webhook ", 1))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)

    assert main(["run", "--config", str(config)]) == EXIT_USAGE

    assert "TELEGRAM_WEBHOOK_SECRET" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("mode", "arguments", "complaint"),
    [
        ("webhook", ["--workers", "3", "--db", "x.db"], "several workers need PostgreSQL"),
        ("polling", ["--workers", "2", "--database-url", "postgresql://u:p@h/d"], "webhook mode"),
        ("webhook", ["--workers", "0", "--database-url", "postgresql://u:p@h/d"], "from 1 to 64"),
        ("webhook", ["--workers", "65", "--database-url", "postgresql://u:p@h/d"], "from 1 to 64"),
    ],
    ids=["sqlite", "polling", "none", "too-many"],
)
def test_run_refuses_several_workers_it_cannot_run(
    mode, arguments, complaint, tmp_path, capsys, monkeypatch
):
    config = tmp_path / "workers.yaml"
    config.write_text(EXAMPLE.read_text().replace("  mode: polling ", f"  mode: {mode} ", 1))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "a-secret")
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--config", str(config), *arguments]) == EXIT_USAGE

    assert complaint in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()  # nothing started


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--clock", "saturday night"], "--clock: 'saturday night' is not an ISO moment"),
        (["--clock", "2026-11-28T22:00"], "with its offset"),
        (["--api-port", "70000"], "--api-port: 70000 is not a port"),
        (["--web-port", "-1"], "--web-port: -1 is not a port"),
        (["--config", "/no/such/file.yaml"], "file.yaml"),
    ],
    ids=["bad-clock", "clock-without-zone", "api-port", "web-port", "missing-config"],
)
def test_sandbox_refuses_bad_flags_with_exit_code_2(arguments, complaint, capsys):
    assert main(["sandbox", *arguments]) == EXIT_USAGE
    assert complaint in capsys.readouterr().err


def test_sandbox_refuses_a_port_in_use(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        assert main(["sandbox", "--api-port", str(port), "--db", str(tmp_path / "db")]) == 2

    assert "frontdoor sandbox:" in capsys.readouterr().err
    assert not (tmp_path / "db").exists()  # the server comes first: nothing was written


async def test_run_refuses_a_web_port_in_use(sandbox_server, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = tmp_path / "frontdoor.yaml"
        config.write_text(
            EXAMPLE.read_text().replace("  port: 8088", f"  port: {taken.getsockname()[1]}", 1)
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "frontdoor",
            "run",
            "--config",
            str(config),
            "--api-url",
            sandbox_server,
            "--database-url",
            f"sqlite+aiosqlite:///{tmp_path / 'frontdoor.db'}",
            env={**os.environ, "TELEGRAM_BOT_TOKEN": BOT_TOKEN},
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(30):
            _, errors = await process.communicate()

    assert process.returncode == EXIT_USAGE
    assert b"(web.host and web.port in the config)" in errors


@pytest.mark.parametrize(
    ("now", "start"),
    [
        ("2026-11-28T15:00+00:00", "2026-11-27T10:00+07:00"),  # Saturday 22:00 WIB → Friday
        ("2026-12-02T20:30+00:00", "2026-12-03T10:00+07:00"),  # Thursday 03:30 WIB → that day
        ("2026-12-25T03:00+00:00", "2026-12-23T10:00+07:00"),  # Christmas; the 24th is short
    ],
)
def test_the_sandbox_starts_at_10_on_a_working_weekday_when_billing_is_open(now, start):
    from datetime import datetime

    from frontdoor.cli import play_moment
    from handoff.config_loader import load_config
    from handoff.hours import is_open

    config = load_config(EXAMPLE)
    moment = play_moment(config, datetime.fromisoformat(now))

    assert moment == datetime.fromisoformat(start)
    billing = config.schedules[config.teams["billing"].schedule]
    assert is_open(billing, moment)  # the README's walk-through hands Budi to Billing
