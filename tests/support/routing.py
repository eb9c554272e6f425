"""A router on a real SQLite file with a manual clock, and helpers to read its state back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from handoff import store, unit_of_work
from handoff.clock import ManualClock
from handoff.config import Config
from handoff.db import create_engine, create_schema, memory_url
from handoff.router import Router
from tests.support.postgres import empty_postgres, needs_postgres

# A Monday, 10:00 in Jakarta (03:00 UTC): every office schedule is open.
MONDAY_10_WIB = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


# The routing tests run on each: a SQLite file, PostgreSQL, and the fast double (SQLite in memory,
# steps inline), so the double is held to what the real ones do.
DATABASES = ["sqlite", pytest.param("postgresql", marks=needs_postgres), "memory"]


@asynccontextmanager
async def running_router(
    directory: Path,
    config: Config,
    start: datetime = MONDAY_10_WIB,
    database: str = "sqlite",
    *,
    sole_writer: bool = False,
) -> AsyncIterator[Router]:
    """A synced router over a fresh SQLite file (or an emptied PostgreSQL database, or SQLite in
    memory with its steps inline: the fast double of the unit of work); `sole_writer` as the bot
    runs it on SQLite."""
    if database == "postgresql":
        engine = create_engine(await empty_postgres())
    elif database == "memory":
        engine = create_engine(memory_url())
    else:
        engine = create_engine(f"sqlite+aiosqlite:///{directory / 'frontdoor.db'}")
    await create_schema(engine)
    router = Router(engine, config, ManualClock(start), sole_writer=sole_writer)
    await router.sync_agents()
    try:
        yield router
    finally:
        await unit_of_work.dispose(engine)


async def conversation(router: Router, conversation_id: int) -> Any:
    async with router.engine.connect() as conn:
        return await conn.run_sync(store.get_conversation, conversation_id)


async def agent(router: Router, agent_id: int) -> Any:
    async with router.engine.connect() as conn:
        return await conn.run_sync(store.get_agent, agent_id)


async def trail(router: Router, conversation_id: int) -> list[str]:
    async with router.engine.connect() as conn:
        rows = await conn.execute(
            select(store.trail.c.reason)
            .where(store.trail.c.conversation_id == conversation_id)
            .order_by(store.trail.c.id)
        )
        return [r.reason for r in rows]


async def new_chat(
    router: Router, customer_id: int, *, intent: str | None = None, text: str = "halo"
) -> int:
    """A customer arrives and asks for a person; returns the conversation id."""
    await router.ensure_customer(customer_id, name=f"Customer{customer_id}")
    outcome = await router.request_handoff(customer_id, intent=intent, text=text)
    assert outcome.conversation_id is not None
    return outcome.conversation_id


async def served_chat(router: Router, customer_id: int = 100, agent_id: int = 1) -> int:
    """A chat that waits 30 s, is claimed, answered 30 s later and closed 240 s after that."""
    chat = await new_chat(router, customer_id)
    router.clock.advance(30)
    await router.claim(chat, agent_id)
    router.clock.advance(30)
    await router.record_message(
        chat, sender="agent", customer_id=customer_id, agent_id=agent_id, text="Halo"
    )
    router.clock.advance(240)
    await router.close(chat, by_agent_id=agent_id)
    return chat


async def pending_offer_agent(router: Router, conversation_id: int) -> int | None:
    async with router.engine.connect() as conn:
        offer = await conn.run_sync(store.pending_offer, conversation_id)
    return None if offer is None else offer.agent_id
