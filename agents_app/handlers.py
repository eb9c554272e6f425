"""Telegram wiring of the agents' side: which updates reach which action, and the command menus.

These handlers run before the customer's (handler group 0 vs 1) and stop the update there, so an
agent is never treated as a customer, and a customer never reaches an agent command: in a private
chat only the agents in the config match these handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    Message,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from agents_app import answers, claims, inline, relay
from agents_app.commands import COMMANDS, described, help_text, on_start, run_command
from agents_app.desk import AgentDesk, Quoted
from telegram_io.messages import message_kind

log = logging.getLogger(__name__)


class _FromAgent(filters.MessageFilter):
    """Sent by an agent of the live config (a reload may add or remove agents)."""

    def __init__(self, desk: AgentDesk) -> None:
        super().__init__(name="from_agent")
        self.desk = desk

    def filter(self, message: Message) -> bool:
        user = message.from_user
        return user is not None and self.desk.agent(user.id) is not None


class _InAgentsGroup(filters.MessageFilter):
    def __init__(self, desk: AgentDesk) -> None:
        super().__init__(name="in_agents_group")
        self.desk = desk

    def filter(self, message: Message) -> bool:
        return self.desk.group_id is not None and message.chat.id == self.desk.group_id


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def _final(act: Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]) -> Handler:
    """Handle, then stop: later handler groups (the customer's) never see this update."""

    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await act(update, context)
        raise ApplicationHandlerStop

    handler.__doc__ = act.__doc__
    return handler


def add_handlers(application: Application, desk: AgentDesk) -> None:
    agent_private = filters.ChatType.PRIVATE & _FromAgent(desk)
    in_group = _InAgentsGroup(desk)
    commands = [command.name for command in COMMANDS]

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_user is not None
        await on_start(desk, update.effective_user.id)

    async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        assert message is not None and user is not None and message.text is not None
        name = message.text.split()[0][1:].split("@")[0].lower()
        reply = message.reply_to_message
        quoted = None
        if reply is not None:
            sender = reply.from_user.id if reply.from_user is not None else None
            text = reply.text or reply.caption or ""
            quoted = Quoted(sender, message_kind(reply), text, reply.message_id)
        args = list(context.args or [])
        await run_command(desk, user.id, message.chat.id, name, args, quoted)

    async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        assert message is not None and user is not None
        help = help_text(desk, message.chat.id, desk.agent(user.id))
        await desk.tell(message.chat.id, "unknown_command_any", help=help)

    async def agent_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        assert message is not None and user is not None
        await relay.on_agent_message(desk, user.id, message)

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        data = query.data or ""
        shown = query.message if isinstance(query.message, Message) else None
        if data.startswith("claim:"):
            answer = await claims.on_claim_button(
                desk,
                query.from_user.id,
                shown.chat.id if shown else None,
                shown.message_id if shown else None,
                data,
            )
        elif desk.agent(query.from_user.id) is None:
            answer = desk.text(query.from_user.id, "button_expired_agent")
        elif data.startswith(("sg:", "cr:")):
            answer = await answers.on_answer_button(desk, query.from_user.id, data)
        else:
            answer = await relay.on_target_button(desk, query.from_user.id, data)
        await query.answer(answer[:200])

    async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        assert query is not None
        found = await inline.answer_inline(
            desk, query.from_user.id, query.query, query.chat_type, query.offset
        )
        await query.answer(
            found.results,
            cache_time=0,  # the replies change with a reload, the snippets with /save
            is_personal=True,
            next_offset=found.next_offset,
            button=found.button,
        )

    application.add_handlers(
        [
            InlineQueryHandler(_final(inline_query)),
            CommandHandler("start", _final(start), agent_private),
            CommandHandler(commands, _final(command), agent_private | in_group),
            MessageHandler(agent_private & filters.COMMAND, _final(unknown_command)),
            MessageHandler(agent_private & ~filters.COMMAND, _final(agent_message)),
            CallbackQueryHandler(_final(button), pattern=r"^(claim|to|sg|cr):"),
        ],
        group=0,
    )


def _agent_menu(commands: list[tuple[str, str]]) -> list[BotCommand]:
    return [BotCommand(name, what[:256]) for name, what in commands]


async def register_commands(application: Application, desk: AgentDesk) -> None:
    """The agents' command menus: in the group and in each agent's private chat (managers' with
    their own), in that chat's language. A chat Telegram refuses is logged and skipped."""
    bot = application.bot
    menus: list[tuple[list[BotCommand], Any]] = []
    if desk.group_id is not None:
        menus.append(
            (_agent_menu(described(desk, desk.group_id, None)), BotCommandScopeChat(desk.group_id))
        )
    for agent in desk.config.agents:
        menus.append((_agent_menu(described(desk, agent.id, agent)), BotCommandScopeChat(agent.id)))
    for commands, scope in menus:
        try:
            await bot.set_my_commands(commands, scope=scope)
        except TelegramError as error:
            log.warning("setMyCommands for %s refused: %s", scope.type, error)
