"""Routing benchmark: how fast one routing decision is, committed, and as a pure function.

    /work/venv/bin/python tests/benchmarks/routing.py [--agents 1000] [--sizes 1000,100000]
                                                      [--decisions 1000] [--plans]
                                                      [--database-url postgresql+asyncpg://…]

For each queue size N it builds a fresh database (a SQLite file through `handoff.db.create_engine`,
or the PostgreSQL database given, emptied first) with 1,000 agents spread over four always-open
teams (capacity 3): in three of them every slot is taken and N conversations wait in their
queues; the fourth ("returns") has nobody waiting, as a team with a free agent has. It times three
committed decisions, each one unit of work (`handoff.unit_of_work`):

- `dispatch`: an agent frees a slot and is offered the head of their team's queue: what
  `close`, `release` and `set_agent_status` run after freeing a slot (SPEC §4.2 step 6).
- `arrival, offered`: `Router.request_handoff` for a new customer (created beforehand, as
  `ensure_customer` does on first contact) whose team has an agent with a free slot.
- `arrival, queued`: the same for a team whose agents are all full, so the conversation joins the
  N waiting and the customer is told their place and wait.

Between timed calls, untimed SQL puts the world back (the agent's slot freed, the offered
conversation requeued at the back, an arrival closed) so exactly N conversations wait throughout.

The baseline is the smallest committed write through the same unit of work (`UPDATE agent SET
missed_offers = missed_offers WHERE id = ?` and COMMIT), interleaved sample by sample with the
operation, since machines here are shared and noisy. SQL counts the statements one decision sends
(SQLAlchemy's `before_cursor_execute`), BEGIN and COMMIT not included.

The pure decision times what `intake._enqueue` and `moves.route` decide without I/O: `classify` +
`queue_key` + `decide_offer` over prepared snapshots, against an empty call of the same shape. It
does not depend on N, so it is shown once. The garbage collector stays on; latencies are wall-clock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import Connection, event, insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from handoff import moves, store, unit_of_work
from handoff.clock import ManualClock
from handoff.config import Config
from handoff.db import create_engine, create_schema, is_sqlite
from handoff.events import OfferMade, Queued
from handoff.policies import (
    AgentSnapshot,
    ConversationSnapshot,
    classify,
    decide_offer,
    queue_key,
)
from handoff.router import Router
from handoff.states import AgentStatus, ConversationState
from handoff.tables import Customer
from tests.support.configs import make_config

TEAMS = ("sales", "support", "billing")  # full, with N waiting
FREE_TEAM = "returns"  # a free agent, nobody waiting
ALL_TEAMS = (*TEAMS, FREE_TEAM)
INTENT_OF_TEAM = {
    "sales": "pricing",
    "support": "broken",
    "billing": "invoice",
    FREE_TEAM: "refund",
}
CAPACITY = 3
START = datetime(2025, 3, 5, 3, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Jakarta
FIRST_AGENT_ID = 10_000
FIRST_CUSTOMER_ID = 1_000_000
ARRIVAL_CUSTOMER_ID = 9_000_000
WARMUP = 50
INSERT_CHUNK = 10_000
AIM_TIMES_BASELINE = 3.0  # p50 and p99 of a committed decision against the bare commit's
AIM_STATEMENTS = 6
AIM_PURE_P99_MS = 0.1
BASELINE_COMMITTED = "baseline: UPDATE + COMMIT"
BASELINE_PURE = "baseline: empty call"
Timed = Callable[[int], Awaitable[int]]


@dataclass
class Sample:
    """Latencies of one operation (ns) and of the baseline interleaved with it."""

    size: int | None
    name: str
    ns: list[int]
    committed: bool
    statements: int | None = None  # SQL statements sent by one call (BEGIN included)

    @property
    def n(self) -> int:
        return len(self.ns)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.ns)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] / 1e6

    @property
    def ops_per_second(self) -> float:
        return len(self.ns) / (sum(self.ns) / 1e9)


# ---- the world ----------------------------------------------------------------------------


def build_config(agent_count: int) -> Config:
    """Four always-open teams, one intent each, agents spread evenly (capacity 3)."""
    intents = {
        intent: {"keywords": {"en": [intent]}, "team": team, "sales": team == "sales"}
        for team, intent in INTENT_OF_TEAM.items()
    }
    intents["broken"]["priority_boost"] = 1
    agents = [
        {"id": FIRST_AGENT_ID + i, "capacity": CAPACITY, "teams": [ALL_TEAMS[i % len(ALL_TEAMS)]]}
        for i in range(agent_count)
    ]
    return make_config(
        teams={team: {} for team in ALL_TEAMS},
        agents=agents,
        intents=intents,
        sales_team="sales",
        urgent={"keywords": ["urgent"], "boost": 3},
    )


def random_priority(rng: random.Random) -> int:
    """Mostly base priority; some intent boosts, urgent words and VIPs (up to 9)."""
    roll = rng.random()
    if roll < 0.70:
        return 0
    if roll < 0.88:
        return 1
    if roll < 0.96:
        return 3 + rng.randint(0, 1)
    return 5 + rng.randint(0, 4)


async def fill_queues(
    engine: AsyncEngine, config: Config, size: int, arrivals: int, rng: random.Random
) -> None:
    """N customers and N queued conversations spread over the last day, in one transaction;
    and the customers who will arrive (`ensure_customer` is a step of its own, not timed)."""
    customers, conversations = Customer.__table__, store.conversations
    aging = config.routing.aging
    async with engine.begin() as conn:
        newcomers = [
            dict(
                id=ARRIVAL_CUSTOMER_ID + i,
                name="New customer",
                language="id",
                is_vip=False,
                blocked=False,
                created_at=START,
            )
            for i in range(arrivals)
        ]
        await conn.execute(insert(customers), newcomers)
        for first in range(0, size, INSERT_CHUNK):
            people, waiting = [], []
            for i in range(first, min(size, first + INSERT_CHUNK)):
                customer_id = FIRST_CUSTOMER_ID + i
                queued_at = START - timedelta(seconds=rng.uniform(0, 86_400))
                priority = random_priority(rng)
                people.append(
                    dict(
                        id=customer_id,
                        name=f"Customer {i}",
                        language="id",
                        is_vip=priority >= 5,
                        blocked=False,
                        created_at=queued_at - timedelta(minutes=2),
                    )
                )
                waiting.append(
                    dict(
                        customer_id=customer_id,
                        state=ConversationState.QUEUED,
                        version=0,
                        team=TEAMS[i % len(TEAMS)],
                        priority=priority,
                        is_lead=True,
                        sticky_tried=False,
                        open_to_anyone=False,
                        attempts=0,
                        transfers=0,
                        queue_key=queue_key(queued_at, priority, aging),
                        first_message="hello",
                        created_at=queued_at - timedelta(minutes=1),
                        queued_at=queued_at,
                        last_activity_at=queued_at,
                        sla_alerted=False,
                    )
                )
            await conn.execute(insert(customers), people)
            await conn.execute(insert(conversations), waiting)


async def build_world(
    url: str, config: Config, size: int, arrivals: int, rng: random.Random
) -> tuple[AsyncEngine, Router, ManualClock]:
    """A fresh database: agents on shift and full, N conversations waiting."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
    await create_schema(engine)
    clock = ManualClock(START)
    router = Router(engine, config, clock)
    await router.sync_agents()  # queues are empty yet, so starting the shifts offers nothing
    await fill_queues(engine, config, size, arrivals, rng)
    async with engine.begin() as conn:
        for agent in config.agents:  # idle since sometime in the last hour, every slot taken
            idle_since = START - timedelta(seconds=rng.uniform(0, 3600))
            await conn.execute(
                update(store.agents)
                .where(store.agents.c.id == agent.id)
                .values(load=agent.capacity, last_routed_at=idle_since)
            )
    # No ANALYZE: production never runs it, so the planner here chooses as it would there.
    return engine, router, clock


