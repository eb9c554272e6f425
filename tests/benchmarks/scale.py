"""Benchmark (issue 18): Frontdoor as 1, 2 and 3 workers on one PostgreSQL behind nginx.

Run as `python tests/benchmarks/scale.py [--workers 1 2 3] [--customers 100] [--seconds 10]
[--repeats 1]`. Needs PostgreSQL's server binaries (Debian's `postgresql`) and nginx.

Each row starts afresh: a PostgreSQL of its own (a temporary cluster with `pg_stat_statements`, so
the statements the workers send are counted by the server itself), the sandbox Bot API server in
its own process (flood limits off, as in `pipeline.py`), nginx with config/nginx.conf's upstream,
and `frontdoor run --workers N` in webhook mode with the outbox's pacing lifted. The customers
(this process, `pipeline.Pipeline`) each write again as soon as they are answered, so
`--customers` messages are in flight: the maximum throughput. Figures:
- answered/s, and its ratio to one worker's in the same run;
- CPU per answer: the workers' user + system time (Linux /proc) per answer, all workers together,
  and its ratio to one worker's (what coordinating the workers costs);
- PostgreSQL statements and commits per answer (`pg_stat_statements`, `pg_stat_database`), the
  figures README's capacity estimate rests on;
- what else the machine spends: the sandbox server's CPU per answer, and how busy all its CPUs
  were (/proc/stat): at 100 % more workers cannot answer more, only share the same cores.
Aims (the issue's, for this 2-core machine): CPU per answer with 3 workers ≤ 1.2× one worker's;
answered/s with 2 workers ≥ 1.3× one worker's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from frontdoor.sandbox_command import free_port  # noqa: E402
from tests.benchmarks.pipeline import (  # noqa: E402
    TOKEN,
    Pipeline,
    cpu_seconds,
    faq_question,
    start_sandbox,
    stop,
    unpaced_config,
)
from tests.support.nginx import nginx  # noqa: E402
from tests.support.postgres import cluster, new_database  # noqa: E402

SECRET = "scale-benchmark-secret"
AIM_CPU_RATIO = 1.2  # 3 workers' CPU per answer ÷ one worker's, at most
AIM_THROUGHPUT_RATIO = 1.3  # 2 workers' answered/s ÷ one worker's, at least
STARTUP_S = 90.0


async def top_statements(dsn: str, limit: int) -> list[tuple[float, str]]:
    """The statements run most often in this database: (calls, query), most first."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT calls, query FROM pg_stat_statements WHERE dbid = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY calls DESC LIMIT $1",
            limit,
        )
    finally:
        await conn.close()
    return [(float(row["calls"]), " ".join(row["query"].split())) for row in rows]


async def database_counts(dsn: str) -> tuple[float, float]:
    """Statements run and transactions committed in this database so far."""
    conn = await asyncpg.connect(dsn)
    try:
        statements = await conn.fetchval(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        commits = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    return float(statements), float(commits)


@contextlib.asynccontextmanager
async def frontdoor_workers(
    count: int, api_url: str, database_url: str, workdir: Path, webhook_url: str, base_port: int
) -> AsyncIterator[tuple[subprocess.Popen[bytes], Path]]:
    """`frontdoor run --workers count`; (the process, its log)."""
    config = unpaced_config(ROOT / "config" / "frontdoor.yaml", workdir)
    log = workdir / "workers.log"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "FRONTDOOR_BOT_MODE": "webhook",
        "FRONTDOOR_WEBHOOK_URL": webhook_url,
        "FRONTDOOR_WEB_PORT": str(base_port),
        "DATABASE_URL": database_url,
    }
    command = [sys.executable, "-m", "frontdoor", "run", "--api-url", api_url,
               "--config", str(config), "--workers", str(count)]  # fmt: skip
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        started = time.monotonic()
        while "frontdoor is running" not in log.read_text(errors="replace"):  # all N are up
            if process.poll() is not None or time.monotonic() - started > STARTUP_S:
                tail = " | ".join(log.read_text(errors="replace").splitlines()[-5:])
                raise RuntimeError(f"the workers did not start: {tail}")
            await asyncio.sleep(0.2)
        yield process, log
    finally:
        stop(process)


