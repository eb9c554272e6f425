"""The agents' desk (SPEC §5): what every agent action needs, shared by the modules that act.

Who may do what is checked against the config and the stored state, never against what a button
or a message claims. The actions live by concern: `claims`, `relay`, `status`, `chats`,
`managing`; `commands` is the one table of the agents' commands.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Connection

from agents_app import views
from handoff import log_context
from handoff.config import Agent, Config, HeldTakers
from handoff.focus import Route, choose_target
from handoff.reload import Reloaded
from handoff.router import ActionResult, ClaimResult, Router
from telegram_io.calls import Buttons, Priority, send_long_text
from telegram_io.outbox import Outbox
from telegram_io.texts import say

log = logging.getLogger(__name__)
T = TypeVar("T")
REF = re.compile(r"^#?(\d{1,18})$")

Reloader = Callable[[], Awaitable[Reloaded]]


@dataclass(frozen=True)
class Quoted:
    """The message a command was given in reply to."""

    sender_id: int | None
    kind: str  # telegram_io.messages.message_kind
    text: str  # its text or caption
    message_id: int | None = None  # in the chat the command was given in


def parse_ref(text: str | None) -> int | None:
    """`#12` or `12` → 12."""
    match = REF.match((text or "").strip())
    return int(match.group(1)) if match else None


class AgentDesk:
    """The routing core, the outbox and the config as the agents' side sees them."""

    def __init__(self, router: Router, outbox: Outbox, reload: Reloader | None = None) -> None:
        self.router = router
        self.outbox = outbox
        self.reload = reload

    @property
    def config(self) -> Config:
        return self.router.config

    @property
    def group_id(self) -> int | None:
        return self.config.bot.agents_group_id

    def agent(self, user_id: int | None) -> Agent | None:
        return self.config.agent(user_id) if user_id is not None else None

    def name_of(self, agent_id: int | None) -> str:
        """An agent's @username, else their name (the id if the config no longer has them)."""
        spec = self.agent(agent_id)
        if spec is None:
            return str(agent_id)
        return f"@{spec.username}" if spec.username else spec.name

    def agent_named(self, wanted: str) -> Agent | None:
        """The agent a command names: @username, name, first name or id."""
        key = wanted.removeprefix("@").lower()
        for spec in self.config.agents:
            names = {(spec.username or "").lower(), spec.name.lower(), spec.name.split()[0].lower()}
            if key in names or key == str(spec.id):
                return spec
        return None

    def team_named(self, wanted: str) -> str | None:
        """The team a command names, by key or by name."""
        key = wanted.lower()
        for team_key, team in self.config.teams.items():
            if key in (team_key.lower(), team.name.lower()):
                return team_key
        return None

    def language(self, chat_id: int) -> str:
        """An agent's own language (config `language`), else the agents' (`bot.agents_language`);
        the group's is the agents'."""
        return self.config.agent_language(chat_id)

    def text(self, chat_id: int, key: str, /, **values: object) -> str:
        """The text `key` in the language of `chat_id`, filled in."""
        return say(self.config, self.language(chat_id), key, **values)

    async def say(self, chat_id: int, text: str, buttons: Buttons | None = None) -> None:
        """Send `text` (in parts, if over Telegram's limit) with the buttons under its end."""
        priority = Priority.GROUP if chat_id == self.group_id else Priority.AGENT
        await self.outbox.put(*send_long_text(chat_id, text, buttons, priority=priority))

    async def tell(self, chat_id: int, key: str, /, **values: object) -> None:
        """Say the text `key` in the chat's language."""
        await self.say(chat_id, self.text(chat_id, key, **values))

    async def claim_answer(self, user_id: int, conversation_id: int, how: str) -> str:
        """Claim for this user; the short answer for them (the card changes by itself)."""
        if self.agent(user_id) is None:
            return self.text(user_id, f"claim_{ClaimResult.NOT_AN_AGENT}")
        log_context.bind(conversation_id=conversation_id)
        outcome = await self.router.claim(conversation_id, user_id, how=how)
        log.info("%s by agent %s: %s", how, user_id, ClaimResult(outcome.result))
        return self.claim_text(
            user_id, ClaimResult(outcome.result), conversation_id, outcome.holder_id
        )

    def claim_text(
        self, chat_id: int, result: ClaimResult, conversation_id: int, holder_id: int | None
    ) -> str:
        """What a claim came to, in the chat's language."""
        holder = self.text(chat_id, "someone") if holder_id is None else self.name_of(holder_id)
        key = f"claim_{result}"
        if result is ClaimResult.HELD and self.config.routing.take_held is HeldTakers.TEAM:
            key = "claim_held_team"
        return self.text(chat_id, key, id=conversation_id, holder=holder)

    async def reply_result(
        self, chat_id: int, result: ActionResult, done: str, **values: object
    ) -> None:
        """The text `done` when the action was carried out, else why not."""
        key = done if result is ActionResult.DONE else f"action_{result}"
        await self.tell(chat_id, key, **values)

    async def read(self, query: Callable[[Connection], T]) -> T:
        """What `query` reads (`views`, `store`), on a connection of its own: the agents' side
        reads through here and never opens the engine itself."""
        return await self.router.database.read(query)

    async def chosen(
        self,
        spec: Agent,
        chat_id: int,
        args: list[str],
        verb: str,
        quoted: Quoted | None = None,
    ) -> int | None:
        """The chat a command names (`#id`), else the chat of the message it replies to, else
        the agent's current one (the rules of their messages); None after saying why."""
        if args:
            ref = parse_ref(args[0])
            if ref is None:
                await self.tell(chat_id, "write_it_as", example=f"/{verb} #12")
            return ref
        replied = quoted.message_id if quoted is not None else None

        def where(conn: Connection) -> tuple[int | None, int | None, list[int]]:
            of_reply = views.conversation_of_message(conn, chat_id, replied) if replied else None
            focus, mine = views.holdings(conn, spec.id)
            return of_reply, focus, [v.conversation_id for v in mine]

        replied_to, focus, held = await self.read(where)
        target = choose_target(replied_to=replied_to, focus=focus, open_chats=held)
        if target.route in (Route.SEND, Route.NOT_YOURS):  # not theirs: the action says so
            return target.conversation_id
        if target.route is Route.NO_CHAT:
            await self.tell(chat_id, "no_chat_held")
        else:
            listed = self.text(chat_id, "or").join(f"/{verb} #{c}" for c in target.choices)
            await self.tell(chat_id, "which_one", choices=listed)
        return None
