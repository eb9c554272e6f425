"""A live reload's outcome (SPEC §6): how it went, and which changed settings wait for a restart."""

from __future__ import annotations

from dataclasses import dataclass

from handoff.config import Config

# What a running bot set up at start: a changed value waits for the next restart.
SET_AT_START = ("database", "web", "bot.token_env", "bot.mode", "bot.webhook_url",
                "bot.webhook_secret_env", "bot.transport", "bot.poll_timeout", "bot.pacing",
                "bot.config_check_every", "routing.sweep_every")  # fmt: skip


@dataclass(frozen=True)
class Reloaded:
    """How a reload went: what the new config holds, or why it was refused (`problem`: the
    loader's `FILE:LINE path: why` lines, or None when the bot has no config file)."""

    ok: bool
    problem: str | None = None
    teams: int = 0
    agents: int = 0
    intents: int = 0
    at_restart: tuple[str, ...] = ()


def needs_restart(running: Config, loaded: Config) -> list[str]:
    """The settings of `SET_AT_START` that differ between the running and the loaded config."""

    def value(config: Config, dotted: str) -> object:
        found: object = config
        for part in dotted.split("."):
            found = getattr(found, part)
        return found

    return [name for name in SET_AT_START if value(running, name) != value(loaded, name)]
