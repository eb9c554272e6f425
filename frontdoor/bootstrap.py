"""One bootstrap for the running bot: database, routing core, timers, Telegram, inbox and outbox.

`Frontdoor.start()` brings everything up in this event loop and `stop()` takes it down, so
`frontdoor run`, `frontdoor sandbox` and the end-to-end tests start the same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, CallbackContext

from agents_app.card_sync import CardSync
from agents_app.desk import AgentDesk
from agents_app.handlers import add_handlers as add_agent_handlers
from agents_app.handlers import register_commands as register_agent_commands
from agents_app.managing import config_changed_notices, reload_text
from agents_app.notices import AgentNotices
from bot.crm import CrmClient
from bot.customer import CustomerDesk, add_handlers, trained_reader
from bot.customer import register_commands as register_customer_commands
from bot.notices import CustomerNotices
from frontdoor.config_watch import ConfigWatcher
from frontdoor.settings import secret
from frontdoor.web import dashboard, health, metrics
from frontdoor.web.prometheus import Metrics
from frontdoor.web.server import RouteAdder, WebServer
from handoff import unit_of_work
from handoff.clock import Clock, SystemClock
from handoff.config import Config
from handoff.config_loader import ConfigError, load_config
from handoff.db import create_engine
from handoff.migrations import upgrade
from handoff.reload import Reloaded, needs_restart
from handoff.router import Router
from handoff.timers import RoutingScheduler
from handoff.workers import Workers, workers_for
from telegram_io import inbox, polling
from telegram_io.aiohttp_request import make_request
from telegram_io.outbox import Outbox
from telegram_io.retry import backoff
from telegram_io.webhook import WebhookIntake

log = logging.getLogger(__name__)
_handler_errors: contextvars.ContextVar[list[Exception] | None] = contextvars.ContextVar(
    "handler_errors", default=None
)

STARTUP_RETRY_SECONDS = (0.5, 1, 2, 5, 10)
QUEUE_NOTICE_EVERY = 15.0  # seconds between looks at waiting customers' places in line
POSITION_NOTICE_GAP = 60.0  # a customer hears a new place in line at most this often (SPEC §3.5)


class StartupError(Exception):
    """Frontdoor cannot start; the message says why, in one line, and holds no secret."""


@dataclass
class Frontdoor:
    config: Config
    token: str
    api_url: str = "https://api.telegram.org"  # the server's root; /bot<token>/… is added
    database_url: str | None = None
    clock: Clock = field(default_factory=SystemClock)
    webhook_secret: str | None = None  # webhook mode when set (config.bot.mode == "webhook")
    web_port: int | None = None  # overrides config.web.port; 0 picks a free one (tests)
    config_path: str | None = None  # the file `/reload` reads again
    dashboard_token: str | None = None  # the dashboard is refused to everyone while None
    adapt_config: Callable[[Config], Config] | None = None  # applied to each reloaded file too
    web_routes: list[RouteAdder] = field(default_factory=list)  # more pages on the web server

    engine: AsyncEngine = field(init=False)
    router: Router = field(init=False)
    application: Application = field(init=False)
    outbox: Outbox = field(init=False)
    processor: inbox.Processor = field(init=False)
    metrics: Metrics = field(init=False)
    workers: Workers = field(init=False)
    reloads: int = field(default=0, init=False)  # config files switched to since the start

    def __post_init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []
        self.web: WebServer | None = None
        self.watcher: ConfigWatcher | None = None
        self._reloading = asyncio.Lock()

    async def start(self) -> None:
        """Migrate the database, then start timers, the outbox and the intake of updates.
        StartupError when it cannot (its message names no secret)."""
        url = self.database_url or self.config.database.url
        try:
            await upgrade(url)
        except (SQLAlchemyError, OSError) as error:
            cause = str(getattr(error, "orig", None) or error).splitlines()[0]
            raise StartupError(f"the database cannot be used ({cause})") from None
        self.engine = create_engine(url)
        self.workers = workers_for(url)  # SQLite: this process alone; PostgreSQL: perhaps more
        self.router = Router(
            self.engine, self.config, self.clock, sole_writer=not self.workers.shared
        )
        self.database = self.router.database  # what the web pages read through
        self.metrics = Metrics()  # the bot's own registry: several bots may share a process
        self.router.listeners.append(self.metrics.observe)
        root = self.api_url.rstrip("/")
        transport = self.config.bot.transport
        requests = make_request(transport), make_request(transport)
        self.application = (
            ApplicationBuilder()
            .token(self.token)
            .base_url(f"{root}/bot")
            .base_file_url(f"{root}/file/bot")
            .request(requests[0])
            .get_updates_request(requests[1])
            .updater(None)
            .build()
        )
        try:  # first, so a bad token or API URL is said at once
            await self._until_reachable(self.application.initialize)
        except BaseException:  # refused, or stopped while waiting: close what is open
            await asyncio.gather(*(request.shutdown() for request in requests))
            await unit_of_work.dispose(self.engine)
            raise
        self.outbox = Outbox(
            self.engine,
            self.application.bot,
            on_forbidden=self._unreachable,
            limits=self.config.bot.pacing,
            shared=self.workers.shared,
        )
        self.crm = CrmClient(
            self.config.crm, secret("CRM secret", self.config.crm.secret_env).value
        )
        self.desk = CustomerDesk(
            self.router, self.outbox, self.crm, await trained_reader(self.router)
        )
        self.agent_desk = AgentDesk(self.router, self.outbox, reload=self._reload_asked)
        add_agent_handlers(self.application, self.agent_desk)  # before the customer's: group 0
        add_handlers(self.application, self.desk)
        self.application.add_error_handler(self._keep_error)
        self.agent_notices = AgentNotices(self.router, self.outbox)
        self.cards = CardSync(self.router, self.outbox)
        self.router.stagers += [
            CustomerNotices(self.router, self.outbox),
            self.agent_notices,
            self.cards,
        ]
        self.scheduler = RoutingScheduler(self.router)
        self.processor = inbox.Processor(self.engine, self._handle, self.workers)
        if not self.workers.shared:  # (the leader, whichever it is, loads them when it leads)
            await self.outbox.load()  # leftovers of a previous run first, in their order
        await self.application.start()
        self.agent_notices.bot_username = self.application.bot.username
        # Routing starts only now that every listener is attached: agents coming on shift may
        # take chats held while the bot was down, and those offers must be heard and timed.
        await self.router.sync_agents()
        self._spawn(self.workers.lead(self._lead, self._woken, self._reload_elsewhere), "lead")
        self._spawn(self.processor.run(), "left-behind")
        every = self.config.bot.config_check_every
        if self.config_path is not None and every > 0:
            self.watcher = ConfigWatcher(Path(self.config_path), self._file_changed, every)
            self._spawn(self.watcher.run(), "config-watch")
        await self.scheduler.start()
        self.scheduler.every(QUEUE_NOTICE_EVERY, self._tell_queue_positions, "queue-positions")
        resumed = await self.processor.resume()
        if resumed:
            log.info("resuming %s updates stored before a restart", resumed)
        adders = [health.add_routes, metrics.add_routes, dashboard.add_routes, *self.web_routes]
        if self.webhook_secret is not None:
            intake = WebhookIntake(self.engine, self.webhook_secret, self.processor.submit)
            adders.append(intake.add_routes)
        self.web = WebServer(self, adders)
        port = self.config.web.port if self.web_port is None else self.web_port
        await self.web.start(self.config.web.host, port)
        if self.webhook_secret is not None:
            if self.config.bot.webhook_url:
                try:
                    await self.application.bot.set_webhook(
                        self.config.bot.webhook_url,
                        secret_token=self.webhook_secret,
                        allowed_updates=polling.ALLOWED_UPDATES,
                        max_connections=self.config.bot.webhook_max_connections,
                    )
                except BadRequest as error:
                    await self.stop()
                    raise StartupError(
                        f"Telegram refused the webhook {self.config.bot.webhook_url} "
                        f"({error.message}): check bot.webhook_url"
                    ) from None
        else:
            bot = self.application.bot
            await self._until_reachable(bot.delete_webhook)  # no getUpdates while one is set
            self._spawn(
                polling.poll(
                    bot, self.engine, self.processor, timeout=self.config.bot.poll_timeout
                ),
                "polling",
            )

    async def stop(self) -> None:
        """Stop taking updates, finish what is in hand, and close everything."""
        for task in self._tasks:
            if task.get_name() == "polling":
                task.cancel()
        if self.web is not None:
            await self.web.stop()
        await self.processor.drain()
        await self.scheduler.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.outbox.stop()
        await self.application.stop()
        await self.application.shutdown()
        await self.crm.close()
        await self.workers.close()
        await unit_of_work.dispose(self.engine)

    async def _lead(self) -> None:
        """What only one worker does (all of it, for a single process): send to Telegram, keep
        the group's cards, set the command menus and learn which agents the bot can reach."""
        self._spawn(self._command_menus(), "commands")
        self._spawn(self._probe_agents(), "probe")
        await asyncio.gather(self.outbox.run(), self.cards.run())

    def _woken(self) -> None:
        """Another worker staged calls or changed cards (it NOTIFYs the leader)."""
        self.outbox.nudge()
        self.cards.nudge()

    async def _until_reachable(self, call: Callable[[], Awaitable[Any]]) -> None:
        """Telegram down at startup (5xx, timeouts, no route): keep trying. A refused token is
        final: StartupError, saying what is wrong without the token (PTB's message has it)."""
        for attempt in itertools.count():
            try:
                await call()
                return
            except InvalidToken as error:
                env = self.config.bot.token_env
                if "Unauthorized" in str(error.__cause__ or error):
                    why = f"Telegram rejected the token (401 Unauthorized): check {env}"
                else:
                    why = (
                        f"no Bot API at {self.api_url} (404 Not Found), or a malformed token: "
                        f"check --api-url and {env}"
                    )
                raise StartupError(why) from None
            except NetworkError as error:
                pause = backoff(attempt, STARTUP_RETRY_SECONDS)
                log.warning("Telegram unreachable at startup (%s); retrying in %ss", error, pause)
                await asyncio.sleep(pause)

    def _spawn(self, work: Any, name: str) -> None:
        self._tasks = [task for task in self._tasks if not task.done()]
        task = asyncio.create_task(work, name=name)
        task.add_done_callback(self._crashed)
        self._tasks.append(task)

    @staticmethod
    def _crashed(task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s stopped", task.get_name(), exc_info=task.exception())

    async def _handle(self, raw: inbox.RawUpdate) -> None:
        """Run the handlers; an error they raise reaches the inbox (PTB would only log it)."""
        failures: list[Exception] = []
        token = _handler_errors.set(failures)
        try:
            await self.application.process_update(Update.de_json(raw, self.application.bot))
        finally:
            _handler_errors.reset(token)
        if failures:
            raise failures[0]

    @staticmethod
    async def _keep_error(update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
        failures = _handler_errors.get()
        if failures is not None and isinstance(context.error, Exception):
            failures.append(context.error)

    async def _unreachable(self, chat_id: int) -> None:
        """Telegram answered 403: the customer blocked the bot, or an agent never /start-ed it."""
        if self.config.agent(chat_id) is not None:
            await self.router.set_reachable(chat_id, False)
        elif chat_id > 0:
            await self.router.customer_blocked(chat_id)

    async def reload_config(self) -> Reloaded:
        """Read the config file again and switch to it; a broken file changes nothing and the
        answer is its errors. One reload at a time (`/reload` and a saved file may meet)."""
        async with self._reloading:
            return await self._reload()

    async def _reload_asked(self) -> Reloaded:
        """A manager's `/reload`: reload here, then the other workers read their config file
        again too (a file that is not watched would otherwise differ between them)."""
        reloaded = await self.reload_config()
        if reloaded.ok:
            await self.workers.tell_reloaded()
        return reloaded

    def _reload_elsewhere(self) -> None:
        """Another worker reloaded on `/reload`: so does this one (its manager was answered)."""
        self._spawn(self._reload_quietly(), "reload")

    async def _reload_quietly(self) -> None:
        reloaded = await self.reload_config()
        outcome = reload_text(self.config, self.config.bot.agents_language, reloaded)
        log.log(logging.INFO if reloaded.ok else logging.WARNING, "/reload: %s", outcome)

    async def _reload(self) -> Reloaded:
        if self.config_path is None:
            return Reloaded(False)
        if self.watcher is not None:
            self.watcher.mark_current()  # saved again while this reads it: the watcher sees that
        try:
            # Off the event loop: customers are answered while a big file is read and checked.
            config = await asyncio.to_thread(load_config, self.config_path)
        except ConfigError as error:
            return Reloaded(False, str(error))
        if self.adapt_config is not None:
            config = self.adapt_config(config)
        running = self.config
        try:
            await self.router.sync_agents(config)
            await self.router.recheck_held()
        except Exception:
            self.router.config = running  # the database did not take it: nothing switches
            raise
        self.config = config
        self.reloads += 1
        await self.scheduler.arm_openings()
        await self.desk.reload()
        self.scheduler.arm_shift_boundary()
        if self.workers.leading:
            self._spawn(self._command_menus(), "commands")
            self._spawn(self._probe_agents(), "probe")
        return Reloaded(
            True,
            teams=len(config.teams),
            agents=len(config.agents),
            intents=len(config.intents),
            at_restart=tuple(needs_restart(running, config)),
        )

    async def _file_changed(self) -> None:
        """The config file was saved: reload it and tell the managers how that went."""
        reloaded = await self.reload_config()
        outcome = reload_text(self.config, self.config.bot.agents_language, reloaded)
        log.log(
            logging.INFO if reloaded.ok else logging.WARNING,
            "config file %s changed: %s",
            self.config_path,
            outcome,
        )
        if self.workers.leading:  # every worker watches the file; one tells the managers
            await self.outbox.put(*config_changed_notices(self.config, reloaded))

    async def _command_menus(self) -> None:
        await register_customer_commands(self.application, self.config)
        await register_agent_commands(self.application, self.agent_desk)

    async def _probe_agents(self) -> None:
        """A "typing…" to each agent: one who never started the bot answers 403, and is then
        skipped for offers (the group is told) until they press Start. Any other answer (no such
        chat yet, Telegram down) tells nothing, and the agent stays as they were."""
        for agent in self.config.agents:
            try:
                await self.application.bot.send_chat_action(agent.id, ChatAction.TYPING)
            except Forbidden:
                await self.router.set_reachable(agent.id, False)
            except TelegramError as error:
                log.info("reachability of agent %s unknown: %s", agent.id, error)

    async def _tell_queue_positions(self) -> None:
        if self.workers.leading:  # one worker tells them (several would tell them twice)
            await self.router.refresh_queue_positions(POSITION_NOTICE_GAP)
        self.desk.throttle.forget_idle(time.time())