def machine_busy() -> tuple[float, float]:
    """The machine's CPU time so far, busy and in all (Linux /proc/stat, all cores)."""
    fields = [
        float(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def worker_pids(log: Path) -> list[int]:
    """The workers `frontdoor run --workers N` started (it prints them; N = 1 starts none)."""
    return [int(pid) for pid in re.findall(r"\(pid (\d+)\)", log.read_text(errors="replace"))]


async def measure(count: int, args: argparse.Namespace) -> dict[str, float]:
    """One row: `count` workers, the maximum throughput phase."""
    with tempfile.TemporaryDirectory(prefix="scale-") as scratch, cluster() as pg:
        workdir = Path(scratch) / "run"
        workdir.mkdir()
        database_url, dsn = await new_database(pg.superuser)
        server, api_url = start_sandbox(limits=False)
        base = free_port("127.0.0.1")
        ports = [base + number for number in range(count)]
        try:
            async with (
                nginx(workdir, ports) as entry,
                aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=args.customers + 8)
                ) as session,
            ):
                pipeline = Pipeline(api_url, session)
                await pipeline.add_customers(args.customers)
                subscribed = asyncio.Event()
                listener = asyncio.create_task(pipeline.listen(subscribed))
                await subscribed.wait()
                webhook = f"http://127.0.0.1:{entry}/telegram/webhook"
                async with frontdoor_workers(
                    count, api_url, database_url, workdir, webhook, base
                ) as (bot, log):
                    try:
                        await pipeline.warm_up(faq_question, bot)
                    except RuntimeError as error:
                        tail = " | ".join(log.read_text(errors="replace").splitlines()[-5:])
                        raise RuntimeError(f"{error}; its last output: {tail}") from None
                    pids = worker_pids(log) or [bot.pid]  # one worker: the process itself
                    cpu_before = sum(cpu_seconds(pid) for pid in pids)
                    sandbox_before = cpu_seconds(server.pid)
                    busy_before = machine_busy()
                    statements_before, commits_before = await database_counts(dsn)
                    figures = await pipeline.max_throughput(faq_question, args.seconds)
                    await pipeline.quiet()
                    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
                    sandbox_cpu = cpu_seconds(server.pid) - sandbox_before
                    busy_after = machine_busy()
                    statements, commits = await database_counts(dsn)
                    top = await top_statements(dsn, args.statements)
                listener.cancel()
        finally:
            stop(server)
    answered = figures["sent"] - figures["lost"]
    if top and answered:
        print(f"  statements per answer, most frequent first ({count} worker(s), whole run):")
        for calls, query in top:
            print(f"  {calls / answered:6.2f}  {query[:110]}")
    per_answer = (lambda value: value / answered) if answered else (lambda value: float("nan"))
    return {
        **figures,
        "cpu_ms": per_answer(cpu) * 1000,
        "sandbox_ms": per_answer(sandbox_cpu) * 1000,
        "busy": (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1]),
        "statements": per_answer(statements - statements_before),
        "commits": per_answer(commits - commits_before),
        "commits_per_s": (commits - commits_before) / args.seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--customers", type=int, default=100, help="messages in flight")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=1, help="the median is reported")
    parser.add_argument("--statements", type=int, default=0, metavar="N",
                        help="print the N statements run most often, per answer")  # fmt: skip
    args = parser.parse_args()
    if 1 not in args.workers:
        args.workers.insert(0, 1)  # the baseline
    load_before = os.getloadavg()[0]
    runs: dict[int, list[dict[str, float]]] = {}
    for repeat in range(args.repeats):
        for count in args.workers:
            print(f"repeat {repeat + 1}/{args.repeats}: {count} worker(s) …", flush=True)
            runs.setdefault(count, []).append(asyncio.run(measure(count, args)))
    rows = {
        count: {key: statistics.median(run[key] for run in found) for key in found[0]}
        for count, found in runs.items()
    }
    base = rows[1]
    print(
        f"\n{args.customers} customers in flight, {args.seconds:g} s, median of {args.repeats}, "
        f"{os.cpu_count()} CPUs, load average {load_before:.2f} before "
        f"{os.getloadavg()[0]:.2f} after"
    )
    print(
        f"{'workers':>7} {'answered/s':>10} {'×1 worker':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'lost':>5} {'CPU ms/answer':>13} {'×1 worker':>9} {'stmts/answer':>12} "
        f"{'commits/answer':>14} {'commits/s':>9} {'sandbox ms':>10} {'CPUs busy':>9}"
    )
    for count, row in rows.items():
        print(
            f"{count:>7} {row['answered_per_s']:>10.0f} "
            f"{row['answered_per_s'] / base['answered_per_s']:>9.2f} {row['p50_ms']:>7.1f} "
            f"{row['p99_ms']:>7.1f} {row['lost']:>5.0f} {row['cpu_ms']:>13.2f} "
            f"{row['cpu_ms'] / base['cpu_ms']:>9.2f} {row['statements']:>12.1f} "
            f"{row['commits']:>14.1f} {row['commits_per_s']:>9.0f} "
            f"{row['sandbox_ms']:>10.2f} {row['busy']:>9.0%}"
        )
    if 3 in rows:
        ratio = rows[3]["cpu_ms"] / base["cpu_ms"]
        verdict = "ok" if ratio <= AIM_CPU_RATIO else "MISSED"
        print(
            f"aim CPU per answer, 3 workers ≤ {AIM_CPU_RATIO}× 1 worker ({ratio:.2f}×): {verdict}"
        )
    if 2 in rows:
        ratio = rows[2]["answered_per_s"] / base["answered_per_s"]
        verdict = "ok" if ratio >= AIM_THROUGHPUT_RATIO else "MISSED"
        print(
            f"aim answered/s, 2 workers ≥ {AIM_THROUGHPUT_RATIO}× 1 worker ({ratio:.2f}×): "
            f"{verdict}"
        )


if __name__ == "__main__":
    main()
