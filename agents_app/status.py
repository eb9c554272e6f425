"""An agent's own status and shift (SPEC §5.1): `/on`, `/away`, `/off`, `/status`."""

from __future__ import annotations

from agents_app.desk import AgentDesk
from handoff import store
from handoff.config import Agent
from handoff.states import AgentStatus


async def set_status(desk: AgentDesk, spec: Agent, chat_id: int, status: AgentStatus) -> None:
    await desk.router.set_agent_status(spec.id, status)
    row = await desk.read(lambda conn: store.get_agent(conn, spec.id))
    off_shift = row is not None and not row.on_shift
    note = desk.text(chat_id, "status_off_shift_note") if off_shift else ""
    named = desk.text(chat_id, f"status_{status}")
    await desk.tell(chat_id, "status_set", agent=spec.name, status=named, note=note)


async def available(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    await set_status(desk, spec, chat_id, AgentStatus.AVAILABLE)


async def away(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    await set_status(desk, spec, chat_id, AgentStatus.AWAY)


async def offline(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    await set_status(desk, spec, chat_id, AgentStatus.OFFLINE)


async def status(desk: AgentDesk, spec: Agent, chat_id: int, args: list[str]) -> None:
    row = await desk.read(lambda conn: store.get_agent(conn, spec.id))
    assert row is not None
    shift = desk.text(chat_id, "on_shift" if row.on_shift else "off_shift")
    focus = desk.text(chat_id, "status_focus", id=row.focus_conversation_id) if row.load else ""
    await desk.tell(
        chat_id,
        "status_line",
        agent=spec.name,
        status=desk.text(chat_id, f"status_{row.status}"),
        shift=shift,
        load=row.load,
        capacity=row.capacity,
        focus=focus,
    )