# ---- committed decisions ------------------------------------------------------------------


class Stopwatch:
    """Times one call; while `counting`, also counts the SQL statements it sends (BEGIN and
    COMMIT not included) and keeps its SELECTs. Counting is done on a call of its own, untimed:
    a listener on every statement is the benchmark's cost, not the bot's."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = unit_of_work.step_engine(engine)
        self.running = False
        self.statements = 0
        self.captured: list[tuple[str, Any]] | None = None  # the SELECTs of the counted call

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        self.statements, self.captured = 0, []
        event.listen(self.engine, "before_cursor_execute", self._seen)
        try:
            yield
        finally:
            event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not self.running or statement.lstrip().upper().startswith(("BEGIN", "COMMIT")):
            return
        self.statements += 1
        if self.captured is not None and statement.lstrip().upper().startswith("SELECT"):
            self.captured.append((statement, parameters))

    async def time(self, call: Awaitable[Any]) -> tuple[int, Any]:
        self.running = True
        started = time.perf_counter_ns()
        try:
            value = await call
        finally:
            elapsed = time.perf_counter_ns() - started
            self.running = False
        return elapsed, value


class Decisions:
    """The committed operations. Each readies the world untimed, times one transaction, returns ns.

    Undoing a decision is left to the next call's untimed transaction, so that between two timed
    calls there is one write of set-up and exactly N conversations wait.
    """

    def __init__(self, engine: AsyncEngine, router: Router, config: Config) -> None:
        self.engine, self.router = engine, router
        self.watch = Stopwatch(engine)
        self.agent_ids = [a.id for a in config.agents]
        self.team_of = {a.id: a.teams[0] for a in config.agents}
        self.arrivals = itertools.count(ARRIVAL_CUSTOMER_ID)  # created by `fill_queues`
        self.undo: tuple[int, bool] | None = None  # (conversation, requeue it rather than close it)

    def operations(self) -> dict[str, Timed]:
        return {
            "dispatch (agent frees a slot)": self.dispatch,
            "arrival, offered": self.arrival_offered,
            "arrival, queued": self.arrival_queued,
        }

    async def ready(self, free_agent_id: int | None) -> None:
        """Undo the previous decision (requeue at the back, or close) and free one agent's slot."""
        now = self.router.clock.now()
        aging = self.router.config.routing.aging
        undo = self.undo

        def put_back(conn: Connection) -> None:
            if undo is not None:
                conversation_id, requeue = undo
                conn.execute(
                    text("UPDATE offer SET state = 'rescinded' WHERE conversation_id = :id"),
                    {"id": conversation_id},
                )
                row = store.get_conversation(conn, conversation_id)
                if requeue:
                    store.update_conversation(
                        conn,
                        row,
                        state=ConversationState.QUEUED,
                        queued_at=now,
                        attempts=0,
                        queue_key=queue_key(now, row.priority, aging),
                    )
                else:
                    store.update_conversation(conn, row, state=ConversationState.CLOSED)
            if free_agent_id is not None:
                conn.execute(
                    text("UPDATE agent SET load = capacity - 1, pending_offers = 0 WHERE id = :id"),
                    {"id": free_agent_id},
                )

        await unit_of_work.write(self.engine, put_back)
        self.undo = None
        self.router.clock.advance(1.0)

    def agent_of(self, i: int, teams: Sequence[str]) -> int:
        serving = [a for a in self.agent_ids if self.team_of[a] in teams]
        return serving[i % len(serving)]

    async def dispatch(self, i: int) -> int:
        agent_id = self.agent_of(i, TEAMS)
        await self.ready(agent_id)
        router = self.router
        elapsed, (_, events) = await self.watch.time(router.run(moves.dispatch_agent, agent_id))
        offer = only_event(events, OfferMade)
        if offer.agent_id != agent_id:
            raise RuntimeError(f"offered to {offer.agent_id}, not to the freed agent {agent_id}")
        self.undo = (offer.conversation_id, True)
        return elapsed

    async def arrival(self, i: int, *, free_agent: bool) -> int:
        agent_id = self.agent_of(i, [FREE_TEAM] if free_agent else TEAMS)
        await self.ready(agent_id if free_agent else None)
        customer_id = next(self.arrivals)
        elapsed, outcome = await self.watch.time(
            self.router.request_handoff(
                customer_id, intent=INTENT_OF_TEAM[self.team_of[agent_id]], text="hello, need help"
            )
        )
        if free_agent:
            offer = only_event(outcome.events, OfferMade)
            if (offer.agent_id, offer.conversation_id) != (agent_id, outcome.conversation_id):
                raise RuntimeError(f"the arrival was not offered to the free agent {agent_id}")
        else:
            only_event(outcome.events, Queued)
        self.undo = (outcome.conversation_id, False)
        return elapsed

    async def arrival_offered(self, i: int) -> int:
        return await self.arrival(i, free_agent=True)

    async def arrival_queued(self, i: int) -> int:
        return await self.arrival(i, free_agent=False)


