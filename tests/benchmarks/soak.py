"""Soak: a long day's mixed traffic at Telegram's real limits; does anything grow or slow down?

Run as `python tests/benchmarks/soak.py [--minutes 30] [--rate 20] [--customers 300]
[--warm-up 5]`. Not part of the test suite.

A sandbox Bot API server (its own process, Telegram's flood limits on) and `frontdoor run` (its
own process, the example config with an agents group, paced and throttled as in production, its
clock a Tuesday 10:00 in Jakarta, when the day teams are open). This process plays everyone:
- customers write `--rate` messages a second between them: mostly FAQ questions, some small
  talk, and some ask for a person (`/human`);
- agents claim four offers in five from their private notice (the 🔔 message's Claim button)
  after 1-5 s and leave the rest to time out; they answer the customer, and close the chat
  5-20 s later (`/close #id`).
Each minute: the bot's resident memory (/proc), its event loop's lag (how long /healthz takes to
answer, sampled every second: p50 and p99 of the minute), the inbox's lag and the outbox's depth
(its /metrics), and Telegram's 429s so far. At the end, once the traffic stops and the bot has
caught up: updates never processed and sends failed for good ("lost").

The baseline is the same run's first minute after the warm-up: memory growth and lag are ratios
against it. Aims (issue 17): memory growth at most 10 % after the warm-up; p99 lag flat (the last
five minutes' median p99 at most 1.5 times the first five's after the warm-up); 0 lost; 0 × 429.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from frontdoor.sandbox_command import free_port  # noqa: E402
from handoff.config_loader import load_config  # noqa: E402
from tests.benchmarks.pipeline import (  # noqa: E402
    TOKEN,
    customer_says,
    new_customer,
    start_sandbox,
    stop,
)

GROUP_ID = -1009000000001
TUESDAY_10_WIB = "2026-12-01T10:00:00+07:00"
QUESTIONS = (
    "cara bayar tagihan", "internet saya mati dari pagi", "berapa harga paket internet",
    "lupa password wifi", "pesanan saya sudah sampai mana", "jam buka kantor",
    "tagihan saya kok mahal", "mau berhenti langganan",
)  # fmt: skip
SMALL_TALK = ("terima kasih", "halo", "ok", "mantap")
NOTICE = re.compile(r"^🔔 #(\d+)")


@dataclass
class Minute:
    rss_mb: float
    lag_p50_ms: float
    lag_p99_ms: float
    inbox_lag_s: float
    outbox_depth: float
    too_many: float


@dataclass
class Soak:
    session: aiohttp.ClientSession
    api: str
    web: str
    agents: list[int]
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    sent: int = 0
    claimed: int = 0
    let_go: int = 0
    closed: int = 0
    lags: list[float] = field(default_factory=list)
    writing: set[asyncio.Task[None]] = field(default_factory=set)

    async def agent_does(self, agent_id: int, text: str) -> None:
        await customer_says(self.session, self.api, agent_id, text)

    async def serve_offer(self, agent_id: int, message: dict) -> None:
        """An agent takes the offer in the notice (or lets it time out), answers, closes."""
        found = NOTICE.match(message.get("text", ""))
        buttons = [
            b["callback_data"]
            for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row
            if b.get("callback_data", "").startswith("claim:")
        ]
        if found is None or not buttons:
            return
        if self.rng.random() >= 0.8:
            self.let_go += 1
            return
        await asyncio.sleep(self.rng.uniform(1, 5))
        body = {"chat_id": agent_id, "message_id": message["message_id"], "data": buttons[0]}
        async with self.session.post(f"{self.api}/sandbox/users/{agent_id}/press", json=body):
            pass
        self.claimed += 1
        await asyncio.sleep(self.rng.uniform(2, 6))
        await self.agent_does(agent_id, f"#{found.group(1)} baik, kami bantu cek ya")
        await asyncio.sleep(self.rng.uniform(5, 20))
        await self.agent_does(agent_id, f"/close #{found.group(1)}")
        self.closed += 1

    async def agents_at_work(self) -> None:
        """Watch the agents' private chats for offers (the sandbox's event stream)."""
        agents = set(self.agents)
        tasks: set[asyncio.Task[None]] = set()
        timeout = aiohttp.ClientTimeout()
        async with self.session.get(f"{self.api}/sandbox/events", timeout=timeout) as response:
            async for line in response.content:
                if not line.startswith(b"data: "):
                    continue
                event = json.loads(line[6:])
                message = event.get("message") or {}
                chat = (message.get("chat") or {}).get("id")
                if event.get("type") == "message" and event.get("by") == "bot" and chat in agents:
                    task = asyncio.create_task(self.serve_offer(chat, message))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)

    async def customers_write(self, customers: list[int], seconds: float, rate: float) -> None:
        start, sent_before = time.monotonic(), self.sent
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate) - (self.sent - sent_before)
            for _ in range(max(0, due)):
                who = self.rng.choice(customers)
                roll = self.rng.random()
                text = (
                    "/human" if roll < 0.1
                    else self.rng.choice(SMALL_TALK) if roll < 0.2
                    else self.rng.choice(QUESTIONS)
                )  # fmt: skip
                task = asyncio.create_task(customer_says(self.session, self.api, who, text))
                self.writing.add(task)
                task.add_done_callback(self.writing.discard)
                self.sent += 1
            await asyncio.sleep(0.01)

    async def probe_lag(self) -> None:
        """/healthz's answer time, every second: the bot's event loop answers it."""
        while True:
            started = time.perf_counter()
            with contextlib.suppress(aiohttp.ClientError):
                async with self.session.get(f"{self.web}/healthz") as response:
                    await response.read()
            self.lags.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(1)

    async def metrics(self) -> dict[str, float]:
        async with self.session.get(f"{self.web}/metrics") as response:
            text = await response.text()
        found: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, _, value = line.partition(" ")
                with contextlib.suppress(ValueError):
                    found[name] = float(value)
        return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def soak_config(workdir: Path, web_port: int) -> Path:
    text = (ROOT / "config" / "frontdoor.yaml").read_text()
    text = text.replace("  agents_group_id: null", f"  agents_group_id: {GROUP_ID}", 1)
    text = text.replace("  port: 8088", f"  port: {web_port}", 1)
    path = workdir / "soak.yaml"
    path.write_text(text)
    return path


async def run(args: argparse.Namespace) -> tuple[list[Minute], dict[str, float], Soak]:
    sandbox, api = start_sandbox(limits=True)
    workdir = Path(tempfile.mkdtemp(prefix="frontdoor-soak-"))
    web_port = free_port("127.0.0.1")
    config = soak_config(workdir, web_port)
    agents = [a.id for a in load_config(config).agents]
    bot = None
    try:
        async with aiohttp.ClientSession() as session:
            for agent in load_config(config).agents:
                body = {"id": agent.id, "first_name": agent.name.split()[0]}
                async with session.post(f"{api}/sandbox/users", json=body):
                    pass
            group = {"id": GROUP_ID, "title": "Agents", "member_ids": agents}
            async with session.post(f"{api}/sandbox/groups", json=group):
                pass
            for agent_id in agents:
                await customer_says(session, api, agent_id, "/start")
            customers = [await new_customer(session, api, n) for n in range(args.customers)]
            log = (workdir / "bot.log").open("w")
            command = [sys.executable, "-m", "frontdoor", "run", "--api-url", api,
                       "--config", str(config), "--clock", TUESDAY_10_WIB,
                       "--database-url", f"sqlite+aiosqlite:///{workdir}/soak.db"]  # fmt: skip
            bot = await asyncio.create_subprocess_exec(
                *command, cwd=ROOT, env={**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN},
                stdout=asyncio.subprocess.PIPE, stderr=log,
            )  # fmt: skip
            assert bot.stdout is not None
            while b"is running" not in await bot.stdout.readline():
                pass
            soak = Soak(session, api, f"http://127.0.0.1:{web_port}", agents)
            background = [
                asyncio.create_task(soak.agents_at_work()),
                asyncio.create_task(soak.probe_lag()),
            ]
            minutes: list[Minute] = []
            for minute in range(args.minutes):
                soak.lags.clear()
                await soak.customers_write(customers, 60, args.rate)
                found = await soak.metrics()
                lags = sorted(soak.lags) or [float("nan")]
                minutes.append(
                    Minute(
                        rss_mb(bot.pid),
                        statistics.median(lags),
                        lags[min(len(lags) - 1, int(len(lags) * 0.99))],
                        found.get("frontdoor_inbox_lag_seconds", float("nan")),
                        found.get("frontdoor_outbox_depth", float("nan")),
                        found.get("frontdoor_telegram_429_total", float("nan")),
                    )
                )
                print(f"minute {minute + 1}/{args.minutes}: {minutes[-1]}", flush=True)
            await asyncio.sleep(30)  # the traffic stops; the bot catches up
            final = await soak.metrics()
            for task in background:
                task.cancel()
            return minutes, final, soak
    finally:
        if bot is not None and bot.returncode is None:
            bot.terminate()
            await bot.wait()
        stop(sandbox)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--rate", type=float, default=20.0, help="customer messages a second")
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--warm-up", type=int, default=5, help="minutes before the baseline")
    args = parser.parse_args()
    minutes, final, soak = asyncio.run(run(args))

    print(f"\n{args.minutes} min at {args.rate:g} msg/s, {args.customers} customers, "
          f"{soak.sent} customer messages, {soak.claimed} offers claimed, {soak.let_go} let "
          f"time out, {soak.closed} chats closed; {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'min':>4} {'RSS MB':>7} {'lag p50 ms':>10} {'lag p99 ms':>10} "
          f"{'inbox lag s':>11} {'outbox':>7} {'429s':>5}")  # fmt: skip
    for n, m in enumerate(minutes, start=1):
        print(f"{n:>4} {m.rss_mb:>7.1f} {m.lag_p50_ms:>10.1f} {m.lag_p99_ms:>10.1f} "
              f"{m.inbox_lag_s:>11.2f} {m.outbox_depth:>7.0f} {m.too_many:>5.0f}")  # fmt: skip
    after = minutes[args.warm_up :] or minutes[-1:]
    growth = max(m.rss_mb for m in after) / after[0].rss_mb - 1
    first = statistics.median(m.lag_p99_ms for m in after[:5])
    last = statistics.median(m.lag_p99_ms for m in after[-5:])
    lost = final.get("frontdoor_inbox_unprocessed", 0) + final.get(
        "frontdoor_outbox_failed_total", 0
    )
    too_many = final.get("frontdoor_telegram_429_total", float("nan"))
    print(f"\nRSS after the warm-up: ×{1 + growth:.3f} of minute {args.warm_up + 1}'s; "
          f"p99 lag, last five minutes ÷ first five: ×{last / first:.2f}")  # fmt: skip
    print(f"aim RSS growth ≤ 10 % after the warm-up: {'ok' if growth <= 0.10 else 'MISSED'}")
    print(f"aim p99 lag flat (×1.5 at most): {'ok' if last <= 1.5 * first else 'MISSED'}")
    print(f"aim 0 lost: {'ok' if lost == 0 else 'MISSED'} ({lost:.0f})")
    print(f"aim 0 × 429: {'ok' if too_many == 0 else 'MISSED'} ({too_many:.0f})")


if __name__ == "__main__":
    main()
