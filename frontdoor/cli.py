"""Frontdoor, a front-door bot for customer service on Telegram: run it, play with it in a local
sandbox, check its config, migrate its database, report its KPIs."""

# One subcommand per job (SPEC §10), each a small function.

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from frontdoor import __version__, logs
from frontdoor.settings import (
    DATABASE_URL_ENV,
    SettingError,
    database_url,
    deployment,
    redacted,
    secret,
    secrets,
    with_environment,
)
from handoff import unit_of_work
from handoff.clock import Clock, SystemClock, TickingClock
from handoff.config import Config
from handoff.config_loader import ConfigError, load_config
from handoff.kpis.formatting import as_csv, as_table
from handoff.kpis.report import PeriodError, Report, report_dict, report_period, report_zone

T = TypeVar("T")
MAX_SIMULATED_DAYS = 31
WARM_UP_SECONDS = 3600.0  # simulated before the first day and left out: queues start empty
EXIT_OK = 0
EXIT_USAGE = 2
MAX_WORKERS = 64
# The wall-clock moment `--clock` is counted from (default: when the bot starts): `--workers` sets
# it for its workers; workers started apart with `--clock` need it set alike.
CLOCK_SET_AT_ENV = "FRONTDOOR_CLOCK_SET_AT"
DEFAULT_CONFIG = "config/frontdoor.yaml"
CONFIG_HELP = "the config file (default: config/frontdoor.yaml here, else the example config)"
BOT_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
MIN_DASHBOARD_TOKEN = 16  # guessing one at web speed would take longer than the bot lives
NOT_A_MOMENT = "is not an ISO moment with its offset, such as 2026-11-28T22:00+07:00"
LOG_LEVEL_ENV, LOG_FORMAT_ENV = "FRONTDOOR_LOG_LEVEL", "FRONTDOOR_LOG_FORMAT"
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts


def example_config() -> Path:
    """The example config shipped inside the package (PT Nusantara Net)."""
    return Path(str(files("frontdoor") / "example_config.yaml"))


