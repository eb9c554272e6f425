"""The statement budget of a routing decision (issue 13): at most six SQL statements for an arrival
that is offered or queued and for an agent who frees a slot, however many chats wait — counted
through SQLAlchemy's events on the engine the steps run on, BEGIN and COMMIT not included."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from handoff import moves, unit_of_work
from handoff.events import OfferMade, Queued
from handoff.router import Router
from tests.support.configs import make_config
from tests.support.routing import DATABASES, running_router

BUDGET = 6
CONFIG = make_config(
    teams={"support": {}, "billing": {"secondary": ["support"]}, "returns": {}},
    agents=[
        {"id": 1, "teams": ["support"], "capacity": 1},
        {"id": 2, "teams": ["support", "billing"], "capacity": 1},
        {"id": 3, "teams": ["returns"], "capacity": 1},
    ],
    intents={
        "invoice": {"keywords": {"id": ["tagihan"]}, "team": "billing"},
        "refund": {"keywords": {"id": ["refund"]}, "team": "returns"},
    },
    overflow_after="5m",
)


class StatementCount:
    """Statements sent through the engine a router's steps use, BEGIN and COMMIT not counted."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT")):
            self.sent.append(" ".join(statement.split())[:120])

    @contextlib.contextmanager
    def watching(self, router: Router) -> Iterator[list[str]]:
        engine = unit_of_work.step_engine(router.engine)
        self.sent = []
        event.listen(engine, "before_cursor_execute", self.seen)
        try:
            yield self.sent
        finally:
            event.remove(engine, "before_cursor_execute", self.seen)


async def waiting_world(router: Router, waiting: int) -> None:
    """Support's two agents busy, `waiting` chats in support's and billing's queues."""
    for customer in (1, 2):
        chat = await router.request_handoff(customer, intent=None, text="halo")
        offer = next(e for e in chat.events if isinstance(e, OfferMade))
        await router.claim(chat.conversation_id, offer.agent_id)
    for customer in range(100, 100 + waiting):
        intent = "invoice" if customer % 2 else None
        await router.request_handoff(customer, intent=intent, text="halo")
        router.clock.advance(1)


async def decisions(router: Router, counter: StatementCount) -> dict[str, list[str]]:
    """The statements of each decision: an arrival queued, one offered, an agent freeing a slot."""
    sent: dict[str, list[str]] = {}
    with counter.watching(router) as seen:
        queued = await router.request_handoff(9001, intent=None, text="halo")
    assert any(isinstance(e, Queued) for e in queued.events)
    sent["arrival, queued"] = list(seen)

    with counter.watching(router) as seen:
        offered = await router.request_handoff(9002, intent="refund", text="refund dong")
    assert [e.agent_id for e in offered.events if isinstance(e, OfferMade)] == [3]
    sent["arrival, offered"] = list(seen)

    await unit_of_work.write(  # agent 1's chat ends, by hand: only the slot it frees is timed
        router.engine,
        lambda conn: conn.execute(text("UPDATE agent SET load = 0 WHERE id = 1")),
    )
    with counter.watching(router) as seen:
        _, events = await router.run(moves.dispatch_agent, 1)
    assert [e.agent_id for e in events if isinstance(e, OfferMade)] == [1]
    sent["agent frees a slot"] = list(seen)
    return sent


@pytest.mark.parametrize("database", DATABASES)
async def test_a_routing_decision_sends_at_most_six_statements_whatever_waits(
    tmp_path: Path, database: str
) -> None:
    counts = {}
    for waiting in (3, 40):
        directory = tmp_path / str(waiting)
        directory.mkdir()
        async with running_router(directory, CONFIG, database=database) as router:
            await waiting_world(router, waiting)
            sent = await decisions(router, StatementCount())
        for decision, statements in sent.items():
            assert len(statements) <= BUDGET, (decision, statements)
        counts[waiting] = {decision: len(statements) for decision, statements in sent.items()}
    assert counts[3] == counts[40]  # the same statements with 3 or 40 waiting
