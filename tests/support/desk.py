"""The agents' side end to end: the example company with its agents group, and helpers that act
only through the sandbox's control API (customers write, agents claim and reply) and read what
each chat shows.

    async with agents_desk(sandbox, tmp_path) as desk:
        ani = await desk.customer("Ani")
        await ani.says("/human")
        card = await desk.card_showing(conversation_id, "offered to @sari_nusanet")
        assert await desk.press_claim(1001, conversation_id) == "#1 is yours: …"
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

from frontdoor.bootstrap import Frontdoor
from handoff import store
from handoff.config import Config
from handoff.config_loader import load_config
from telegram_io.texts import say
from tests.sandbox_support import SandboxClient
from tests.support.frontdoor import EXAMPLE, TUESDAY_10_WIB, running_frontdoor

GROUP_ID = -1001234567890
Message = dict[str, Any]


def desk_config(
    *, agents: list[dict[str, Any]] | None = None, bot: dict[str, Any] | None = None, **routing: Any
) -> Config:
    """The example company with its agents group; test pacing (Telegram's ratios, faster), a
    sweep every 0.1 s so timeouts follow the test's clock at once; `agents` and `routing` replace
    the example's."""
    data = load_config(EXAMPLE).model_dump()
    data["bot"] |= {
        "pacing": {
            "per_chat_per_s": 50,
            "per_chat_burst": 20,
            "per_group_per_min": 6000,
            "global_per_s": 1000,
        },
        "poll_timeout": 1,
        "agents_group_id": GROUP_ID,
        **(bot or {}),
    }
    data["routing"] |= {"sweep_every": 0.1, **routing}
    if agents is not None:
        data["agents"] = agents
    return Config.model_validate(data)


def example_agents(capacity: dict[int, int]) -> list[dict[str, Any]]:
    """The example company's agents, with some capacities changed."""
    agents = load_config(EXAMPLE).model_dump()["agents"]
    for agent in agents:
        agent["capacity"] = capacity.get(agent["id"], agent["capacity"])
    return agents


def from_bot(message: Message) -> bool:
    return message["from"]["is_bot"]


def text_of(message: Message) -> str:
    return message.get("text") or message.get("caption") or ""


def buttons(message: Message) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


STEP = re.compile(r"\.\d+o?$")  # the step a customer's button was sent at


def actions(message: Message) -> list[tuple[str, str]]:
    """The buttons, without the step a customer's topic, FAQ or choice button carries
    (`menu:tagihan.3o` is `menu:tagihan`)."""
    return [(label, STEP.sub("", data)) for label, data in buttons(message)]


class Chat:
    """One private chat with the bot, of a customer or an agent."""

    def __init__(self, sandbox: SandboxClient, user: dict[str, Any]) -> None:
        self.sandbox = sandbox
        self.user = user
        self.id: int = user["id"]

    async def says(self, text: str, **fields: Any) -> Message:
        return (await self.sandbox.send(self.id, text, **fields))["message"]

    async def sends(self, **content: Any) -> Message:
        """A photo, document, voice, sticker or location (see SandboxClient.send)."""
        return (await self.sandbox.send(self.id, **content))["message"]

    async def shown(self) -> list[Message]:
        return await self.sandbox.messages(self.id)

    async def bot_texts(self) -> list[str]:
        return [text_of(m) for m in await self.shown() if from_bot(m)]

    async def sees(self, fragment: str, timeout: float = 5.0) -> Message:
        """The first bot message containing `fragment` (waits for it)."""
        return await self.sandbox.wait_for(
            self.id, lambda m: from_bot(m) and fragment in text_of(m), timeout
        )

    async def press(self, message: Message, data: str) -> str:
        """Press a button of a message in this chat (`data` as it is, or as `actions` shows
        it); the bot's short answer."""
        data = next(
            (
                real
                for (_, real), (_, bare) in zip(buttons(message), actions(message), strict=True)
                if bare == data
            ),
            data,
        )
        pressed = await self.sandbox.press(self.id, self.id, message["message_id"], data)
        answer = await self.sandbox.callback_answer(pressed["callback_query"]["id"])
        return answer.get("text", "")


class Desk:
    """The running bot, its agents group, and its agents' and customers' chats."""

    def __init__(self, sandbox: SandboxClient, bot: Frontdoor) -> None:
        self.sandbox = sandbox
        self.bot = bot
        self.agents: dict[int, Chat] = {}

    @property
    def config(self) -> Config:
        return self.bot.router.config

    async def open_agents_group(self, started: list[int] | None = None) -> None:
        """Every configured agent as a sandbox user in the agents group; those in `started`
        (default: all) have pressed Start in their private chat with the bot."""
        for spec in self.config.agents:
            user = await self.sandbox.add_user(
                spec.name.split()[0], id=spec.id, username=spec.username
            )
            self.agents[spec.id] = Chat(self.sandbox, user)
        await self.sandbox.add_group("Agents", list(self.agents), id=GROUP_ID)
        for agent_id in self.agents if started is None else started:
            await self.agents[agent_id].says("/start")
            await self.agents[agent_id].sees(self.welcome(agent_id))

    def agent(self, agent_id: int) -> Chat:
        return self.agents[agent_id]

    def welcome(self, agent_id: int) -> str:
        """How the bot greets this agent's Start, in their language."""
        config = self.bot.config
        return say(config, config.agent_language(agent_id), "agent_welcome", help="").strip()

    def username(self, agent_id: int) -> str:
        spec = self.config.agent(agent_id)
        assert spec is not None and spec.username is not None
        return spec.username

    async def customer(self, name: str, language: str = "id", **fields: Any) -> Chat:
        chat = Chat(
            self.sandbox, await self.sandbox.add_user(name, language_code=language, **fields)
        )
        await chat.says("/start")
        await chat.sees("Nusantara Net")
        return chat

    async def handed_off(self, name: str, text: str = "/human", **fields: Any) -> tuple[Chat, int]:
        """A new customer who asks for a person: (their chat, the conversation id)."""
        chat = await self.customer(name, **fields)
        await chat.says(text)
        conversation_id = await self.conversation_of(chat.id)
        return chat, conversation_id

    async def conversation_of(self, customer_id: int, timeout: float = 5.0) -> int:
        """The customer's open conversation, once the handoff is through."""
        loop_deadline = _deadline(timeout)
        while True:
            _, conversation = await self.bot.router.customer_status(customer_id)
            if conversation is not None and conversation.state != "bot":
                return int(conversation.id)
            await _tick(loop_deadline, f"customer {customer_id} has no open conversation")

    async def stored(self, conversation_id: int) -> Any:
        """The conversation's row as the database holds it now."""
        async with self.bot.engine.connect() as conn:
            row = await conn.run_sync(store.get_conversation, conversation_id)
        assert row is not None, f"there is no conversation {conversation_id}"
        return row

    # ---- the group ----------------------------------------------------------------------

    async def group(self) -> list[Message]:
        return await self.sandbox.messages(GROUP_ID)

    async def card(self, conversation_id: int, showing: str = "", timeout: float = 5.0) -> Message:
        """The group message (card or digest) showing this conversation, once it shows
        `showing` in the conversation's lines."""

        def matches(message: Message) -> bool:
            section = card_section(text_of(message), conversation_id) if from_bot(message) else ""
            return bool(section) and showing in section

        return await self.sandbox.wait_for(GROUP_ID, matches, timeout)

    async def press_claim(self, agent_id: int, conversation_id: int) -> str:
        """The agent presses Claim on the conversation's card; the bot's short answer."""
        card = await self.card(conversation_id)
        pressed = await self.sandbox.press(
            agent_id, GROUP_ID, card["message_id"], f"claim:{conversation_id}"
        )
        return (await self.sandbox.callback_answer(pressed["callback_query"]["id"])).get("text", "")

    async def claimed_by_the_offered_agent(
        self, conversation_id: int, name: str
    ) -> tuple[Chat, Message]:
        """The agent the card offers the chat to presses Claim: (their chat, the context message
        they get for the customer called `name`)."""
        card = await self.card(conversation_id, "offered to @")
        offered = next(
            a.id for a in self.config.agents if a.username and f"@{a.username}" in text_of(card)
        )
        await self.press_claim(offered, conversation_id)
        agent = self.agent(offered)
        return agent, await agent.sees(f"#{conversation_id} · {name} is yours now")

    async def in_group(self, user_id: int, text: str) -> Message:
        return (await self.sandbox.send(user_id, text, chat_id=GROUP_ID))["message"]

    async def cards_settled(self, timeout: float = 10.0) -> None:
        """Wait until every card shows its conversation as the database has it."""
        deadline = _deadline(timeout)
        while not (await self.bot.cards.settled() and await self.bot.outbox.pending() == 0):
            await _tick(deadline, "the cards did not settle")

    def advance(self, seconds: float) -> None:
        """Move the bot's clock on; the 0.1 s sweep acts on what fell due."""
        self.bot.router.clock.advance(seconds)


def card_section(text: str, conversation_id: int) -> str:
    """The lines of a card or digest about one conversation ("" if it does not show it)."""
    for section in re.split(r"\n+(?=#\d+ · )", text):
        if section.startswith(f"#{conversation_id} · "):
            return section
    return ""


def _deadline(timeout: float) -> float:
    return asyncio.get_running_loop().time() + timeout


async def _tick(deadline: float, failure: str) -> None:
    if asyncio.get_running_loop().time() > deadline:
        raise AssertionError(failure)
    await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def agents_desk(
    sandbox: SandboxClient,
    directory: Path,
    *,
    config: Config | None = None,
    start: datetime = TUESDAY_10_WIB,
    started: list[int] | None = None,
    limits: bool = False,
    config_path: Path | None = None,
    dashboard_token: str | None = None,
) -> AsyncIterator[Desk]:
    """The bot running with its agents group open; the sandbox's flood limits off unless
    `limits`."""
    if not limits:
        await sandbox.set_limits(enabled=False)
    async with running_frontdoor(
        sandbox.base_url,
        directory,
        config=config or desk_config(),
        start=start,
        config_path=config_path,
        dashboard_token=dashboard_token,
    ) as bot:
        desk = Desk(sandbox, bot)
        await desk.open_agents_group(started)
        yield desk
