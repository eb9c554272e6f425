"""The routing services are plain functions of a unit of work: tested here without the Router, the
event loop or a file, each step a `Unit` over one connection to SQLite in memory (the fast double
of issue 13), rolled back at the end. The same functions run in the bot through `Router.run`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from handoff import agent_actions, intake, staffing, store
from handoff.config import Config
from handoff.db import configure_sqlite
from handoff.events import Assigned, Closed, Event, OfferEnded, OfferMade, Queued
from handoff.results import ActionResult, ClaimResult
from handoff.states import AgentStatus, ConversationState, OfferState
from handoff.unit_of_work import Unit
from tests.support.configs import make_config
from tests.support.routing import MONDAY_10_WIB

T = TypeVar("T")
CONFIG = make_config(agents=[{"id": 1, "capacity": 1}, {"id": 2, "capacity": 1}], claim_timeout=60)


@contextmanager
def database() -> Iterator[Connection]:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    configure_sqlite(engine)
    SQLModel.metadata.create_all(engine)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


class Steps:
    """Runs services one step at a time on `conn`, the clock at `now`."""

    def __init__(self, conn: Connection, config: Config, now: datetime) -> None:
        self.conn, self.config, self.now = conn, config, now

    def __call__(
        self, service: Callable[..., T], *args: Any, **kwargs: Any
    ) -> tuple[T, list[Event]]:
        unit = Unit(self.conn, self.now, self.config)
        value = service(unit, *args, **kwargs)
        store.add_trails(self.conn, self.now, unit.notes)
        return value, unit.events


def test_an_arrival_is_offered_claimed_and_closed_step_by_step() -> None:
    with database() as conn:
        step = Steps(conn, CONFIG, MONDAY_10_WIB)
        step(staffing.sync_agents)
        _, events = step(staffing.sync_shifts)
        assert {e.agent_id for e in events} == {1, 2}  # both shifts start: available

        chat, events = step(intake.request_handoff, 100, intent=None, text="halo")
        [offered] = [e for e in events if isinstance(e, OfferMade)]
        assert offered.conversation_id == chat and offered.announced
        other = 2 if offered.agent_id == 1 else 1

        refused, events = step(agent_actions.claim, chat, other, "claim")
        assert (refused.result, refused.holder_id, events) == (
            ClaimResult.NOT_OFFERED_TO_YOU,
            offered.agent_id,
            [],
        )
        step.now += timedelta(seconds=20)
        claimed, events = step(agent_actions.claim, chat, offered.agent_id, "claim")
        assert claimed.result is ClaimResult.CLAIMED
        [assigned] = events
        assert isinstance(assigned, Assigned) and assigned.waited == 20

        result, events = step(agent_actions.close, chat, offered.agent_id, "agent")
        assert result is ActionResult.DONE and isinstance(events[0], Closed)
        row = store.get_conversation(conn, chat)
        assert row.state == ConversationState.CLOSED
        assert store.get_agent(conn, offered.agent_id).load == 0


def test_an_offer_nobody_claims_times_out_and_goes_to_the_other_agent() -> None:
    with database() as conn:
        step = Steps(conn, CONFIG, MONDAY_10_WIB)
        step(staffing.sync_agents)
        step(staffing.sync_shifts)
        chat, events = step(intake.request_handoff, 100, intent=None)
        first = next(e for e in events if isinstance(e, OfferMade)).agent_id

        result, events = step(agent_actions.expire_overdue)
        assert (result, events) == (ActionResult.ALREADY_DONE, [])  # not due yet
        step.now += timedelta(seconds=61)
        result, events = step(agent_actions.expire_overdue)
        assert result is ActionResult.DONE
        ended = next(e for e in events if isinstance(e, OfferEnded))
        assert (ended.agent_id, ended.outcome) == (first, OfferState.TIMED_OUT)
        again = next(e for e in events if isinstance(e, OfferMade))
        assert again.conversation_id == chat and again.agent_id != first


def test_with_everyone_away_an_arrival_waits_and_is_told_its_place() -> None:
    with database() as conn:
        step = Steps(conn, CONFIG, MONDAY_10_WIB)
        step(staffing.sync_agents)
        step(staffing.sync_shifts)
        for agent_id in (1, 2):
            assert step(staffing.set_agent_status, agent_id, AgentStatus.AWAY, "command")[0] == (
                ActionResult.DONE
            )
        chat, events = step(intake.request_handoff, 100, intent=None)
        [queued] = [e for e in events if isinstance(e, Queued)]
        assert (queued.conversation_id, queued.position, queued.first) == (chat, 1, True)
        assert store.get_conversation(conn, chat).state == ConversationState.QUEUED
        _, events = step(staffing.set_agent_status, 2, AgentStatus.AVAILABLE, "command")
        assert [e.agent_id for e in events if isinstance(e, OfferMade)] == [2]
