"""The agents' and managers' commands, in one table: name, what it does, who may use it (what
each is for, shown in the menus and /help, is the text `command_<name>`).

`handlers` registers these names with Telegram and `register_commands` shows them as menus;
`run_command` is the one way a command is carried out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agents_app import answers, chats, claims, managing, status
from agents_app.desk import AgentDesk, Quoted
from handoff.config import Agent

Action = Callable[[AgentDesk, Agent, int, list[str]], Awaitable[None]]
QuotingAction = Callable[[AgentDesk, Agent, int, list[str], Quoted | None], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    name: str
    action: Action | QuotingAction
    managers_only: bool = False
    quoting: bool = False  # its action is also given the message the command replies to


async def show_help(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    await desk.say(chat_id, help_text(desk, chat_id, spec))


COMMANDS = (
    Command("on", status.available),
    Command("away", status.away),
    Command("off", status.offline),
    Command("status", status.status),
    Command("mine", chats.mine),
    Command("switch", chats.switch),
    Command("close", chats.close, quoting=True),
    Command("release", chats.release, quoting=True),
    Command("transfer", chats.transfer),
    Command("note", chats.note),
    Command("history", chats.history),
    Command("take", claims.take),
    Command("queue", chats.queue),
    Command("why", chats.why),
    Command("intent", chats.intent),
    Command("replies", answers.list_replies),
    Command("save", answers.save, quoting=True),
    Command("forget", answers.forget),
    Command("help", show_help),
    Command("agents", managing.agents, managers_only=True),
    Command("stats", managing.stats, managers_only=True),
    Command("assign", managing.assign, managers_only=True),
    Command("reload", managing.reload, managers_only=True),
    Command("promote", answers.promote, managers_only=True),
)
BY_NAME = {command.name: command for command in COMMANDS}


def menu(spec: Agent | None) -> list[Command]:
    """The commands this agent may use (everyone's when `spec` is None: the group's menu)."""
    manager = spec is not None and spec.manager
    return [c for c in COMMANDS if manager or not c.managers_only]


def described(desk: AgentDesk, chat_id: int, spec: Agent | None) -> list[tuple[str, str]]:
    """(name, what it is for) of the commands `spec` may use, in the chat's language."""
    return [(c.name, desk.text(chat_id, f"command_{c.name}")) for c in menu(spec)]


def help_text(desk: AgentDesk, chat_id: int, spec: Agent | None) -> str:
    lines = [f"/{name} {what}" for name, what in described(desk, chat_id, spec)]
    return "\n".join([desk.text(chat_id, "commands_heading"), *lines])


async def run_command(
    desk: AgentDesk,
    user_id: int,
    chat_id: int,
    name: str,
    args: list[str],
    quoted: Quoted | None = None,
) -> None:
    """An agent or manager command from the group or the agent's private chat."""
    spec = desk.agent(user_id)
    if spec is None:
        await desk.tell(chat_id, "only_agents")
        return
    command = BY_NAME.get(name)
    if command is None:
        await desk.tell(
            chat_id, "unknown_command", command=name, help=help_text(desk, chat_id, spec)
        )
        return
    if command.managers_only and not spec.manager:
        await desk.tell(chat_id, "only_managers", command=name)
        return
    if command.quoting:
        await command.action(desk, spec, chat_id, args, quoted)  # type: ignore[call-arg]
    else:
        await command.action(desk, spec, chat_id, args)  # type: ignore[call-arg]


async def on_start(desk: AgentDesk, agent_id: int) -> None:
    """An agent opened their private chat: the bot can reach them from now on."""
    await desk.router.set_reachable(agent_id, True)
    help = help_text(desk, agent_id, desk.agent(agent_id))
    await desk.tell(agent_id, "agent_welcome", help=help)
