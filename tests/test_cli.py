"""The `frontdoor` command: subcommands still to come say so; `run` refuses bad setups clearly."""

from __future__ import annotations

import pytest

from bot.cli import EXIT_USAGE, main
from tests.support.frontdoor import EXAMPLE


@pytest.mark.parametrize("command", ["sandbox", "report", "simulate"])
def test_a_command_not_built_yet_says_so_with_exit_code_2(command, capsys):
    assert main([command]) == EXIT_USAGE
    assert f"frontdoor {command}: not yet available" in capsys.readouterr().err


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
        ({"TELEGRAM_BOT_TOKEN": "1:x"}, ["--config", "/no/such/file.yaml"], "file.yaml"),
    ],
    ids=["no-token", "malformed-token", "bad-clock", "clock-without-zone", "missing-config"],
)
def test_run_refuses_to_start_without_what_it_needs(
    environment, arguments, complaint, capsys, monkeypatch
):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
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
