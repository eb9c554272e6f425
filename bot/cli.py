"""The `frontdoor` command (SPEC §10): one subcommand per job, each a small function."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from handoff.config import Config
from handoff.config_loader import ConfigError, load_config

EXIT_OK = 0
EXIT_USAGE = 2
DEFAULT_CONFIG = "config/frontdoor.yaml"
BOT_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts


def _config_or_complaint(path: str) -> Config | None:
    """The config at `path`, or None after printing what is wrong with it."""
    try:
        return load_config(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return None


def check_config(args: argparse.Namespace) -> int:
    """Validate a config file and print its summary, coverage gaps included."""
    from handoff.config_summary import summarize

    config = _config_or_complaint(args.file)
    if config is None:
        return EXIT_USAGE
    print(summarize(config, now=datetime.now(UTC)))
    return EXIT_OK


def db_upgrade(args: argparse.Namespace) -> int:
    """Bring the database schema to the newest migration (Alembic)."""
    from handoff.migrations import upgrade

    url = args.database_url
    if url is None:
        config = _config_or_complaint(args.config)
        if config is None:
            return EXIT_USAGE
        url = config.database.url
    asyncio.run(upgrade(url))
    print(f"database at {_redact(url)} is up to date")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run the bot against Telegram (or any Bot API server) until stopped."""
    import logging
    import os

    from bot.app import Frontdoor
    from handoff.clock import Clock, SystemClock, TickingClock

    config = _config_or_complaint(args.config)
    if config is None:
        return EXIT_USAGE
    token = os.environ.get(config.bot.token_env, "")
    if not BOT_TOKEN.match(token):
        return _refuse(f"set {config.bot.token_env} to the bot's token (<digits>:<secret>, "
                       "from @BotFather)")  # fmt: skip
    secret = None
    if config.bot.mode == "webhook":
        secret = os.environ.get(config.bot.webhook_secret_env, "")
        if not WEBHOOK_SECRET.match(secret):
            return _refuse(f"webhook mode needs {config.bot.webhook_secret_env} "
                           "(1-256 characters A-Z a-z 0-9 _ -)")  # fmt: skip
    clock: Clock = SystemClock()
    if args.clock:
        try:
            clock = TickingClock(datetime.fromisoformat(args.clock))
        except ValueError as error:
            return _refuse(f"--clock: {error}")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the token
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per timer run otherwise
    bot = Frontdoor(
        config,
        token,
        api_url=args.api_url,
        database_url=args.database_url,
        clock=clock,
        webhook_secret=secret,
        config_path=args.config,
        dashboard_token=os.environ.get(config.web.dashboard_token_env) or None,
    )
    asyncio.run(_serve(bot))
    return EXIT_OK


def _refuse(why: str) -> int:
    """`frontdoor run` cannot start: say why, exit with the usage code."""
    print(f"frontdoor run: {why}", file=sys.stderr)
    return EXIT_USAGE


async def _serve(bot: Any) -> None:
    """Start, wait for SIGINT or SIGTERM, stop cleanly."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await bot.start()
    print("frontdoor is running; Ctrl-C stops it", flush=True)
    try:
        await stop.wait()
    finally:
        await bot.stop()


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

    runner = commands.add_parser(
        "run", help="run the bot against Telegram (token from TELEGRAM_BOT_TOKEN)"
    )
    runner.add_argument("--config", default=DEFAULT_CONFIG)
    runner.add_argument(
        "--api-url",
        default="https://api.telegram.org",
        help="the Bot API server's root (a sandbox, a self-hosted server)",
    )
    runner.add_argument("--database-url", help="overrides the config's database.url")
    runner.add_argument("--clock", help="start the bot's clock at this ISO moment (demos)")
    runner.set_defaults(handler=run)

    for name, help_text in (
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
