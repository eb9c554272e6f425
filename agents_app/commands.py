"""The agents' and managers' commands, in one table: name, what it does, who may use it.

`handlers` registers these names with Telegram and `register_commands` shows them as menus;
`run_command` is the one way a command is carried out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agents_app import chats, claims, managing, status
from agents_app.desk import AgentDesk
from handoff.config import Agent

Action = Callable[[AgentDesk, Agent, int, list[str]], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    name: str
    action: Action
    description: str
    managers_only: bool = False


async def show_help(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    await desk.say(chat_id, help_text(spec))


COMMANDS = (
    Command("on", status.available, "available for chats"),
    Command("away", status.away, "pause: no new chats"),
    Command("off", status.offline, "offline"),
    Command("status", status.status, "your status and load"),
    Command("mine", chats.mine, "the chats you hold"),
    Command("switch", chats.switch, "#id: write to this chat from now on"),
    Command("close", chats.close, "[#id] end a chat (the customer is asked for a rating)"),
    Command("release", chats.release, "[#id] hand a chat back to the queue"),
    Command("transfer", chats.transfer, "#id @agent|team: move a chat"),
    Command("note", chats.note, "text: an internal note on your current chat"),
    Command("history", chats.history, "[#id] what was said so far"),
    Command("take", claims.take, "#id: claim a waiting chat"),
    Command("queue", chats.queue, "who is waiting"),
    Command("why", chats.why, "#id: how the chat was routed"),
    Command("help", show_help, "these commands"),
    Command("agents", managing.agents, "every agent's status and load", managers_only=True),
    Command("stats", managing.stats, "today's numbers", managers_only=True),
    Command(
        "assign",
        managing.assign,
        "#id @agent: give a chat to an agent (even over capacity)",
        managers_only=True,
    ),
    Command("reload", managing.reload, "load the config file again", managers_only=True),
)
BY_NAME = {command.name: command for command in COMMANDS}


def menu(spec: Agent | None) -> list[Command]:
    """The commands this agent may use (everyone's when `spec` is None: the group's menu)."""
    manager = spec is not None and spec.manager
    return [c for c in COMMANDS if manager or not c.managers_only]


def help_text(spec: Agent | None) -> str:
    return "Commands:\n" + "\n".join(f"/{c.name} {c.description}" for c in menu(spec))


async def run_command(
    desk: AgentDesk, user_id: int, chat_id: int, name: str, args: list[str]
) -> None:
    """An agent or manager command from the group or the agent's private chat."""
    spec = desk.agent(user_id)
    if spec is None:
        await desk.say(chat_id, "Only the agents in the config can use these commands.")
        return
    command = BY_NAME.get(name)
    if command is None:
        await desk.say(chat_id, f"I do not know /{name}. " + help_text(spec))
        return
    if command.managers_only and not spec.manager:
        await desk.say(chat_id, f"Only managers can use /{name}.")
        return
    await command.action(desk, spec, chat_id, args)


async def on_start(desk: AgentDesk, agent_id: int) -> None:
    """An agent opened their private chat: the bot can reach them from now on."""
    await desk.router.set_reachable(agent_id, True)
    await desk.say(
        agent_id, "Hello! You are set up as an agent. " + help_text(desk.agent(agent_id))
    )
