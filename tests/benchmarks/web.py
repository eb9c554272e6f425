"""Web benchmark: what the bot's web endpoints cost as the database fills with history.

    /work/venv/bin/python tests/benchmarks/web.py [--conversations 20000] [--requests 50]
                                                  [--waiting 50] [--templates 300]

Two worlds are built, each a real SQLite file (WAL, migrated as production does): N conversations
of history over the last 7 days, and N/10. The history comes in two parts:

- `--templates` conversations through the real routing core (`handoff.router.Router` on a
  `ManualClock`), in simulated time: customers arrive, chat with the bot, ask for a person; the
  core offers, agents claim (some decline or let the offer time out), chat, sometimes transfer to
  another team, close; most customers rate. The core's own sweep runs every 5 minutes.
- The rest are bulk-inserted copies of those conversations: every row one of them left (its
  conversation, offers, messages before and after the handoff, trail, rating, customer) inserted
  again with new ids and a new customer (a returning one for a quarter of them), all its times
  shifted to a moment drawn from a daily profile. So the rows have exactly the core's shape; only
  the core was too slow to write 20,000 of them here.

Then, in both worlds, the live desk through the core again in the last 40 minutes: every agent's
slots taken by chats in progress and `--waiting` more conversations queued. The `outbox` and
`inbox_update` tables stay empty; /metrics reads them only by index (pending, unprocessed).

Each world is served by the real `frontdoor.bootstrap.Frontdoor` (polling the in-process sandbox Bot API
server, clock stopped at the end of the history, `web_port=0`, a dashboard token), and
`--requests` requests (after 5 of warm-up) of each endpoint are timed, interleaved round-robin,
from an aiohttp client in the same process:

- `GET /healthz`, the baseline: aiohttp, the client and the event loop, no I/O;
- `GET /metrics`;
- `GET /dashboard/api/overview` (what the dashboard polls);
- `GET /dashboard/api/report?from=<7 days ago>&to=<today>` (the whole history);
- `GET /dashboard/api/conversations/<id>`, rotating over conversations spread through history.

How to read it: machines here are shared and noisy, so each endpoint's p50 is also given as a
ratio to the baseline's p50 in the same run. The last table divides the larger world's ratio by
the smaller's: about 1 for an endpoint whose cost does not depend on history, about 10 for one
that reads all of it. Both worlds span the same 7 days, so the larger one also has 10 times the
traffic per day: what reads "today" or "the last 24 hours" grows with it, by right; what reads
one conversation should not grow at all. Latencies are wall-clock `perf_counter_ns` from the
request to the last byte of the body; bytes are the body's (the median, for the rotating one).
The handlers run on the bot's event loop, so a slow one holds up everything else the bot does:
APScheduler's "Run time of job … was missed" warnings on stderr during the run say so.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from handoff import store  # noqa: E402
from handoff.clock import ManualClock  # noqa: E402
from handoff.config import Config  # noqa: E402
from handoff.db import create_engine  # noqa: E402
from handoff.events import Event, OfferMade  # noqa: E402
from handoff.kpis.measures import percentiles  # noqa: E402
from handoff.kpis.report import report_zone  # noqa: E402
from handoff.migrations import upgrade  # noqa: E402
from handoff.results import ActionResult, ClaimResult  # noqa: E402
from handoff.router import Router  # noqa: E402
from handoff.states import AgentStatus, ConversationState  # noqa: E402
from handoff.store import SentMessage  # noqa: E402
from handoff.tables import Csat  # noqa: E402
from tests.sandbox_support import running_sandbox  # noqa: E402
from tests.support.configs import make_config  # noqa: E402
from tests.support.frontdoor import TUESDAY_10_WIB, running_frontdoor  # noqa: E402

NOW = TUESDAY_10_WIB  # the end of the history; the bot's clock stands here while timed
HISTORY = timedelta(days=7)
LIVE = timedelta(minutes=40)  # the live desk's arrivals begin this long before NOW
LIVE_ARRIVALS = timedelta(minutes=30)
LONGEST_TEMPLATE = timedelta(hours=2)  # a copy starts at least this long before the live desk
TEAMS = ("sales", "support", "billing")
AGENTS_PER_TEAM = 4
CAPACITY = 3
FIRST_AGENT_ID = 101
FIRST_CUSTOMER_ID = 5_000_000
SWEEP_EVERY = timedelta(minutes=5)
ARRIVAL_GAP_S = 40.0  # mean, between two template customers
RETURNING = 0.25  # share of copies whose customer came before
WARMUP = 5
TOKEN = "web-benchmark-dashboard-token"
BASELINE = "/healthz"
CSAT_WEIGHTS = (0.05, 0.05, 0.1, 0.3, 0.5)  # scores 1 to 5
QUESTIONS: dict[str | None, str] = {
    "pricing": "berapa harga paket bisnis?",
    "broken": "aplikasi saya error terus sejak kemarin",
    "invoice": "tagihan bulan ini salah, tolong dicek",
    None: "saya mau bicara dengan orang",
}
INTENT_OF_TEAM = {"sales": "pricing", "support": "broken", "billing": "invoice"}
# Local hour (Asia/Jakarta) → how busy, relative to the busiest hours.
BUSY = [0.05] * 7 + [0.4, 0.8] + [1.0] * 9 + [0.7] * 4 + [0.3] * 2


# ---- the world ----------------------------------------------------------------------------


def build_config() -> Config:
    """Three always-open teams of four agents (capacity 3), one intent each."""
    intents = {
        intent: {"keywords": {"id": [intent]}, "team": team}
        for team, intent in INTENT_OF_TEAM.items()
    }
    agents = [
        {"id": FIRST_AGENT_ID + i, "capacity": CAPACITY, "teams": [TEAMS[i % len(TEAMS)]]}
        for i in range(AGENTS_PER_TEAM * len(TEAMS))
    ]
    config = make_config(teams={team: {} for team in TEAMS}, agents=agents, intents=intents)
    # A short long poll: stopping the sandbox waits for the getUpdates in flight.
    return config.model_copy(update={"bot": config.bot.model_copy(update={"poll_timeout": 1})})


class Desk:
    """The real routing core driven through simulated time: customers arrive and ask for a
    person, agents answer offers (as the scheduler's timers and the agents' buttons would), chat
    and close. Each step is one router call at its moment of the manual clock."""

    def __init__(
        self, router: Router, clock: ManualClock, rng: random.Random, *, live: bool
    ) -> None:
        self.router, self.clock, self.rng = router, clock, rng
        self.live = live  # chats in progress at the end: they never close
        self.steps: list[tuple[datetime, int, Callable[[], Awaitable[Any]]]] = []
        self.order = itertools.count()
        self.customer_of: dict[int, int] = {}
        router.listeners.append(self.observe)

    def at(self, moment: datetime, step: Callable[[], Awaitable[Any]]) -> None:
        heapq.heappush(self.steps, (moment, next(self.order), step))

    def after(self, seconds: float, step: Callable[[], Awaitable[Any]]) -> None:
        self.at(self.clock.now() + timedelta(seconds=seconds), step)

    async def run(self, until: datetime | None = None) -> None:
        """Take the steps in time order (and the core's sweep every 5 minutes) until none is left
        or `until`."""
        sweep_at = self.clock.now() + SWEEP_EVERY
        while self.steps and (until is None or self.steps[0][0] < until):
            moment, _, step = heapq.heappop(self.steps)
            while sweep_at <= moment:
                self.clock.set(sweep_at)
                await self.router.sweep()
                sweep_at += SWEEP_EVERY
            self.clock.set(moment)
            await step()
        if until is not None:
            self.clock.set(until)

    def arrive(self, moment: datetime, customer_id: int) -> None:
        self.at(moment, partial(self.greet, customer_id))

    async def greet(self, customer_id: int) -> None:
        """The customer writes, the bot answers with its menu; a little later they ask for a person."""
        language = self.rng.choice(("id", "id", "en"))
        await self.router.ensure_customer(
            customer_id, name=f"Customer {customer_id}", language=language
        )
        await self.router.record_messages(
            customer_id,
            None,
            [SentMessage("customer", text="halo"), SentMessage("bot", text="Halo! Pilih menu:")],
        )
        intent = self.rng.choice([*INTENT_OF_TEAM.values(), None])
        self.after(self.rng.uniform(10, 60), partial(self.ask_for_person, customer_id, intent))

    async def ask_for_person(self, customer_id: int, intent: str | None) -> None:
        question = QUESTIONS[intent]
        await self.router.record_messages(
            customer_id,
            None,
            [SentMessage("customer", text=question), SentMessage("bot", text="Mohon tunggu…")],
        )
        outcome = await self.router.request_handoff(customer_id, intent=intent, text=question)
        if outcome.conversation_id is not None:
            self.customer_of[outcome.conversation_id] = customer_id

    async def observe(self, events: Sequence[Event]) -> None:
        """An offer made: the agent claims it, or lets it time out."""
        for event in events:
            if not isinstance(event, OfferMade) or event.conversation_id is None:
                continue
            roll = 1.0 if self.live else self.rng.random()  # the live desk takes every offer
            if roll < 0.12:  # the scheduler's timer fires at the deadline
                self.at(event.deadline, self.router.expire_overdue)
            else:
                claim = partial(self.claim, event.conversation_id, event.agent_id)
                self.after(self.rng.uniform(3, 30), claim)

    async def claim(self, conversation_id: int, agent_id: int) -> None:
        outcome = await self.router.claim(conversation_id, agent_id)
        if outcome.result is ClaimResult.CLAIMED:
            exchanges = 10**9 if self.live else self.rng.randint(2, 6)
            write = partial(self.agent_writes, conversation_id, agent_id, exchanges)
            self.after(self.rng.uniform(15, 60), write)

    async def agent_writes(self, conversation_id: int, agent_id: int, left: int) -> None:
        await self.router.record_message(
            conversation_id,
            sender="agent",
            customer_id=self.customer_of[conversation_id],
            agent_id=agent_id,
            text="Baik, saya bantu cek dulu ya.",
        )
        reply = partial(self.customer_writes, conversation_id, agent_id, left - 1)
        self.after(self.rng.uniform(20, 150), reply)

    async def customer_writes(self, conversation_id: int, agent_id: int, left: int) -> None:
        await self.router.record_message(
            conversation_id,
            sender="customer",
            customer_id=self.customer_of[conversation_id],
            text="Oke, terima kasih. Ini nomor pesanan saya: 48213.",
        )
        if left > 0:
            self.after(
                self.rng.uniform(15, 90),
                partial(self.agent_writes, conversation_id, agent_id, left),
            )
        else:
            self.after(self.rng.uniform(20, 90), partial(self.wrap_up, conversation_id, agent_id))

    async def wrap_up(self, conversation_id: int, agent_id: int) -> None:
        """Close, and most customers rate; a few chats go to another team instead."""
        if self.rng.random() < 0.06:
            agent = self.router.config.agent(agent_id)
            teams = agent.teams if agent is not None else []
            other = self.rng.choice([t for t in TEAMS if t not in teams])
            await self.router.transfer(conversation_id, agent_id, to_team=other)
            return
        outcome = await self.router.close(conversation_id, by_agent_id=agent_id)
        if outcome.result is ActionResult.DONE and self.rng.random() < 0.65:
            score = self.rng.choices(range(1, 6), weights=CSAT_WEIGHTS)[0]
            customer_id = self.customer_of[conversation_id]
            rate = partial(self.router.record_csat, conversation_id, customer_id, score)
            self.after(self.rng.uniform(10, 120), rate)


async def build_templates(path: Path, config: Config, count: int, rng: random.Random) -> None:
    """The first conversations of history, each from arrival to rating through the core."""
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(url)
    clock = ManualClock(NOW - HISTORY)
    router = Router(engine, config, clock)
    await router.sync_agents()
    desk = Desk(router, clock, rng, live=False)
    moment = clock.now()
    for i in range(count):
        moment += timedelta(seconds=rng.expovariate(1 / ARRIVAL_GAP_S))
        desk.arrive(moment, FIRST_CUSTOMER_ID + i)
    await desk.run()
    await checkpoint_and_dispose(engine)


async def checkpoint_and_dispose(engine: AsyncEngine) -> None:
    """Fold the WAL into the file, so that copying the file copies the database."""
    async with engine.connect() as conn:
        await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    await engine.dispose()


@dataclass
class Templates:
    """Every row the template conversations left, by conversation (messages before the
    handoff go by customer: each template has a customer of its own)."""

    conversations: list[dict[str, Any]]
    customers: dict[int, dict[str, Any]]
    children: dict[str, dict[int, list[dict[str, Any]]]]  # table → conversation id → rows
    before_handoff: dict[int, list[dict[str, Any]]]  # customer id → messages
    end: datetime  # when the last template row was written


CHILDREN: dict[str, Table] = {
    "offer": store.offers,
    "message": store.messages,
    "trail_event": store.trail,
    "csat": Csat.__table__,
}


async def read_templates(engine: AsyncEngine) -> Templates:
    async with engine.connect() as conn:
        conversations = [
            dict(r._mapping)
            for r in await conn.execute(
                select(store.conversations).order_by(store.conversations.c.id)
            )
        ]
        customers = {r.id: dict(r._mapping) for r in await conn.execute(select(store.customers))}
        children: dict[str, dict[int, list[dict[str, Any]]]] = {}
        before: dict[int, list[dict[str, Any]]] = {}
        for name, table in CHILDREN.items():
            rows = children.setdefault(name, {})
            for r in await conn.execute(select(table)):
                row = dict(r._mapping)
                if row["conversation_id"] is None:
                    before.setdefault(row["customer_id"], []).append(row)
                else:
                    rows.setdefault(row["conversation_id"], []).append(row)
        end = max(
            await conn.scalar(select(func.max(store.messages.c.created_at))),
            await conn.scalar(select(func.max(store.trail.c.at))),
            await conn.scalar(select(func.max(CHILDREN["csat"].c.at))),
        )
    unfinished = [c["id"] for c in conversations if c["state"] != ConversationState.CLOSED]
    if unfinished:
        raise RuntimeError(f"template conversations left open: {unfinished}")
    return Templates(conversations, customers, children, before, end)


def busy_moments(
    count: int, start: datetime, end: datetime, zone: ZoneInfo, rng: random.Random
) -> list[datetime]:
    """`count` sorted moments in [start, end), more of them in the desk's busy local hours."""
    span = (end - start).total_seconds()
    found: list[datetime] = []
    while len(found) < count:
        moment = start + timedelta(seconds=rng.uniform(0, span))
        if rng.random() < BUSY[moment.astimezone(zone).hour]:
            found.append(moment)
    return sorted(found)


def shifted(row: dict[str, Any], delta: timedelta, **changes: Any) -> dict[str, Any]:
    """The row with every time moved by `delta`, its own id dropped (the table assigns one)
    unless given, and `changes` applied."""
    copy = {
        key: value + delta if isinstance(value, datetime) else value
        for key, value in row.items()
        if key != "id"
    }
    return copy | changes


async def copy_history(
    engine: AsyncEngine, templates: Templates, count: int, zone: ZoneInfo, rng: random.Random
) -> None:
    """`count` more conversations: copies of the templates, each at a new moment, inserted in
    chunks of one transaction each."""
    first_id = max(c["id"] for c in templates.conversations) + 1
    start, end = templates.end + timedelta(minutes=10), NOW - LIVE - LONGEST_TEMPLATE
    moments = busy_moments(count, start, end, zone, rng)
    customer_ids: list[int] = []
    next_customer = FIRST_CUSTOMER_ID + 10 * len(templates.customers) + 1_000_000
    chunk = 2000
    for begin in range(0, count, chunk):
        rows: dict[str, list[dict[str, Any]]] = {
            name: [] for name in ("customer", "conversation", *CHILDREN)
        }
        for i in range(begin, min(count, begin + chunk)):
            template = templates.conversations[i % len(templates.conversations)]
            delta = moments[i] - template["created_at"]
            returning = i > 500 and rng.random() < RETURNING
            if returning:
                customer_id = customer_ids[rng.randrange(0, i - 500)]  # came a while ago
            else:
                customer_id = next_customer
                next_customer += 1
                customer = templates.customers[template["customer_id"]]
                name = f"Customer {customer_id}"
                rows["customer"].append(shifted(customer, delta, id=customer_id, name=name))
            customer_ids.append(customer_id)
            conversation_id = first_id + i
            rows["conversation"].append(
                shifted(
                    template,
                    delta,
                    id=conversation_id,
                    customer_id=customer_id,
                    is_lead=template["is_lead"] and not returning,
                )
            )
            for name in CHILDREN:
                for child in templates.children[name].get(template["id"], []):
                    moved = dict(conversation_id=conversation_id)
                    if name == "message":
                        moved["customer_id"] = customer_id
                    rows[name].append(shifted(child, delta, **moved))
            rows["message"] += [
                shifted(m, delta, customer_id=customer_id)
                for m in templates.before_handoff.get(template["customer_id"], [])
            ]
        async with engine.begin() as conn:
            await conn.execute(insert(store.customers), rows["customer"])
            await conn.execute(insert(store.conversations), rows["conversation"])
            for name, table in CHILDREN.items():
                if rows[name]:
                    await conn.execute(insert(table), rows[name])


async def open_the_desk(
    engine: AsyncEngine, config: Config, waiting: int, rng: random.Random
) -> None:
    """The last 40 minutes through the core: every agent's slots fill with chats still going on
    at NOW, and `waiting` more customers queue behind them."""
    clock = ManualClock(NOW - LIVE)
    router = Router(engine, config, clock)
    for agent in config.agents:  # back at their desks, even one the templates' misses sent away
        await router.set_agent_status(agent.id, AgentStatus.AVAILABLE)
    desk = Desk(router, clock, rng, live=True)
    arrivals = sum(a.capacity for a in config.agents) + waiting
    gap = LIVE_ARRIVALS / arrivals
    async with engine.connect() as conn:
        first = int(await conn.scalar(select(func.max(store.customers.c.id))) or 0) + 1
    for i in range(arrivals):
        desk.arrive(clock.now() + gap * (i + rng.random()), first + i)
    await desk.run(until=NOW)


@dataclass
class World:
    label: str
    directory: Path
    history: int
    counts: dict[str, int]
    waiting: int
    assigned: int
    seconds: float
    sample_ids: list[int]


async def build_world(
    seed: Path, directory: Path, config: Config, history: int, args: argparse.Namespace
) -> World:
    """A copy of the seed file, its history copied up to `history` conversations, the live desk."""
    started = time.perf_counter()
    rng = random.Random(args.seed + history)
    directory.mkdir()
    path = directory / "frontdoor.db"
    shutil.copyfile(seed, path)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    templates = await read_templates(engine)
    copies = history - len(templates.conversations)
    await copy_history(engine, templates, copies, report_zone(config), rng)
    await open_the_desk(engine, config, args.waiting, rng)
    conv = store.conversations
    async with engine.connect() as conn:
        counts = {}
        for name in ("conversation", "customer", "offer", "message", "trail_event", "csat"):
            counts[name] = int(await conn.scalar(text(f"SELECT count(*) FROM {name}")) or 0)
        by_state = dict(
            (await conn.execute(select(conv.c.state, func.count()).group_by(conv.c.state)))
            .tuples()
            .all()
        )
    await checkpoint_and_dispose(engine)
    shown = WARMUP + args.requests
    # Ids count from 1 without gaps, the copies after the templates, the live desk after them.
    sample_ids = [1 + k * history // shown for k in range(shown)]
    return World(
        label=size_label(history),
        directory=directory,
        history=history,
        counts=counts,
        waiting=by_state.get(ConversationState.QUEUED, 0)
        + by_state.get(ConversationState.OFFERED, 0),
        assigned=by_state.get(ConversationState.ASSIGNED, 0),
        seconds=time.perf_counter() - started,
        sample_ids=sample_ids,
    )


# ---- the requests -------------------------------------------------------------------------


@dataclass
class Sample:
    """One endpoint's timed requests in one world."""

    endpoint: str
    ms: list[float]
    sizes: list[int]

    @property
    def p50(self) -> float:
        return percentiles(self.ms).p50 or 0.0

    @property
    def p90(self) -> float:
        return percentiles(self.ms).p90 or 0.0


def endpoints(config: Config, sample_ids: list[int]) -> dict[str, Callable[[int], str]]:
    """Endpoint label → the path of its i-th request."""
    today = NOW.astimezone(report_zone(config)).date()
    week_ago = today - HISTORY
    return {
        BASELINE: lambda i: BASELINE,
        "/metrics": lambda i: "/metrics",
        "/dashboard/api/overview": lambda i: "/dashboard/api/overview",
        "/dashboard/api/report (7 days)": lambda i: (
            f"/dashboard/api/report?from={week_ago.isoformat()}&to={today.isoformat()}"
        ),
        "/dashboard/api/conversations/<id>": lambda i: (
            f"/dashboard/api/conversations/{sample_ids[i % len(sample_ids)]}"
        ),
    }


async def measure(world: World, config: Config, requests: int) -> list[Sample]:
    """Start the bot on the world's file and time the endpoints, round-robin."""
    paths = endpoints(config, world.sample_ids)
    samples = {name: Sample(name, [], []) for name in paths}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        running_sandbox() as (sandbox_url, _),
        running_frontdoor(
            sandbox_url, world.directory, config=config, start=NOW, dashboard_token=TOKEN
        ) as bot,
        aiohttp.ClientSession(headers=headers) as session,
    ):
        assert bot.web is not None
        base = f"http://127.0.0.1:{bot.web.port}"
        clock = time.perf_counter_ns
        for i in range(WARMUP + requests):
            for name, path_of in paths.items():
                url = base + path_of(i)
                started = clock()
                async with session.get(url) as response:
                    body = await response.read()
                elapsed = clock() - started
                if response.status != 200:
                    raise RuntimeError(f"GET {url}: {response.status} {body[:300]!r}")
                if i >= WARMUP:
                    samples[name].ms.append(elapsed / 1e6)
                    samples[name].sizes.append(len(body))
    return list(samples.values())


# ---- the report ---------------------------------------------------------------------------


def size_label(size: int) -> str:
    return f"{size / 1000:g}k" if size >= 1000 else str(size)


def print_rows(header: Sequence[str], rows: list[Sequence[str]]) -> None:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" if c == 0 else f"{{:>{w}}}" for c, w in enumerate(widths))
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))


