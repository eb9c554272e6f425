"""Notices commit with the routing change that causes them: both happen, or neither does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from handoff.states import AgentStatus
from handoff.tables import OutboxMessage
from tests.sandbox_support import SandboxClient
from tests.support.frontdoor import running_frontdoor

outbox = OutboxMessage.__table__


async def test_a_handoff_whose_notice_cannot_be_stored_does_not_happen(
    sandbox: SandboxClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sandbox.set_limits(enabled=False)
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        await bot.router.ensure_customer(42, name="Ani")
        for agent in bot.config.agents:  # nobody free: the customer is told their place in line
            await bot.router.set_agent_status(agent.id, AgentStatus.AWAY)

        def broken_stage(conn: Any, calls: Any) -> list[Any]:
            raise RuntimeError("the outbox table is gone")

        with monkeypatch.context() as patch:
            patch.setattr(bot.outbox, "stage", broken_stage)
            with pytest.raises(RuntimeError):
                await bot.router.request_handoff(42, intent=None, text="help")
        _, open_chat = await bot.router.customer_status(42)
        assert open_chat is None

        outcome = await bot.router.request_handoff(42, intent=None, text="help")

        _, open_chat = await bot.router.customer_status(42)
        assert open_chat.id == outcome.conversation_id
        async with bot.engine.connect() as conn:
            stored = await conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.chat_id == 42)
            )
        assert stored >= 1  # whatever became of it (Ani is no sandbox user), it was stored
