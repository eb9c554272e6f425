"""Where each setting comes from, in one order: a command-line flag, else the environment, else
the config file, else the default. Secrets come only from the environment (a config file gets
committed, a flag shows in `ps`); the config names the variable to read.

Written here rather than with pydantic-settings: the variables' names are themselves settings of
the config file (`bot.token_env` …), and `check-config` must say where each value came from,
which that library does not tell.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from handoff.config import Config

DATABASE_URL_ENV = "DATABASE_URL"
# The URL schemes hosting platforms hand out, and the async driver Frontdoor uses for each.
DRIVERS = {
    "postgres://": "postgresql+asyncpg://",
    "postgresql://": "postgresql+asyncpg://",
    "sqlite://": "sqlite+aiosqlite://",
}


# Settings of where and how the bot runs (not of the business): a container sets them in its
# environment and keeps the config file as the managers wrote it. (variable, config section, key)
DEPLOYMENT = (
    ("FRONTDOOR_WEB_HOST", "web", "host"),
    ("FRONTDOOR_WEB_PORT", "web", "port"),
    ("FRONTDOOR_BOT_MODE", "bot", "mode"),
    ("FRONTDOOR_WEBHOOK_URL", "bot", "webhook_url"),
)


class SettingError(ValueError):
    """An environment variable that does not hold a value its setting takes."""


@dataclass(frozen=True)
class Setting:
    """A setting's value (None: not set) and where it came from, said for people."""

    name: str
    value: str | None
    source: str
    secret: bool = False

    def described(self) -> str:
        """`name: value (source)`; a secret's value is never shown, only whether it is set, nor
        a URL's password."""
        if self.value is None:
            return f"{self.name}: not set ({self.source})"
        shown = "set" if self.secret else redacted(self.value)
        return f"{self.name}: {shown} ({self.source})"


def redacted(url: str) -> str:
    """A URL with any password hidden, safe to print."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def with_driver(url: str) -> str:
    """A database URL with the async driver Frontdoor needs (`postgres://…` as platforms give
    it → `postgresql+asyncpg://…`); a URL naming its driver is kept as it is."""
    for plain, driver in DRIVERS.items():
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


def database_url(
    config: Config,
    flag: str | None = None,
    flag_name: str = "--database-url",
    environ: Mapping[str, str] = os.environ,
) -> Setting:
    """The database: `flag` if given, else $DATABASE_URL, else the config's `database.url`."""
    if flag:
        return Setting("database", with_driver(flag), flag_name)
    if found := environ.get(DATABASE_URL_ENV):
        return Setting("database", with_driver(found), f"environment {DATABASE_URL_ENV}")
    return Setting("database", config.database.url, "config database.url")


def secret(name: str, variable: str, environ: Mapping[str, str] = os.environ) -> Setting:
    """A secret from the environment variable the config names."""
    value = environ.get(variable) or None
    return Setting(name, value, f"environment {variable}", secret=True)


def secrets(config: Config, environ: Mapping[str, str] = os.environ) -> list[Setting]:
    """Every secret the bot reads, each from its environment variable."""
    return [
        secret("bot token", config.bot.token_env, environ),
        secret("webhook secret", config.bot.webhook_secret_env, environ),
        secret("dashboard token", config.web.dashboard_token_env, environ),
        secret("CRM secret", config.crm.secret_env, environ),
    ]


def with_environment(config: Config, environ: Mapping[str, str] = os.environ) -> Config:
    """The config with the deployment settings the environment sets (`DEPLOYMENT`) in place of
    the file's; SettingError names a variable whose value the setting does not take."""
    given = [
        (variable, section, key) for variable, section, key in DEPLOYMENT if variable in environ
    ]
    if not given:
        return config
    data = config.model_dump()
    for variable, section, key in given:
        data[section][key] = environ[variable]
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        wrong = {
            variable
            for problem in error.errors()
            for variable, section, key in given
            if tuple(problem["loc"][:2]) == (section, key)
        }
        named = ", ".join(f"{v}={environ[v]!r}" for v in sorted(wrong)) or "the environment"
        reason = error.errors()[0]["msg"]
        raise SettingError(f"{named}: {reason}") from None


def deployment(config: Config, environ: Mapping[str, str] = os.environ) -> list[Setting]:
    """Where each deployment setting comes from (`config` as the file gave it)."""
    found = []
    for variable, section, key in DEPLOYMENT:
        name = f"{section}.{key}"
        if variable in environ:
            found.append(Setting(name, environ[variable], f"environment {variable}"))
        else:
            value = getattr(getattr(config, section), key)
            found.append(Setting(name, None if value is None else str(value), f"config {name}"))
    return found
