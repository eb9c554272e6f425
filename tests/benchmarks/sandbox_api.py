"""Benchmark: sendMessage calls per second against the sandbox Bot API server.

Run as `python tests/benchmarks/sandbox_api.py [--clients 1 2] [--seconds 3] [--repeats 3]`.
The server runs alone in its own process with flood limits off and no access log; client
processes keep `--connections` keep-alive connections each, one request in flight per connection
(no pipelining), and call sendMessage. A bare aiohttp "hello" handler is measured the same way,
interleaved with the sandbox in every repeat, so both see the same machine load.

The clients speak raw HTTP/1.1 over asyncio (a pre-built request, the response's status line and
Content-Length read): an aiohttp ClientSession spends more CPU per call than the server it drives,
and the clients share the cores with the server. Besides calls/s the table shows the server's own
CPU time per call (user + system, read in the server process), which the other load on the
machine hardly changes; its inverse is the rate one dedicated core would reach.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TOKEN = "4242:bench"
USER_ID = 5000001
LABELS = {"hello": "aiohttp hello (baseline)", "sandbox": "sandbox sendMessage"}
PATH = f"/bot{TOKEN}/sendMessage"
BODY = json.dumps({"chat_id": USER_ID, "text": "benchmark message"}).encode()


def serve(kind: str, port_queue: mp.Queue, cpu_pipe: Connection) -> None:
    """Server process: the sandbox (limits off, one started user) or the hello baseline."""
    from aiohttp import web

    def report_cpu() -> None:
        # Answers each request with this process's CPU seconds so far (all threads).
        while cpu_pipe.recv():
            times = os.times()
            cpu_pipe.send(times.user + times.system)

    async def hello(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text='{"ok":true,"result":true}', content_type="application/json")

    async def main() -> None:
        if kind == "sandbox":
            from sandbox.core import SANDBOX_KEY
            from sandbox.limits import LimitSettings
            from sandbox.server import create_app

            app = create_app(TOKEN, LimitSettings(enabled=False))
            world = app[SANDBOX_KEY].world
            user = world.add_user("Bench", USER_ID)
            world.user_message(user, world.private_chat(user), {"text": "/start"})
        else:
            app = web.Application()
            app.router.add_post("/bot{token}/{method}", hello)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        threading.Thread(target=report_cpu, daemon=True).start()
        port_queue.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


class _Caller(asyncio.Protocol):
    """One keep-alive connection: send the request, wait for the whole answer, send again."""

    def __init__(self, request: bytes, stop: float, latencies: list[float]) -> None:
        self.request = request
        self.stop = stop
        self.latencies = latencies
        self.done = asyncio.get_running_loop().create_future()
        self.buffer = bytearray()
        self.started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        if time.perf_counter() >= self.stop:
            self.transport.close()
            self.done.set_result(None)
            return
        self.started = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(buffer[:head_end]).lower()
        at = head.find(b"\r\ncontent-length:") + 17
        if at < 17 or len(buffer) < head_end + 4 + int(head[at : head.find(b"\r", at)]):
            return
        self.latencies.append(time.perf_counter() - self.started)
        if not head.startswith(b"http/1.1 200"):
            self.transport.close()
            self.done.set_exception(RuntimeError(bytes(buffer).decode(errors="replace")))
            return
        buffer.clear()
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("server closed the connection"))


def drive(port: int, seconds: float, connections: int, go: Event, out: mp.Queue) -> None:
    """Client process: `connections` callers for `seconds` once `go` is set; latencies out."""
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        go.wait()
        latencies: list[float] = []
        stop = time.perf_counter() + seconds
        callers = []
        for _ in range(connections):
            _, caller = await loop.create_connection(
                lambda: _Caller(request, stop, latencies), "127.0.0.1", port
            )
            callers.append(caller)
        await asyncio.gather(*(caller.done for caller in callers))
        return latencies

    out.put(asyncio.run(main()))


def measure(kind: str, clients: int, connections: int, seconds: float) -> dict[str, float]:
    """Start a server of `kind`, drive it from `clients` processes, return the figures."""
    ctx = mp.get_context("spawn")
    ports: mp.Queue = ctx.Queue()
    cpu_pipe, server_end = ctx.Pipe()
    server = ctx.Process(target=serve, args=(kind, ports, server_end), daemon=True)
    server.start()
    port = ports.get(timeout=30)
    go, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=drive, args=(port, seconds, connections, go, results))
               for _ in range(clients)]  # fmt: skip
    for worker in workers:
        worker.start()
    time.sleep(0.5)  # let the clients import and wait at the start line
    cpu_pipe.send(True)
    cpu_before = cpu_pipe.recv()
    go.set()
    latencies = [lat for _ in workers for lat in results.get(timeout=seconds + 60)]
    cpu_pipe.send(True)
    server_cpu = cpu_pipe.recv() - cpu_before
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
        "cpu_us": server_cpu / len(latencies) * 1e6,
    }


def median_row(rows: list[dict[str, float]]) -> dict[str, float]:
    """The repeat with the median calls/s, with the median server CPU per call of all repeats."""
    row = sorted(rows, key=lambda found: found["calls_per_s"])[len(rows) // 2]
    return {**row, "cpu_us": statistics.median(found["cpu_us"] for found in rows)}


def main() -> None:
    """Measure the baseline and the sandbox for each client count; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2],
                        help="client process counts to try")  # fmt: skip
    parser.add_argument("--connections", type=int, default=8, help="connections per client")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3, help="the median is reported")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    for _ in range(args.repeats):
        for clients in args.clients:
            for kind in LABELS:
                runs.setdefault((kind, clients), []).append(
                    measure(kind, clients, args.connections, args.seconds)
                )
    rows = {key: median_row(found) for key, found in runs.items()}
    print(
        f"{args.connections} connections per client, {args.seconds:g} s per run, median of "
        f"{args.repeats}, {mp.cpu_count()} CPUs, load average {load_before:.2f} before "
        f"{os.getloadavg()[0]:.2f} after"
    )
    print(
        f"{'server':26} {'clients':>7} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU µs/call':>11} {'1 core/s':>8}"
    )
    for (kind, clients), row in rows.items():
        print(
            f"{LABELS[kind]:26} {clients:>7} {row['calls_per_s']:>8.0f} {row['p50_ms']:>7.2f} "
            f"{row['p99_ms']:>7.2f} {row['cpu_us']:>11.0f} {1e6 / row['cpu_us']:>8.0f}"
        )
    best = max(args.clients, key=lambda n: rows["sandbox", n]["calls_per_s"])
    sandbox, baseline = rows["sandbox", best], rows["hello", best]
    print(
        f"best: {best} client process(es): sandbox / baseline = "
        f"{sandbox['calls_per_s'] / baseline['calls_per_s']:.2f} in calls/s, "
        f"{baseline['cpu_us'] / sandbox['cpu_us']:.2f} in server CPU per call"
    )
    print(
        "1 core/s = 1e6 / (server CPU µs per call): the server's rate on a core of its own; "
        "the clients need the rest of the machine."
    )


if __name__ == "__main__":
    main()
