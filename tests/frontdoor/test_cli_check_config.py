"""`frontdoor check-config`: a summary for a good file, `FILE:LINE path: message` for a bad one."""

from pathlib import Path

import pytest

from frontdoor.cli import main

EXAMPLE = Path(__file__).parents[2] / "config" / "frontdoor.yaml"


def test_check_config_prints_the_summary_of_a_valid_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Config OK: 4 teams")
    assert "Opening hours this week" in out and "Coverage gaps this week" in out
    assert err == ""


def test_check_config_names_file_line_and_field_of_a_broken_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EXAMPLE.read_text()
    line = text.splitlines().index("    schedule: office") + 1
    broken = tmp_path / "frontdoor.yaml"
    broken.write_text(text.replace("    schedule: office", "    schedule: weekdy"))
    assert main(["check-config", str(broken)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"frontdoor.yaml:{line} teams.billing.schedule: unknown schedule 'weekdy'\n"


def test_check_config_reports_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: cannot read the file" in capsys.readouterr().err


def test_check_config_says_where_each_setting_comes_from_and_shows_no_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "123456:very-secret-token"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgres://frontdoor:hunter2@db.internal:5432/frontdoor")
    monkeypatch.setenv("FRONTDOOR_WEB_HOST", "0.0.0.0")
    assert main(["check-config", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    settings = out.split("Settings (a flag, else the environment, else the config file):\n")[1]
    assert settings.splitlines()[:7] == [
        "  database: postgresql+asyncpg://frontdoor:***@db.internal:5432/frontdoor "
        "(environment DATABASE_URL)",
        "  web.host: 0.0.0.0 (environment FRONTDOOR_WEB_HOST)",
        "  web.port: 8088 (config web.port)",
        "  bot.mode: polling (config bot.mode)",
        "  bot.webhook_url: not set (config bot.webhook_url)",
        "  bot token: set (environment TELEGRAM_BOT_TOKEN)",
        "  webhook secret: not set (environment TELEGRAM_WEBHOOK_SECRET)",
    ]
    assert token not in out and "hunter2" not in out

    monkeypatch.delenv("DATABASE_URL")
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert "  database: sqlite+aiosqlite:///frontdoor.db (config database.url)" in (
        capsys.readouterr().out
    )


def test_check_config_refuses_a_deployment_variable_its_setting_does_not_take(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_WEB_PORT", "99999")
    assert main(["check-config", str(EXAMPLE)]) == 2
    assert capsys.readouterr().err.startswith("FRONTDOOR_WEB_PORT='99999': ")
