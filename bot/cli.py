"""The `frontdoor` command (SPEC §10): one subcommand per job, each a small function."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from handoff.config_loader import ConfigError, load_config

EXIT_OK = 0
EXIT_USAGE = 2
DEFAULT_CONFIG = "config/frontdoor.yaml"


def check_config(args: argparse.Namespace) -> int:
    """Validate a config file and print its summary, coverage gaps included."""
    from handoff.config_summary import summarize

    try:
        config = load_config(args.file)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    print(summarize(config, now=datetime.now(UTC)))
    return EXIT_OK


def db_upgrade(args: argparse.Namespace) -> int:
    """Bring the database schema to the newest migration (Alembic)."""
    from handoff.migrations import upgrade

    url = args.database_url
    if url is None:
        try:
            url = load_config(args.config).database.url
        except ConfigError as error:
            print(error, file=sys.stderr)
            return EXIT_USAGE
    asyncio.run(upgrade(url))
    print(f"database at {_redact(url)} is up to date")
    return EXIT_OK


def not_yet(name: str) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        print(f"frontdoor {name}: not yet available in this version", file=sys.stderr)
        return EXIT_USAGE

    return command


def _redact(url: str) -> str:
    """A database URL with any password hidden, safe to print."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontdoor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check-config", help="validate a config file and summarise it")
    check.add_argument("file", nargs="?", default=DEFAULT_CONFIG)
    check.set_defaults(handler=check_config)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="apply schema migrations")
    upgrade.add_argument("--config", default=DEFAULT_CONFIG)
    upgrade.add_argument("--database-url", help="overrides the config's database.url")
    upgrade.set_defaults(handler=db_upgrade)

    for name, help_text in (
        ("run", "run the bot against Telegram (token from TELEGRAM_BOT_TOKEN)"),
        ("sandbox", "run the bot against a local Telegram with a web page to play it"),
        ("report", "KPIs for a period as a table, CSV or JSON"),
        ("simulate", "replay traffic against a config and predict waits and load"),
    ):
        later = commands.add_parser(name, help=help_text)
        later.add_argument("rest", nargs=argparse.REMAINDER)
        later.set_defaults(handler=not_yet(name))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
