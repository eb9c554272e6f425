"""The container files, checked as they stand (no container engine runs here): the Dockerfile
builds a slim image running `frontdoor run` as a user of its own with a health check, and
compose.yaml runs it with PostgreSQL in webhook mode, every variable one the bot reads."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from frontdoor.cli import EXIT_USAGE, LOG_FORMAT_ENV, LOG_LEVEL_ENV, build_parser, main
from frontdoor.settings import DATABASE_URL_ENV, DEPLOYMENT, SettingError, with_environment
from handoff.config_loader import load_config
from telegram_io.webhook import WEBHOOK_PATH
from tests.support.frontdoor import EXAMPLE

ROOT = Path(__file__).parents[2]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each Dockerfile line, continuations joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def last(instruction: str) -> str:
    return [args for name, args in dockerfile() if name == instruction][-1]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_the_image_is_slim_and_runs_as_a_user_of_its_own() -> None:
    bases = [args for name, args in dockerfile() if name == "FROM"]
    assert bases and all(re.match(r"python:3\.1[1-9]-slim\b", base) for base in bases)
    user = last("USER")
    assert user not in ("root", "0") and not user.startswith("0:")
    assert "useradd" in " ".join(args for name, args in dockerfile() if name == "RUN")


def test_the_images_command_is_frontdoor_run() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert json.loads(last("ENTRYPOINT")) == ["frontdoor"] and "frontdoor" in scripts
    arguments = json.loads(last("CMD"))
    parsed = build_parser().parse_args(arguments)
    assert parsed.command == "run" and parsed.config == "/app/config/frontdoor.yaml"
    assert "8088" in last("EXPOSE").split()


def test_the_image_checks_its_health_on_healthz() -> None:
    check = last("HEALTHCHECK")
    assert re.search(r"--interval=\d+s", check) and "CMD" in check
    assert "/healthz" in check


def test_compose_runs_the_bot_with_postgresql_in_webhook_mode() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "bot"}
    db, bot = services["db"], services["bot"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert bot["build"] == "."
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["ports"] == ["8088:8088"]
    assert build_parser().parse_args(bot["command"]).command == "run"
    assert "/healthz" in " ".join(bot["healthcheck"]["test"])
    environment = bot["environment"]
    assert environment["FRONTDOOR_BOT_MODE"] == "webhook"
    assert environment[DATABASE_URL_ENV].startswith("postgresql://frontdoor:")
    assert environment[DATABASE_URL_ENV].endswith("@db:5432/frontdoor")
    assert WEBHOOK_PATH in (ROOT / "compose.yaml").read_text()  # the URL to give, in its comment


def test_every_variable_compose_sets_is_one_the_bot_reads() -> None:
    config = load_config(EXAMPLE)
    read = {
        DATABASE_URL_ENV,
        config.bot.token_env,
        config.bot.webhook_secret_env,
        config.web.dashboard_token_env,
        config.crm.secret_env,
        *(variable for variable, _, _ in DEPLOYMENT),
        LOG_LEVEL_ENV,
        LOG_FORMAT_ENV,
    }
    assert set(compose()["services"]["bot"]["environment"]) <= read


def test_the_environment_of_compose_makes_a_config_the_bot_takes() -> None:
    environment = {
        key: value
        for key, value in compose()["services"]["bot"]["environment"].items()
        if key.startswith("FRONTDOOR_") and "${" not in str(value)
    }
    environment["FRONTDOOR_WEBHOOK_URL"] = "https://cs.example.co.id" + WEBHOOK_PATH
    config = with_environment(load_config(EXAMPLE), environment)
    assert (config.bot.mode, config.web.host, config.web.port) == ("webhook", "0.0.0.0", 8088)
    assert config.bot.webhook_url == "https://cs.example.co.id" + WEBHOOK_PATH


@pytest.mark.parametrize(
    ("variable", "value"),
    [("FRONTDOOR_WEB_PORT", "eighty"), ("FRONTDOOR_BOT_MODE", "carrier-pigeon")],
)
def test_a_deployment_variable_the_setting_does_not_take_is_named(
    variable: str, value: str
) -> None:
    with pytest.raises(SettingError) as refused:
        with_environment(load_config(EXAMPLE), {variable: value})
    assert str(refused.value).startswith(f"{variable}={value!r}: ")


def test_the_dockerignore_keeps_tests_and_databases_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", "tests", "*.db"} <= set(ignored)


def test_run_refuses_a_deployment_variable_before_it_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_BOT_MODE", "carrier-pigeon")
    assert main(["run", "--config", str(EXAMPLE)]) == EXIT_USAGE
    assert capsys.readouterr().err.startswith(
        "frontdoor run: FRONTDOOR_BOT_MODE='carrier-pigeon': "
    )
