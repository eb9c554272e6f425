"""An agent's own status and shift (SPEC §5.1): `/on`, `/away`, `/off`, `/status`."""

from __future__ import annotations

from agents_app.desk import AgentDesk
from handoff import store
from handoff.config import Agent
from handoff.states import AgentStatus


async def set_status(desk: AgentDesk, spec: Agent, chat_id: int, status: AgentStatus) -> None:
    await desk.router.set_agent_status(spec.id, status)
    async with desk.router.engine.connect() as conn:
        row = await store.get_agent(conn, spec.id)
    note = "" if row is None or row.on_shift else " You are off shift, so no chats come yet."
    await desk.say(chat_id, f"{spec.name}: {status}.{note}")


async def available(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    await set_status(desk, spec, chat_id, AgentStatus.AVAILABLE)


async def away(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    await set_status(desk, spec, chat_id, AgentStatus.AWAY)


async def offline(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    await set_status(desk, spec, chat_id, AgentStatus.OFFLINE)


async def status(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    async with desk.router.engine.connect() as conn:
        row = await store.get_agent(conn, spec.id)
    assert row is not None
    shift = "on shift" if row.on_shift else "off shift"
    focus = f", writing to #{row.focus_conversation_id}" if row.load else ""
    await desk.say(
        chat_id, f"{spec.name}: {row.status}, {shift}, {row.load}/{row.capacity} chats{focus}."
    )
