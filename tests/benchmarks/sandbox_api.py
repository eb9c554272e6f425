"""Benchmark: sendMessage calls per second against the sandbox Bot API server.

Run as `python tests/benchmarks/sandbox_api.py [--clients 4] [--seconds 5]`. The server runs alone
in its own process with flood limits off; several client processes (aiohttp, keep-alive, a few
requests in flight each) call sendMessage. A trivial aiohttp "hello" handler is measured the same
way in the same run, so the table shows how close the sandbox comes to aiohttp's own ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TOKEN = "4242:bench"
USER_ID = 5000001
LABELS = {"hello": "aiohttp hello (baseline)", "sandbox": "sandbox sendMessage"}


def serve(kind: str, port_queue: mp.Queue) -> None:
    """Server process: the sandbox (limits off, one started user) or the hello baseline."""

    async def main() -> None:
        if kind == "sandbox":
            from sandbox.limits import LimitSettings
            from sandbox.server import create_app

            app = create_app(TOKEN, LimitSettings(enabled=False))
        else:

            async def hello(request: web.Request) -> web.Response:
                await request.read()
                return web.Response(
                    text='{"ok":true,"result":true}', content_type="application/json"
                )

            app = web.Application()
            app.router.add_post("/bot{token}/{method}", hello)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


def drive(url: str, seconds: float, inflight: int, out: mp.Queue) -> None:
    """Client process: `inflight` concurrent loops of sendMessage for `seconds`; latencies out."""

    async def main() -> list[float]:
        latencies: list[float] = []
        body = json.dumps({"chat_id": USER_ID, "text": "benchmark message"})
        headers = {"Content-Type": "application/json"}
        connector = aiohttp.TCPConnector(limit=inflight)
        async with aiohttp.ClientSession(connector=connector) as session:
            stop = time.perf_counter() + seconds

            async def loop() -> None:
                while time.perf_counter() < stop:
                    started = time.perf_counter()
                    async with session.post(url, data=body, headers=headers) as response:
                        answer = await response.read()
                    latencies.append(time.perf_counter() - started)
                    if response.status != 200:
                        raise RuntimeError(answer)

            await asyncio.gather(*(loop() for _ in range(inflight)))
        return latencies

    out.put(asyncio.run(main()))


async def prepare(base: str) -> None:
    """Create the user the benchmark writes to, and let it start the bot."""
    async with aiohttp.ClientSession() as session:
        await session.post(f"{base}/sandbox/users", json={"id": USER_ID, "first_name": "Bench"})
        await session.post(f"{base}/sandbox/users/{USER_ID}/send", json={"text": "/start"})


def measure(kind: str, clients: int, inflight: int, seconds: float) -> dict[str, float]:
    """Start a server of `kind`, drive it from `clients` processes, return the figures."""
    ctx = mp.get_context("spawn")
    ports: mp.Queue = ctx.Queue()
    server = ctx.Process(target=serve, args=(kind, ports), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=20)}"
    if kind == "sandbox":
        asyncio.run(prepare(base))
    results: mp.Queue = ctx.Queue()
    url = f"{base}/bot{TOKEN}/sendMessage"
    workers = [ctx.Process(target=drive, args=(url, seconds, inflight, results))
               for _ in range(clients)]  # fmt: skip
    for worker in workers:
        worker.start()
    latencies = [lat for _ in workers for lat in results.get(timeout=seconds + 60)]
    for worker in workers:
        worker.join()
    server.terminate()
    server.join()
    latencies.sort()
    return {
        "calls": len(latencies),
        "calls_per_s": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    """Measure the baseline and the sandbox; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=3, help="client processes")
    parser.add_argument("--inflight", type=int, default=8, help="concurrent requests per client")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    rows = {
        kind: measure(kind, args.clients, args.inflight, args.seconds)
        for kind in ("hello", "sandbox")
    }
    print(
        f"{args.clients} client processes × {args.inflight} in flight, {args.seconds:g} s each, "
        f"{mp.cpu_count()} CPUs"
    )
    print(f"{'server':28} {'calls':>8} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, row in rows.items():
        print(
            f"{LABELS[name]:28} {row['calls']:>8} {row['calls_per_s']:>9.0f} "
            f"{row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}"
        )
    baseline, sandbox = rows.values()
    print(f"sandbox / baseline: {sandbox['calls_per_s'] / baseline['calls_per_s']:.2f}")


if __name__ == "__main__":
    main()
