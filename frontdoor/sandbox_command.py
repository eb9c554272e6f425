"""`frontdoor sandbox` (SPEC §7): the sandbox Bot API server, the bot pointed at it and the page
where one person plays customers and agents, in one process, with no token and no network.

The world is set up through the sandbox's control API, as any outside client would: a user per
configured agent (each has pressed Start), the agents group with all of them, and two customers.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import func, make_url, select
from sqlalchemy.exc import OperationalError

from frontdoor.bootstrap import Frontdoor
from handoff.clock import Clock
from handoff.config import Config
from handoff.db import create_engine, is_sqlite
from handoff.kpis.report import report_zone
from handoff.tables import Card, InboxUpdate, Message, OutboxMessage
from sandbox.server import create_app
from sandbox.ui import ui_routes

SANDBOX_TOKEN = "100000001:frontdoor-sandbox"  # the sandbox takes any <digits>:<secret>
SANDBOX_GROUP_ID = -1001000000001  # the agents group, when the config names none
STARTER_CUSTOMERS = ({"first_name": "Budi", "language_code": "id"},
                     {"first_name": "Alice", "language_code": "en"})  # fmt: skip


def free_port(host: str) -> int:
    """A port nobody listens on right now (for tests, which ask for port 0)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def with_agents_group(config: Config) -> Config:
    """The config, with the sandbox's agents group if it names none."""
    if config.bot.agents_group_id is not None:
        return config
    bot = config.bot.model_copy(update={"agents_group_id": SANDBOX_GROUP_ID})
    return config.model_copy(update={"bot": bot})


@dataclass
class Playground:
    config: Config
    clock: Clock
    database_url: str
    config_path: str | None = None
    api_port: int = 8081
    web_port: int = 8080
    dashboard_token: str | None = None
    host: str = "127.0.0.1"

    bot: Frontdoor = field(init=False)
    setup: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.config = with_agents_group(self.config)
        self.api_port = self.api_port or free_port(self.host)
        self.web_port = self.web_port or free_port(self.config.web.host)
        self._runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def page_url(self) -> str:
        return f"http://{self.config.web.host}:{self.web_port}/"

    @property
    def dashboard_url(self) -> str | None:
        if self.dashboard_token is None:
            return None
        return f"{self.page_url}dashboard?token={self.dashboard_token}"

    async def start(self) -> None:
        """The server, then its users and group, then the bot, then the agents' Start."""
        origins = {self.page_url.rstrip("/"), f"http://localhost:{self.web_port}"}
        seen_update, seen_message = await highest_ids_seen(self.database_url)
        app = create_app(
            bot_token=SANDBOX_TOKEN,
            clock=lambda: self.clock.now().timestamp(),
            cors_origins=origins,
            first_ids=(seen_update + 1, seen_message + 1),
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.api_port).start()
        async with aiohttp.ClientSession(self.api_url) as control:
            agents = [
                await _post(control, "/sandbox/users", _agent_user(a)) for a in self.config.agents
            ]
            group = await _post(
                control,
                "/sandbox/groups",
                {
                    "id": self.config.bot.agents_group_id,
                    "title": "Agents",
                    "member_ids": [a["id"] for a in agents],
                },
            )
            customers = [await _post(control, "/sandbox/users", c) for c in STARTER_CUSTOMERS]
            for agent in agents:  # before the bot starts, so its reachability probe finds them
                await _post(control, f"/sandbox/users/{agent['id']}/send", {"text": "/start"})
        self.bot = Frontdoor(
            self.config,
            SANDBOX_TOKEN,
            api_url=self.api_url,
            database_url=self.database_url,
            clock=self.clock,
            config_path=self.config_path,
            web_port=self.web_port,
            dashboard_token=self.dashboard_token,
            adapt_config=with_agents_group,
        )
        self.setup |= {
            "api": self.api_url,
            "group": {"id": group["id"], "title": group["title"]},
            "agents": agents,
            "customers": customers,
            "dashboard": self.dashboard_url,
            "timezone": report_zone(self.config).key,
        }
        self.bot.web_routes.append(ui_routes(self.setup))
        await self.bot.start()
        me = self.bot.application.bot
        self.setup["bot"] = {"id": me.id, "first_name": me.first_name, "username": me.username}

    async def stop(self) -> None:
        if hasattr(self, "bot"):
            await self.bot.stop()
        if self._runner is not None:
            await self._runner.cleanup()


async def highest_ids_seen(database_url: str) -> tuple[int, int]:
    """The highest update id and message id a kept database knows ((0, 0) for a new one): a
    restarted sandbox numbers on from them, as Telegram would, so the bot takes nothing new
    for a redelivery, nor a new message for one it relayed before."""
    path = make_url(database_url).database
    if is_sqlite(database_url) and (not path or not Path(path).exists()):
        return 0, 0  # nothing to read (and no file made by looking)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            update_id = await conn.scalar(select(func.max(InboxUpdate.update_id)))
            message_ids = [
                await conn.scalar(select(func.max(column)))
                for column in (
                    Message.telegram_message_id,
                    OutboxMessage.message_id,
                    Card.message_id,
                )
            ]
    except OperationalError:  # a new database: no tables yet
        return 0, 0
    finally:
        await engine.dispose()
    return update_id or 0, max(m or 0 for m in message_ids)


def _agent_user(agent: Any) -> dict[str, Any]:
    first, *rest = agent.name.split(" ", 1)
    user = {"id": agent.id, "first_name": first, "language_code": "en"}
    if rest:
        user["last_name"] = rest[0]
    if agent.username:
        user["username"] = agent.username
    return user


async def _post(control: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> Any:
    async with control.post(path, json=body) as response:
        answer = await response.json()
        if response.status >= 400:
            raise RuntimeError(f"sandbox refused {path}: {answer.get('description')}")
        return answer.get("message", answer)