def only_event(events: Sequence[Any], kind: type) -> Any:
    """The call's one event of `kind`; anything else means the benchmark built the wrong world."""
    found = [e for e in events if isinstance(e, kind)]
    if len(found) != 1:
        raise RuntimeError(f"expected one {kind.__name__}, got {events!r}")
    return found[0]


async def baseline_write(engine: AsyncEngine, agent_id: int) -> int:
    """The smallest committed write through the same unit of work."""
    bare = text("UPDATE agent SET missed_offers = missed_offers WHERE id = :id")
    started = time.perf_counter_ns()
    await unit_of_work.write(engine, lambda conn: conn.execute(bare, {"id": agent_id}))
    return time.perf_counter_ns() - started


async def measure_size(
    config: Config, size: int, decisions: int, rng: random.Random, database_url: str | None
) -> tuple[list[Sample], list[str]]:
    """Samples of the baseline and of each committed operation with N waiting, and query plans."""
    with tempfile.TemporaryDirectory(prefix="frontdoor-bench-") as folder:
        began = time.perf_counter()
        arrivals = 2 * (WARMUP + decisions + 1)
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'routing.db'}"
        engine, router, _ = await build_world(url, config, size, arrivals, rng)
        print(f"# {size:,} waiting: set up in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        try:
            baseline = Sample(size, BASELINE_COMMITTED, [], True, statements=1)
            samples, plans = [baseline], []
            first_agent = config.agents[0].id
            work = Decisions(engine, router, config)
            i = 0
            for name, operation in work.operations().items():
                for _ in range(WARMUP):
                    await operation(i)
                    await baseline_write(engine, first_agent)
                    i += 1
                timed = []
                for _ in range(decisions):
                    baseline.ns.append(await baseline_write(engine, first_agent))
                    timed.append(await operation(i))
                    i += 1
                with work.watch.counting():
                    await operation(i)
                i += 1
                samples.append(Sample(size, name, timed, True, work.watch.statements))
                if is_sqlite(url):
                    plans += await explain(engine, name, work.watch.captured or [])
            return samples, plans
        finally:
            await unit_of_work.dispose(engine)


async def explain(engine: AsyncEngine, name: str, queries: list[tuple[str, Any]]) -> list[str]:
    """SQLite's plan for each distinct SELECT an operation sent."""
    lines = [f"{name}:"]
    async with engine.connect() as conn:
        for statement, parameters in dict.fromkeys(queries):
            rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            lines.append("  " + " ".join(statement.split())[:150])
            lines += [f"      {row[3]}" for row in rows]
    return lines


# ---- the pure decision --------------------------------------------------------------------


def measure_pure(config: Config, count: int, rng: random.Random) -> list[Sample]:
    """`classify` + `queue_key` + `decide_offer` on varied inputs, against an empty call alike."""
    routing = config.routing
    now = START
    free = AgentSnapshot(
        id=1,
        name="Sari",
        capacity=3,
        status=AgentStatus.AVAILABLE,
        on_shift=True,
        load=1,
        pending_offers=0,
        last_routed_at=now - timedelta(minutes=7),
    )
    full = AgentSnapshot(
        id=2,
        name="Budi",
        capacity=3,
        status=AgentStatus.AVAILABLE,
        on_shift=True,
        load=3,
        pending_offers=0,
        last_routed_at=now - timedelta(minutes=1),
    )
    cases = []
    for i in range(64):
        team = TEAMS[i % len(TEAMS)]
        conversation = ConversationSnapshot(
            id=i,
            team=team,
            priority=random_priority(rng),
            queued_at=now - timedelta(seconds=rng.uniform(0, 3600)),
            attempts=i % 4,
            sticky_agent_id=2 if i % 2 else None,
            sticky_tried=False,
            open_to_anyone=False,
        )
        cases.append(
            (
                conversation,
                rng.choice([*INTENT_OF_TEAM.values(), None]),
                "it is urgent, my order is broken" if i % 5 == 0 else "hello, I need help",
                full if i % 2 else None,
                free if i % 7 else None,
            )
        )

    def decide(case: tuple[Any, ...]) -> Any:
        conversation, intent, words, sticky, candidate = case
        verdict = classify(
            config, intent=intent, text=words, first_chat=True, is_vip=False, usual_team=None
        )
        queue_key(now, verdict.priority, routing.aging)
        return decide_offer(
            conversation, sticky_agent=sticky, candidate=candidate, routing=routing, now=now
        )

    def empty(case: tuple[Any, ...]) -> Any:
        return case

    for case in cases * 20:  # warm up
        decide(case)
        empty(case)
    clock = time.perf_counter_ns
    timed, base = [], []
    for i in range(count):
        case = cases[i % len(cases)]
        started = clock()
        empty(case)
        middle = clock()
        decide(case)
        ended = clock()
        base.append(middle - started)
        timed.append(ended - middle)
    return [
        Sample(None, BASELINE_PURE, base, False),
        Sample(None, "pure: classify+queue_key+decide_offer", timed, False),
    ]


# ---- the report ---------------------------------------------------------------------------


def size_label(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size // 1000}k" if size % 1000 == 0 and size >= 1000 else str(size)


def print_table(samples: list[Sample]) -> None:
    baselines = {s.size: s for s in samples if s.name.startswith("baseline")}
    header = ("waiting", "operation", "n", "ops/s", "p50 ms", "p99 ms", "p99 / base p99", "SQL")
    rows = []
    for s in samples:
        base = baselines[s.size].percentile(0.99)
        digits = 3 if s.committed else 5
        rows.append(
            (
                size_label(s.size),
                s.name,
                str(s.n),
                f"{s.ops_per_second:,.0f}",
                f"{s.percentile(0.50):.{digits}f}",
                f"{s.percentile(0.99):.{digits}f}",
                f"{s.percentile(0.99) / base:.2f}",
                "-" if s.statements is None else str(s.statements),
            )
        )
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" if c < 2 else f"{{:>{w}}}" for c, w in enumerate(widths))
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
    print("SQL: statements one call sends (BEGIN and COMMIT not counted)")


def print_growth(samples: list[Sample], sizes: list[int]) -> None:
    if len(sizes) < 2:
        return
    small, large = min(sizes), max(sizes)
    by_key = {(s.size, s.name): s for s in samples}
    # B-tree depth grows with log N: the most an index lookup may slow from one size to the other.
    log_bound = math.log(large) / math.log(small)
    print()
    for name in dict.fromkeys(s.name for s in samples if s.committed):
        if name.startswith("baseline"):
            continue
        a, b = by_key[(small, name)], by_key[(large, name)]
        base_a, base_b = by_key[(small, BASELINE_COMMITTED)], by_key[(large, BASELINE_COMMITTED)]
        raw = b.percentile(0.5) / a.percentile(0.5)
        normalized = (b.percentile(0.5) / base_b.percentile(0.5)) / (
            a.percentile(0.5) / base_a.percentile(0.5)
        )
        verdict = "ok" if normalized <= log_bound else "MISSED"
        print(
            f"aim growth {size_label(small)}→{size_label(large)} within the log bound "
            f"x{log_bound:.2f}: {name}: p50 x{raw:.2f}, x{normalized:.2f} against the "
            f"baseline: {verdict}"
        )


def print_aims(samples: list[Sample]) -> None:
    print()
    baselines = {s.size: s for s in samples if s.name == BASELINE_COMMITTED}
    for s in samples:
        if s.name.startswith("baseline"):
            continue
        label = f"{size_label(s.size):>4} {s.name}"
        if not s.committed:
            p99 = s.percentile(0.99)
            verdict = "ok" if p99 < AIM_PURE_P99_MS else "MISSED"
            print(f"aim p99 < {AIM_PURE_P99_MS:g} ms: {label}: {p99:.4f} ms {verdict}")
            continue
        base = baselines[s.size]
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            ratio = s.percentile(fraction) / base.percentile(fraction)
            verdict = "ok" if ratio <= AIM_TIMES_BASELINE else "MISSED"
            print(
                f"aim {name} <= {AIM_TIMES_BASELINE:g}x the bare commit: {label}: "
                f"x{ratio:.2f} {verdict}"
            )
        verdict = "ok" if (s.statements or 0) <= AIM_STATEMENTS else "MISSED"
        print(f"aim <= {AIM_STATEMENTS} statements: {label}: {s.statements} {verdict}")


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    config = build_config(args.agents)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    samples: list[Sample] = []
    for size in sizes:
        measured, plans = await measure_size(config, size, args.decisions, rng, args.database_url)
        samples += measured
    samples += measure_pure(config, args.decisions * 50, rng)
    engine_name = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"\nrouting decisions: {args.agents:,} agents in {len(ALL_TEAMS)} teams, {engine_name} "
        f"{'/'.join(size_label(s) for s in sizes)} waiting, {args.decisions:,} decisions each "
        f"(gc on; baseline interleaved)\n"
    )
    print_table(samples)
    print_growth(samples, sizes)
    print_aims(samples)
    if args.plans:
        print(f"\nquery plans with {size_label(sizes[-1])} waiting:")
        print("\n".join(plans))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--sizes", default="1000,100000", help="waiting, comma-separated")
    parser.add_argument("--decisions", type=int, default=1000, help="timed decisions per operation")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--plans", action="store_true", help="print SQLite's query plans")
    parser.add_argument(
        "--database-url", help="a PostgreSQL database to use (emptied first) instead of SQLite"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