def print_world(world: World, samples: list[Sample], templates: int) -> None:
    c = world.counts
    print(
        f"\n{world.label} conversations of history ({templates} through the router, "
        f"{world.history - templates:,} copied), then {world.assigned} assigned and "
        f"{world.waiting} waiting; {c['message']:,} messages, {c['offer']:,} offers, "
        f"{c['trail_event']:,} trail events, {c['csat']:,} ratings, {c['customer']:,} customers "
        f"(built in {world.seconds:.1f} s)\n"
    )
    base = samples[0].p50
    print_rows(
        ("endpoint", "p50 ms", "p90 ms", "p50 / base p50", "bytes"),
        [
            (
                s.endpoint + (" (baseline)" if s.endpoint == BASELINE else ""),
                f"{s.p50:.2f}",
                f"{s.p90:.2f}",
                f"{s.p50 / base:.1f}",
                f"{statistics.median(s.sizes):,.0f}",
            )
            for s in samples
        ],
    )


def print_growth(small: tuple[World, list[Sample]], large: tuple[World, list[Sample]]) -> None:
    (a, ones), (b, others) = small, large
    print(
        f"\ngrowth with history, {a.label} → {b.label} conversations (x{b.history / a.history:g})\n"
    )
    rows = []
    for one, other in zip(ones, others, strict=True):
        ratio_a, ratio_b = one.p50 / ones[0].p50, other.p50 / others[0].p50
        rows.append(
            (
                one.endpoint,
                f"{one.p50:.2f}",
                f"{other.p50:.2f}",
                f"{ratio_a:.1f}",
                f"{ratio_b:.1f}",
                f"x{ratio_b / ratio_a:.2f}",
            )
        )
    print_rows(
        (
            "endpoint",
            f"p50 ms {a.label}",
            f"p50 ms {b.label}",
            f"/ base {a.label}",
            f"/ base {b.label}",
            "growth",
        ),
        rows,
    )


async def run(args: argparse.Namespace) -> None:
    config = build_config()
    sizes = [args.conversations // 10, args.conversations]
    if sizes[0] < args.templates:
        raise SystemExit(f"--conversations must be at least 10 × --templates ({args.templates})")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="web-bench-") as scratch:
        seed = Path(scratch) / "seed.db"
        await build_templates(seed, config, args.templates, random.Random(args.seed))
        print(
            f"{args.templates} template conversations through the router in "
            f"{time.perf_counter() - started:.1f} s"
        )
        results = []
        for size in sizes:
            world = await build_world(seed, Path(scratch) / str(size), config, size, args)
            samples = await measure(world, config, args.requests)
            results.append((world, samples))
    for world, samples in results:
        print_world(world, samples, args.templates)
    print_growth(results[0], results[1])
    print(
        f"\n{args.requests} timed requests per endpoint after {WARMUP} of warm-up, interleaved; "
        f"whole run {time.perf_counter() - started:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20_000, help="history, larger world")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per endpoint")
    parser.add_argument("--waiting", type=int, default=50, help="queued behind the full desk")
    parser.add_argument("--templates", type=int, default=300, help="conversations via the router")
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