def config_path(given: str | None) -> str:
    """`--config` if given, else `config/frontdoor.yaml` here, else the example config."""
    if given is not None:
        return given
    return DEFAULT_CONFIG if Path(DEFAULT_CONFIG).is_file() else str(example_config())


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
    print("\nSettings (a flag, else the environment, else the config file):")
    for setting in [database_url(config), *deployment(config), *secrets(config)]:
        print(f"  {setting.described()}")
    try:
        with_environment(config)
    except SettingError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def config_schema(args: argparse.Namespace) -> int:
    """Print the config's JSON Schema, from its models: editors validate and complete with it."""
    print(json.dumps(schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def schema() -> dict[str, Any]:
    """The JSON Schema of a config file (what YAML editors check while typing)."""
    found = Config.model_json_schema()
    found["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    found["title"] = "Frontdoor config"
    return found


def simulate(args: argparse.Namespace) -> int:
    """What if: days of arrivals through the real router on a virtual clock, per team."""
    from frontdoor.simulate_page import page
    from handoff.simulation.engine import Arrivals, Simulation
    from handoff.simulation.profile import ProfileError, load_profile
    from handoff.simulation.report import (
        agent_figures,
        as_comparison,
        as_csv,
        as_rows,
        as_table,
        hourly,
        team_figures,
    )

    configs = {"config": _config_or_complaint(args.config)}
    if args.compare:
        configs["compare"] = _config_or_complaint(args.compare)
    if any(config is None for config in configs.values()):
        return EXIT_USAGE
    first = configs["config"]
    assert first is not None
    if not 0 < args.days <= MAX_SIMULATED_DAYS:
        return _refuse(f"--days: {args.days} is not 0 < days <= {MAX_SIMULATED_DAYS}", "simulate")
    zone = report_zone(first)
    try:
        day = date.fromisoformat(args.start) if args.start else _next_monday(zone)
    except ValueError:
        return _refuse(f"--start: {args.start!r} is not an ISO date such as 2026-11-23", "simulate")
    fitted = None
    if args.from_history:
        try:
            fitted = _history_profile(args, first, zone)
        except ValueError as error:
            return _refuse(str(error), "simulate")
    elif args.history_from or args.history_to:
        return _refuse("--from and --to name the history to fit: add --from-history", "simulate")
    profile_path = Path(args.arrivals) if args.arrivals else example_profile()
    start = datetime.combine(day, time(0), zone)
    span = f"{args.days:g} day{'s' if args.days != 1 else ''} from {day:%a %d %b %Y} ({zone})"
    if args.target is not None and not args.staffing:
        return _refuse("--target is the staffing search's: add --staffing", "simulate")
    if args.staffing:
        return _staffing(args, first, fitted or profile_path, start, span)
    results, hours, agents, profiles = {}, {}, {}, {}
    for name, config in configs.items():
        assert config is not None
        try:
            profile = fitted or load_profile(profile_path, config)
        except ProfileError as error:
            return _refuse(str(error), "simulate")
        simulation = Simulation(
            config,
            Arrivals(profile.arrivals),
            profile.people_model(),
            start=start,
            days=args.days,
            seed=args.seed,
            warm_up=WARM_UP_SECONDS,
        )
        outcome = asyncio.run(simulation.run())
        path = args.config if name == "config" else args.compare
        results[path], hours[path] = team_figures(outcome, config), hourly(outcome, config, zone)
        agents[path] = agent_figures(outcome)
        profiles[path] = profile.model_dump(mode="json")
    if args.format == "json":
        found = {
            p: {"teams": as_rows(r), "agents": as_rows(agents[p]), "profile": profiles[p]}
            for p, r in results.items()
        }
        text = json.dumps(found, indent=2)
    elif args.format == "csv":
        text = as_csv(results)
    elif args.format == "html":
        text = page(f"What if: {span}, seed {args.seed}", results, hours, agents)
    else:
        tables = [
            as_table(f"What if, {p}: {span}, seed {args.seed}", r, agents[p])
            for p, r in results.items()
        ]
        if args.compare:
            names = (Path(args.config).name, Path(args.compare).name)
            tables.append(as_comparison(names, *results.values()))
        text = "\n".join(tables)
    return _written(text, args.out)


def _staffing(
    args: argparse.Namespace, config: Config, profile: Any, start: datetime, span: str
) -> int:
    """`simulate --staffing`: the fewest agents per team and hour that meet --target."""
    from handoff.simulation.engine import Arrivals
    from handoff.simulation.profile import ProfileError, load_profile
    from handoff.simulation.report import as_csv
    from handoff.simulation.staffing import DEFAULT_TARGET, HourNeed, as_table, search

    if args.compare:
        return _refuse("--staffing searches one config: leave out --compare", "simulate")
    if args.format == "html":
        return _refuse("--staffing writes a table, csv or json: not html", "simulate")
    target = DEFAULT_TARGET if args.target is None else args.target
    if not 0 < target <= 1:
        return _refuse(f"--target: {target:g} is not a share 0 < target <= 1", "simulate")
    try:
        profile = load_profile(profile, config) if isinstance(profile, Path) else profile
    except ProfileError as error:
        return _refuse(str(error), "simulate")
    found = asyncio.run(
        search(
            config,
            Arrivals(profile.arrivals),
            profile.people_model(),
            start=start,
            days=args.days,
            seed=args.seed,
            warm_up=WARM_UP_SECONDS,
            target=target,
        )
    )
    if args.format == "json":
        text = json.dumps({args.config: dataclasses.asdict(found)}, indent=2)
    elif args.format == "csv":
        text = as_csv({args.config: found.hours}, HourNeed)
    else:
        text = f"What if, {args.config}: {span}, seed {args.seed}\n"
        text += as_table(found, config)
    return _written(text, args.out)


def _written(text: str, out: str | None) -> int:
    """`text` printed, or written to `out` (a folder it cannot write is refused)."""
    if out is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return EXIT_OK
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as error:
        return _refuse(f"--out: cannot write {out}: {error.strerror or error}", "simulate")
    print(f"written to {out}")
    return EXIT_OK


def _history_profile(args: argparse.Namespace, config: Config, zone: Any) -> Any:
    """The profile fitted from the database's chats of `--from` to `--to` (whole days);
    ValueError says what is wrong."""
    from handoff.simulation.history import profile_from_history

    if not (args.history_from and args.history_to):
        raise ValueError("--from-history needs --from DATE and --to DATE (the days to fit)")
    try:
        first, last = date.fromisoformat(args.history_from), date.fromisoformat(args.history_to)
    except ValueError:
        raise ValueError("--from and --to: ISO dates such as 2026-11-23") from None
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    url = _database(args, config)
    try:
        return asyncio.run(
            _reading(
                url,
                lambda database: profile_from_history(
                    database, start, end, zone, config.routing.sticky.window
                ),
            )
        )
    except NoDatabase as error:
        raise ValueError(str(error)) from None


def example_profile() -> Path:
    """The example company's arrival profile, shipped beside its config."""
    return Path(str(files("frontdoor") / "example_simulate.yaml"))


def _next_monday(zone: Any) -> date:
    today = datetime.now(zone).date()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def intents_test(args: argparse.Namespace) -> int:
    """How well the bot reads a labelled file of messages (TEXT<TAB>INTENT per line)."""
    from bot.evaluation import LabelledFileError, as_text, evaluate, parse_labelled
    from bot.understanding import Reader

    config = _config_or_complaint(args.config)
    if config is None:
        return EXIT_USAGE
    try:
        text = Path(args.file).read_text(encoding="utf-8")
        cases = parse_labelled(text, config.intents, source=args.file)
    except (OSError, UnicodeDecodeError) as error:
        return _refuse(f"cannot read {args.file}: {error}", "intents test")
    except LabelledFileError as error:
        return _refuse(str(error), "intents test")
    reader = Reader(config.intents, config.bot.understanding)
    print(as_text(evaluate(reader, config.intents, cases)))
    return EXIT_OK


def db_upgrade(args: argparse.Namespace) -> int:
    """Bring the database schema to the newest migration (Alembic)."""
    from handoff.migrations import upgrade

    config = _config_or_complaint(args.config)
    if config is None:
        return EXIT_USAGE
    url = _database(args, config)
    asyncio.run(upgrade(url))
    print(f"database at {redacted(url)} is up to date")
    return EXIT_OK


class NoDatabase(Exception):
    """There is no Frontdoor database to report on at the URL given."""


def report(args: argparse.Namespace) -> int:
    """Print the KPIs of a period (SPEC §4.4) as a table, CSV or JSON; reads, never writes."""
    config = _config_or_complaint(args.config)
    if config is None:
        return EXIT_USAGE
    now = datetime.now(UTC)
    try:
        start, end = report_period(args.start, args.end, report_zone(config), now)
    except PeriodError as error:
        return _refuse(str(error), "report")
    url = _database(args, config)
    try:
        found = asyncio.run(_read_report(url, config, start, end, now))
    except NoDatabase as error:
        return _refuse(str(error), "report")
    if args.format == "json":
        print(json.dumps(report_dict(found), indent=2, ensure_ascii=False))
    else:
        print(as_csv(found) if args.format == "csv" else as_table(found), end="")
    return EXIT_OK


async def _read_report(
    url: str, config: Config, start: datetime, end: datetime, now: datetime
) -> Report:
    """The report, read from an existing database; a SQLite file that is not there is not made."""
    from handoff.kpis.loading import load_report

    return await _reading(url, lambda database: load_report(database, config, start, end, now))


async def _reading(url: str, read: Callable[[unit_of_work.Reader], Awaitable[T]]) -> T:
    """What `read` finds in the existing database at `url` (NoDatabase if there is none, or it
    cannot be read); nothing is written, and a SQLite file that is not there is not made."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.ext.asyncio import create_async_engine

    from handoff.db import is_sqlite

    try:
        if is_sqlite(url):
            path = make_url(url).database or ""
            if not (path and Path(path).is_file() and Path(path).stat().st_size):  # :memory: too
                raise NoDatabase(
                    f"no database at {path or url} (name one with --db FILE or --database-url; "
                    "frontdoor sandbox keeps its own only with --db FILE)"
                )
        # A plain engine: handoff.db's switches SQLite to WAL on connect, a write.
        engine = create_async_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as error:  # not a URL, no driver, no port
        raise NoDatabase(f"cannot use the database URL {redacted(url)}: {error}") from error
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).has_table("conversation"))
        if not tables:
            raise NoDatabase(
                f"the database at {redacted(url)} has no Frontdoor tables (frontdoor db upgrade)"
            )
        return await read(unit_of_work.EngineReader(engine))
    except (SQLAlchemyError, OSError) as error:
        raise NoDatabase(f"cannot read the database at {redacted(url)}: {error}") from error
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    """Run the bot against Telegram (or any Bot API server) until stopped."""
    from frontdoor.bootstrap import Frontdoor, StartupError

    config = _config_or_complaint(args.config)
    if config is None:
        return EXIT_USAGE
    try:
        config = with_environment(config)
    except SettingError as error:
        return _refuse(str(error))
    token = secret("bot token", config.bot.token_env).value or ""
    if not BOT_TOKEN.match(token):
        return _refuse(f"set {config.bot.token_env} to the bot's token (<digits>:<secret>, "
                       "from @BotFather)")  # fmt: skip
    webhook_secret = None
    if config.bot.mode == "webhook":
        webhook_secret = secret("webhook secret", config.bot.webhook_secret_env).value or ""
        if not WEBHOOK_SECRET.match(webhook_secret):
            return _refuse(f"webhook mode needs {config.bot.webhook_secret_env} "
                           "(1-256 characters A-Z a-z 0-9 _ -)")  # fmt: skip
    dashboard_token = secret("dashboard token", config.web.dashboard_token_env).value or ""
    if dashboard_token and len(dashboard_token) < MIN_DASHBOARD_TOKEN:
        return _refuse(f"{config.web.dashboard_token_env} must be at least "
                       f"{MIN_DASHBOARD_TOKEN} characters (or unset: no dashboard)")  # fmt: skip
    set_at = os.environ.get(CLOCK_SET_AT_ENV)
    clock = _clock(args.clock, set_at)
    if clock is None:
        shown = f"--clock: {args.clock!r}" + (
            f" or ${CLOCK_SET_AT_ENV}: {set_at!r}" if set_at else ""
        )
        return _refuse(f"{shown} {NOT_A_MOMENT}")
    url = _database(args, config)
    if (problem := _start_logging(args, config, urlsplit(url).password)) is not None:
        return _refuse(problem)
    if args.workers != 1:
        return _run_workers(args, config, url)
    bot = Frontdoor(
        config,
        token,
        api_url=args.api_url,
        database_url=url,
        clock=clock,
        webhook_secret=webhook_secret,
        config_path=args.config,
        dashboard_token=dashboard_token or None,
        adapt_config=with_environment,  # a reloaded file keeps the environment's settings
    )
    try:
        asyncio.run(_serve(bot, lambda: "frontdoor is running; Ctrl-C stops it"))
    except StartupError as error:
        return _refuse(str(error))
    except OSError as error:  # the web server's port is taken
        return _refuse(f"{error} (web.host and web.port in the config)")
    return EXIT_OK


def _run_workers(args: argparse.Namespace, config: Config, url: str) -> int:
    """`run --workers N`: N workers on one PostgreSQL (frontdoor/workers_command.py)."""
    from frontdoor.workers_command import Workers, WorkerStartError
    from handoff.db import is_sqlite

    count = args.workers
    if not 1 <= count <= MAX_WORKERS:
        return _refuse(f"--workers: {count} is not from 1 to {MAX_WORKERS}")
    if is_sqlite(url):
        return _refuse(
            f"--workers {count}: several workers need PostgreSQL (--database-url "
            "postgresql://… or DATABASE_URL); SQLite serves one process"
        )
    if config.bot.mode != "webhook":
        return _refuse(
            f"--workers {count}: several workers need webhook mode (bot.mode: webhook or "
            "FRONTDOOR_BOT_MODE=webhook): Telegram lets one process poll"
        )
    if config.web.port + count - 1 > 65535:
        return _refuse(f"--workers {count}: ports from web.port {config.web.port} run out")
    options = ["--api-url", args.api_url]
    for flag, value in (
        ("--config", args.config),
        ("--clock", args.clock),
        ("--log-level", args.log_level),
        ("--log-format", args.log_format),
    ):
        if value:
            options += [flag, value]
    environment = {DATABASE_URL_ENV: url}
    if args.clock:  # the workers' clocks agree, and one started again does not turn it back
        environment[CLOCK_SET_AT_ENV] = datetime.now(UTC).isoformat()
    group = Workers(count, config.web.port, options, environment)
    ports = f"{config.web.port}-{config.web.port + count - 1}"
    banner = f"frontdoor is running: {count} workers, ports {ports}; Ctrl-C stops them"
    try:
        asyncio.run(_serve(group, lambda: banner))
    except WorkerStartError as error:
        return _refuse(str(error))
    return EXIT_OK


def sandbox(args: argparse.Namespace) -> int:
    """The sandbox Bot API server, the bot pointed at it and the page to play it, until Ctrl-C."""
    import secrets
    import tempfile

    from frontdoor.bootstrap import StartupError
    from frontdoor.sandbox_command import Playground

    config = _config_or_complaint(args.config)
    if config is None:
        return EXIT_USAGE
    start = args.clock or play_moment(config, datetime.now(UTC)).isoformat()
    clock = _clock(start)
    if clock is None:
        return _refuse(f"--clock: {args.clock!r} {NOT_A_MOMENT}", "sandbox")
    for flag, port in (("--api-port", args.api_port), ("--web-port", args.web_port)):
        if not 0 <= port <= 65535:
            return _refuse(f"{flag}: {port} is not a port (0-65535)", "sandbox")
    if (problem := _start_logging(args, config)) is not None:
        return _refuse(problem, "sandbox")
    with tempfile.TemporaryDirectory(prefix="frontdoor-sandbox-") as scratch:
        database = Path(args.db) if args.db else Path(scratch) / "frontdoor.db"
        playground = Playground(
            config,
            clock,
            f"sqlite+aiosqlite:///{database}",
            config_path=args.config,
            api_port=args.api_port,
            web_port=args.web_port,
            dashboard_token=secrets.token_urlsafe(12),  # its own: the page shows it to anyone
        )
        kept = "" if args.db else " (temporary: removed when the sandbox stops)"
        try:
            banner = _sandbox_banner(playground, f"{database}{kept}", start, args.clock is None)
            asyncio.run(_serve(playground, banner))
        except (OSError, StartupError) as error:  # a port in use, a file that cannot be written
            return _refuse(str(error), "sandbox")
    return EXIT_OK


def _sandbox_banner(playground: Any, database: str, start: str, chosen: bool) -> Callable[[], str]:
    why = " (a working weekday at 10:00; --clock picks another moment)" if chosen else ""

    def banner() -> str:
        return "\n".join(
            (
                "Frontdoor sandbox is running (Ctrl-C stops it)",
                f"  the page:      {playground.page_url}",
                f"  dashboard:     {playground.dashboard_url}",
                f"  Bot API:       {playground.api_url}/bot<token>/<method>, control API under"
                " /sandbox/",
                f"  database:      {database}",
                f"  clock:         from {start}{why}",
            )
        )

    return banner


def play_moment(config: Config, now: datetime) -> datetime:
    """Where `frontdoor sandbox` starts its clock without `--clock`: 10:00 company time on the
    latest working weekday up to today (no team's holiday or special hours), so the README's
    walk-through finds Billing open at any hour; today at 10:00 if two weeks hold none."""
    from handoff.hours import holiday_name, override_on

    zone = report_zone(config)
    today = now.astimezone(zone).date()
    schedules = [config.schedules[team.schedule] for team in config.teams.values()]
    for back in range(14):
        day = today - timedelta(days=back)
        if day.weekday() < 5 and not any(
            holiday_name(schedule, day) or override_on(schedule, day) for schedule in schedules
        ):
            return datetime.combine(day, time(10), zone)
    return datetime.combine(today, time(10), zone)


def _database(args: argparse.Namespace, config: Config) -> str:
    """The database URL: `--db FILE` or `--database-url`, else $DATABASE_URL, else the config."""
    if args.db:
        return (
            database_url(config, f"sqlite+aiosqlite:///{Path(args.db).resolve()}", "--db").value
            or ""
        )
    return database_url(config, args.database_url).value or ""


def _add_database_flags(parser: argparse.ArgumentParser) -> None:
    """The database flags `run`, `report` and `db upgrade` share."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--database-url",
        help=f"the database (default: ${DATABASE_URL_ENV}, else the config's database.url)",
    )
    which.add_argument("--db", help="a SQLite file, as `frontdoor sandbox --db` keeps")


def _clock(moment: str | None, set_at: str | None = None) -> Clock | None:
    """The system clock, or one ticking on from `moment` (since the wall-clock moment `set_at`,
    if given: several workers' clocks agree); None unless both are ISO times with an offset."""
    if not moment:
        return SystemClock()
    try:
        anchor = datetime.fromisoformat(set_at) if set_at else None
        if anchor is not None and anchor.tzinfo is None:
            return None
        return TickingClock(datetime.fromisoformat(moment), anchor)
    except ValueError:
        return None


def _start_logging(
    args: argparse.Namespace, config: Config, password: str | None = None
) -> str | None:
    """Log as `--log-level`/`--log-format` say (else $FRONTDOOR_LOG_LEVEL/FORMAT, else INFO,
    text), hiding every secret the config names and the database `password`; what is wrong
    with a value, if anything."""
    level = (args.log_level or os.environ.get(LOG_LEVEL_ENV) or "INFO").upper()
    log_format = (args.log_format or os.environ.get(LOG_FORMAT_ENV) or "text").lower()
    if level not in logs.LEVELS:
        return f"log level {level!r}: one of {', '.join(logs.LEVELS)}"
    if log_format not in logs.FORMATS:
        return f"log format {log_format!r}: one of {', '.join(logs.FORMATS)}"
    hidden = [s.value for s in secrets(config) if s.value] + ([password] if password else [])
    logs.configure(level, log_format, hidden)
    return None


def _add_log_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level", help=f"{'|'.join(logs.LEVELS)} (default: ${LOG_LEVEL_ENV}, else INFO)"
    )
    parser.add_argument(
        "--log-format",
        help=f"text|json: one JSON object a line (default: ${LOG_FORMAT_ENV}, else text)",
    )


def _refuse(why: str, command: str = "run") -> int:
    """The command cannot start: say why, exit with the usage code."""
    print(f"frontdoor {command}: {why}", file=sys.stderr)
    return EXIT_USAGE


async def _serve(service: Any, banner: Callable[[], str]) -> None:
    """Start, say so, wait for SIGINT or SIGTERM, stop cleanly. Stopped while it starts (still
    waiting for Telegram, say), it gives up starting."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    starting = asyncio.create_task(service.start())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        return
    stopping.cancel()
    starting.result()  # a start that failed raises here
    print(banner(), flush=True)
    try:
        await stop.wait()
    finally:
        await service.stop()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontdoor", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check-config", help="validate a config file and summarise it")
    check.add_argument("file", nargs="?", help=CONFIG_HELP)
    check.set_defaults(handler=check_config)

    schema_command = commands.add_parser(
        "config-schema", help="print the config's JSON Schema (for editors)"
    )
    schema_command.set_defaults(handler=config_schema)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="apply schema migrations")
    upgrade.add_argument("--config", help=CONFIG_HELP)
    _add_database_flags(upgrade)
    upgrade.set_defaults(handler=db_upgrade)

    intents = commands.add_parser("intents", help="the bot's understanding of customers")
    intent_commands = intents.add_subparsers(
        dest="intents_command", required=True, metavar="ACTION"
    )
    tester = intent_commands.add_parser(
        "test", help="accuracy and misses on a labelled file (TEXT<TAB>INTENT per line, - for none)"
    )
    tester.add_argument("file", help="the labelled file (.tsv)")
    tester.add_argument("--config", help=CONFIG_HELP)
    tester.set_defaults(handler=intents_test)

    runner = commands.add_parser(
        "run", help="run the bot against Telegram (token from TELEGRAM_BOT_TOKEN)"
    )
    runner.add_argument("--config", help=CONFIG_HELP)
    runner.add_argument(
        "--api-url",
        default="https://api.telegram.org",
        help="the Bot API server's root (a sandbox, a self-hosted server)",
    )
    _add_database_flags(runner)
    runner.add_argument("--clock", help="start the bot's clock at this ISO moment (demos)")
    runner.add_argument(
        "--workers",
        type=int,
        default=1,
        help="start this many workers on one PostgreSQL, in webhook mode, worker i on "
        "web.port + i, behind a load balancer (config/nginx.conf)",
    )
    _add_log_flags(runner)
    runner.set_defaults(handler=run)

    play = commands.add_parser(
        "sandbox", help="run the bot against a local Telegram with a web page to play it"
    )
    play.add_argument("--config", help=CONFIG_HELP)
    play.add_argument("--api-port", type=int, default=8081, help="the sandbox Bot API server")
    play.add_argument("--web-port", type=int, default=8080, help="the page and the dashboard")
    play.add_argument("--clock", help="start the bot's clock at this ISO moment")
    play.add_argument("--db", help="SQLite file to keep (default: a new temporary one)")
    _add_log_flags(play)
    play.set_defaults(handler=sandbox)

    kpis = commands.add_parser("report", help="KPIs for a period as a table, CSV or JSON")
    kpis.add_argument(
        "--from", dest="start", help="ISO date (midnight) or moment with offset; default today"
    )
    kpis.add_argument(
        "--to", dest="end", help="ISO date (counted whole) or moment with offset; default now"
    )
    kpis.add_argument("--format", choices=("table", "csv", "json"), default="table")
    kpis.add_argument("--config", help=CONFIG_HELP)
    _add_database_flags(kpis)
    kpis.set_defaults(handler=report)

    what_if = commands.add_parser(
        "simulate", help="what if: days of chats through the real router on a virtual clock"
    )
    what_if.add_argument("--config", help=CONFIG_HELP)
    what_if.add_argument("--compare", metavar="OTHER.yaml", help="a second config, side by side")
    source = what_if.add_mutually_exclusive_group()
    source.add_argument(
        "--arrivals",
        metavar="PROFILE.yaml",
        help="who asks for a person when, and how people behave (default: the example's)",
    )
    source.add_argument(
        "--from-history",
        action="store_true",
        help="fit them from the database's chats of --from DATE to --to DATE",
    )
    what_if.add_argument("--from", dest="history_from", help="the history's first day, ISO")
    what_if.add_argument("--to", dest="history_to", help="the history's last day, ISO (counted)")
    _add_database_flags(what_if)
    what_if.add_argument("--days", type=float, default=1.0, help="how many days (default 1)")
    what_if.add_argument("--start", help="the first simulated day, ISO (default: next Monday)")
    what_if.add_argument("--seed", type=int, default=1, help="the same seed, the same days")
    what_if.add_argument("--format", choices=("table", "csv", "json", "html"), default="table")
    what_if.add_argument("--out", help="write to this file instead of printing (html: a page)")
    what_if.add_argument(
        "--staffing",
        action="store_true",
        help="search the fewest agents per team and hour that meet --target",
    )
    what_if.add_argument(
        "--target",
        type=float,
        help="with --staffing: the share to answer within each team's SLA (default 0.8)",
    )
    what_if.set_defaults(handler=simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if "config" in args:
        args.config = config_path(args.config)
    if "file" in args:
        args.file = config_path(args.file)
    return args.handler(args)
