"""Benchmark: how long `frontdoor simulate` takes for a day of 10,000 chats with 50 agents.

Run as `python tests/benchmarks/simulate.py [--chats 10000] [--agents 50] [--seed 1]`.

One team always open, 50 agents of capacity 2, 10,000 chats over 24 hours (Poisson, evenly),
exponential handle times of 5 minutes, claims after 10 s, no one leaves: a load of ~70 % of the
slots. The baseline, measured in the same run, is what the same number of routing steps costs as
bare `UPDATE + COMMIT`s through the same unit of work, SQLite in memory with its steps inline (the
floor any simulation on the database pays; the same on a file, the bot's, for reference); the aim
is the issue's: a day of 10,000 chats with 50 agents in at most 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from handoff import unit_of_work
from handoff.db import create_engine, create_schema, memory_url
from handoff.simulation.engine import Arrivals, Distribution, People, Shape, Simulation
from handoff.simulation.report import team_figures
from tests.support.configs import make_config

AIM_SECONDS = 10.0
STEPS_PER_CHAT = 4  # a customer's record, the handoff, the claim, the close


async def bare_commits(count: int, url: str) -> float:
    """Seconds for `count` bare UPDATE + COMMIT steps through the unit of work on `url`."""
    engine = create_engine(url)
    await create_schema(engine)
    started = time.perf_counter()
    for _ in range(count):
        await unit_of_work.write(
            engine, lambda conn: conn.execute(text("UPDATE agent SET load = load WHERE id = 0"))
        )
    elapsed = time.perf_counter() - started
    await unit_of_work.dispose(engine)
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    config = make_config(
        agents=[{"id": i, "capacity": 2} for i in range(1, args.agents + 1)],
        intents={"tanya": {"team": "support", "keywords": {"id": ["tanya"]}}},
    )
    simulation = Simulation(
        config,
        Arrivals({"tanya": args.chats / 24}),
        People(Distribution(300), claim_delay=Distribution(10, Shape.FIXED)),
        start=datetime(2026, 11, 23, tzinfo=UTC),
        days=1,
        seed=args.seed,
    )
    started = time.perf_counter()
    outcome = await simulation.run()
    elapsed = time.perf_counter() - started
    steps = len(outcome.chats) * STEPS_PER_CHAT
    floor = await bare_commits(steps, memory_url())  # the simulation's own unit of work
    with tempfile.TemporaryDirectory() as scratch:
        on_file = await bare_commits(steps, f"sqlite+aiosqlite:///{Path(scratch) / 'bare.db'}")
    overall = team_figures(outcome, config)[-1]
    print(f"{len(outcome.chats):,} chats, {args.agents} agents, one day, seed {args.seed}")
    print(f"{'':34}{'seconds':>10}{'chats/s':>10}")
    for name, seconds in [
        ("bare commits in memory (floor)", floor),
        ("bare commits on a file", on_file),
    ]:
        print(f"{name:34}{seconds:>10.1f}{len(outcome.chats) / seconds:>10.0f}")
    print(f"{'simulation':34}{elapsed:>10.1f}{len(outcome.chats) / elapsed:>10.0f}")
    print(f"{'ratio simulation / floor':34}{elapsed / floor:>10.2f}")
    print(f"answered {overall.answered:,}, mean wait {overall.wait_mean or 0:.1f} s")
    verdict = "ok" if elapsed <= AIM_SECONDS else "MISSED"
    print(
        f"aim a day of 10,000 chats with 50 agents <= {AIM_SECONDS:.0f} s: {elapsed:.1f} s {verdict}"
    )


if __name__ == "__main__":
    asyncio.run(main())
