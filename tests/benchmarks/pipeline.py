"""Benchmark: customer messages answered per second, and how long an answer takes, per bot.

Run as `python tests/benchmarks/pipeline.py [--rate 100 200] [--customers 50] [--seconds 5]
[--repeats 1] [--bots httpx aiohttp frontdoor] [--real-limits] [--rate-only]`.

`--real-limits` keeps the sandbox at Telegram's flood limits and the bot's pacing as configured
(issue 21's run: `--bots frontdoor --real-limits --rate-only --rate 25 --customers 500
--seconds 300`); the 429s column is Frontdoor's own count (its /metrics).

Each run starts a fresh sandbox Bot API server in its own process (`python -m sandbox`, flood
limits off, no access log) and the bot under test in another; this process is the customers. They
write through the control API (`POST /sandbox/users/{uid}/send`) and the bot's messages are
timestamped by the server as they appear (the `time` of each `message` event on
`GET /sandbox/events`, the same wall clock as the send). A customer's k-th message is answered by
the bot's first message for it: with R messages per answer (R counted in the warm-up, 1 for an
echo), the bot's ((k-1)·R+1)-th message in that chat.

Phases per run: a fixed offered load for each `--rate` (messages/s spread evenly over
`--customers`, for `--seconds`), then maximum throughput (each customer sends again as soon as
it is answered, so `--customers` messages are in flight). The `aim` lines at the end compare
Frontdoor with the echo bot on our transport (issue 13). Bots, interleaved in every repeat so they see the same
machine load:
- httpx: a bare python-telegram-bot echo bot (`Application.run_polling`, one MessageHandler
  replying with the same text) on PTB's stock transport;
- aiohttp: the same bot on `telegram_io.aiohttp_request.AiohttpRequest`;
- frontdoor: `frontdoor run --api-url … --config config/frontdoor.yaml --database-url sqlite…`,
  asked an FAQ question ("cara bayar tagihan").
PTB handles one update at a time unless told otherwise; `--concurrent-updates N` lets the echo
bots handle N at once. "bot CPU" is the bot process's CPU time per answer (Linux /proc).
The echo bots are this script run as `--echo-bot httpx|aiohttp --api-url URL`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TOKEN = "4242:pipeline-bench"
BOTS = ("httpx", "aiohttp", "frontdoor")
LABELS = {
    "httpx": "PTB echo, httpx (stock)",
    "aiohttp": "PTB echo, AiohttpRequest",
    "frontdoor": "Frontdoor (frontdoor run)",
}
FAQ_QUESTION = "cara bayar tagihan"
STARTUP_S = 60.0  # the first answer may wait for imports, migrations, a first poll
QUIET_S = 0.5  # no bot message for this long: the bot has said all it will say
DRAIN_S = 5.0  # after the last send, how long late answers are still waited for
# Issue 13's targets: Frontdoor against the echo bot on our transport, and latency under load.
AIM_THROUGHPUT = 0.6  # answered/s at most, × the echo bot's
AIM_CPU = 2.5  # CPU per answer, × the echo bot's
AIM_P99_MS = {100.0: 100.0, 200.0: 250.0}  # offered msg/s → p99
KEPT_UP = 0.97  # answered/s at least this share of sent/s: no backlog grew


# --- the echo bot (subprocess mode) ---------------------------------------------------------


def run_echo_bot(transport: str, api_url: str, concurrent_updates: int) -> None:
    """A bare PTB echo bot polling `api_url`; runs until SIGTERM or SIGINT."""
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    from telegram_io.aiohttp_request import make_request

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer the customer with their own words."""
        await update.message.reply_text(update.message.text)

    builder = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .concurrent_updates(concurrent_updates if concurrent_updates > 1 else False)
    )
    if transport == "aiohttp":  # httpx: ApplicationBuilder's own HTTPXRequest, untouched
        builder = builder.request(make_request("aiohttp"))
        builder = builder.get_updates_request(make_request("aiohttp"))
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling()


# --- processes ------------------------------------------------------------------------------


def start_sandbox(limits: bool = False) -> tuple[subprocess.Popen[str], str]:
    """The sandbox server in its own process, Telegram's limits off unless `limits`;
    (process, base URL)."""
    flags = [] if limits else ["--no-limits"]
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", *flags, "--token", TOKEN],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()  # it prints its base URL once it listens
    if not url.startswith("http://"):
        stop(server)
        raise RuntimeError(f"the sandbox did not start (it printed {url!r})")
    return server, url


def start_bot(
    kind: str, url: str, workdir: Path, log: Path, args: argparse.Namespace
) -> subprocess.Popen[bytes]:
    """The bot under test in its own process, its output in `log`."""
    if kind == "frontdoor":
        database = f"sqlite+aiosqlite:///{workdir}/bench.db"
        config = args.config if args.real_limits else unpaced_config(args.config, workdir)
        command = [sys.executable, "-m", "frontdoor", "run", "--api-url", url,
                   "--config", str(config), "--database-url", database]  # fmt: skip
    else:
        command = [sys.executable, __file__, "--echo-bot", kind, "--api-url", url,
                   "--concurrent-updates", str(args.concurrent_updates)]  # fmt: skip
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
    with log.open("w") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)


def unpaced_config(source: Path, workdir: Path) -> Path:
    """The config with the outbox's pacing and the spam throttle lifted, like the sandbox's limits.

    Against real Telegram the outbox keeps to ~30 messages/s overall (one per FAQ answer, see
    `conversation.py`); here the transport and the work per message are measured, not Telegram's
    limits.
    """
    lifted = (
        "\nbot:\n"
        "  pacing: {per_chat_per_s: 100000, per_chat_burst: 100000, per_group_per_min: 100000,"
        " global_per_s: 100000}\n"
        "  spam: {messages: 100000, per: 1s}\n"
    )
    path = workdir / "bench.yaml"
    path.write_text(source.read_text().replace("\nbot:\n", lifted, 1))
    return path


def stop(process: subprocess.Popen) -> None:
    """End a process this script started: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far (Linux); NaN where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the customers --------------------------------------------------------------------------


async def new_customer(session: aiohttp.ClientSession, url: str, n: int) -> int:
    """A new sandbox user who speaks Indonesian (as the example config expects); their id."""
    body = {"first_name": f"Pelanggan {n}", "language_code": "id"}
    async with session.post(f"{url}/sandbox/users", json=body) as response:
        return int((await response.json())["id"])


async def customer_says(
    session: aiohttp.ClientSession, url: str, customer_id: int, text: str
) -> None:
    """The customer writes to the bot through the control API."""
    async with session.post(f"{url}/sandbox/users/{customer_id}/send", json={"text": text}) as r:
        if r.status != 200:
            raise RuntimeError(f"send refused: {r.status} {await r.text()}")


async def bot_messages(
    session: aiohttp.ClientSession, url: str, subscribed: asyncio.Event
) -> AsyncIterator[tuple[dict, float]]:
    """Every message the bot posts, with the server's time of it, from the event stream
    (`subscribed` is set once the stream is open)."""
    async with session.get(f"{url}/sandbox/events", timeout=aiohttp.ClientTimeout()) as response:
        subscribed.set()
        async for line in response.content:
            if line.startswith(b"data: "):
                event = json.loads(line[6:])
                if event["type"] == "message" and event["by"] == "bot":
                    yield event["message"], event["time"]


@dataclass
class Customer:
    """One customer's chat: when each message of this phase went, which ones are answered."""

    id: int
    sent_at: list[float] = field(default_factory=list)  # wall clock, as the server's events
    texts: list[str] = field(default_factory=list)
    bot_messages: int = 0  # the bot's messages in this chat during this phase
    last_answer: str | None = None  # the first message of the latest answer
    answered: asyncio.Event = field(default_factory=asyncio.Event)  # its latest message is


Text = Callable[[Customer, int], str]  # what a customer writes as their n-th message


@dataclass
class Phase:
    """What a phase measured."""

    started: float
    latencies: list[float] = field(default_factory=list)
    last_answer: float = 0.0

    def figures(self, sent: int, seconds: float) -> dict[str, float]:
        """Rates, latency percentiles (ms) and losses."""
        answered = len(self.latencies)
        ordered = sorted(self.latencies)
        return {
            "sent": sent,
            "sent_per_s": sent / seconds,
            "answered_per_s": answered / (self.last_answer - self.started) if answered else 0.0,
            "p50_ms": statistics.median(ordered) * 1000 if ordered else float("nan"),
            "p99_ms": ordered[max(0, int(answered * 0.99) - 1)] * 1000 if ordered else float("nan"),
            "lost": sent - answered,
        }


class Pipeline:
    """Customers writing to the bot through the sandbox, and the bot's answers as they appear."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session
        self.customers: dict[int, Customer] = {}
        self.replies_per_message = 1
        self.phase = Phase(time.time())
        self.last_bot_message = time.monotonic()
        self.echoes = False  # the answers must repeat the customers' words
        self.answer: str | None = None  # else every answer must say this (the warm-up's answer)
        self.mismatched = 0  # answers not as expected: the counting or the bot went wrong

    async def add_customers(self, count: int) -> None:
        """Create the customers (Indonesian speakers, as Frontdoor's example config expects)."""
        for n in range(count):
            user_id = await new_customer(self.session, self.url, n)
            self.customers[user_id] = Customer(user_id)

    async def listen(self, subscribed: asyncio.Event) -> None:
        """Read the event stream; count each bot message in a customer's chat."""
        async for message, at in bot_messages(self.session, self.url, subscribed):
            self.bot_message(message["chat"]["id"], message.get("text"), at)

    def bot_message(self, chat_id: int, text: str | None, at: float) -> None:
        """The bot posted in a chat: is it the first message for the next customer message?"""
        self.last_bot_message = time.monotonic()
        customer = self.customers.get(chat_id)
        if customer is None:
            return  # the agents' group and the like
        number, follow_up = divmod(customer.bot_messages, self.replies_per_message)
        customer.bot_messages += 1
        if follow_up or number >= len(customer.sent_at):
            return  # a further message of the same answer, or one nobody asked for
        self.phase.latencies.append(at - customer.sent_at[number])
        customer.last_answer = text
        expected = customer.texts[number] if self.echoes else self.answer
        if expected is not None and text != expected:
            self.mismatched += 1
        self.phase.last_answer = max(self.phase.last_answer, at)
        if number == len(customer.sent_at) - 1:
            customer.answered.set()

    async def send(self, customer: Customer, text: str) -> None:
        """The customer writes to the bot."""
        customer.answered.clear()
        customer.sent_at.append(time.time())
        customer.texts.append(text)
        await customer_says(self.session, self.url, customer.id, text)

    def new_phase(self) -> Phase:
        """Forget the earlier phase's messages: counting starts again in every chat."""
        for customer in self.customers.values():
            customer.sent_at.clear()
            customer.texts.clear()
            customer.bot_messages = 0
            customer.answered.clear()
        self.phase = Phase(time.time())
        return self.phase

    async def all_answered(self, timeout: float) -> bool:
        """Wait until every customer's last message is answered; False on timeout."""
        waits = [c.answered.wait() for c in self.customers.values() if c.sent_at]
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*waits)
        except TimeoutError:
            return False
        return True

    async def quiet(self, timeout: float = 10.0) -> None:
        """Wait until the bot has said nothing for QUIET_S (its follow-up messages are out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            idle = time.monotonic() - self.last_bot_message
            if idle >= QUIET_S:
                return
            await asyncio.sleep(QUIET_S - idle)

    async def warm_up(self, text: Text, bot: subprocess.Popen) -> None:
        """Every customer writes twice; the bot is up and R, messages per answer, is known."""
        self.new_phase()
        await asyncio.gather(*(self.send(c, text(c, 0)) for c in self.customers.values()))
        started = time.monotonic()
        while not await self.all_answered(1.0):
            if bot.poll() is not None:
                raise RuntimeError(f"the bot exited with code {bot.returncode} before answering")
            if time.monotonic() - started > STARTUP_S:
                raise RuntimeError(f"the bot did not answer within {STARTUP_S:g} s")
        await self.quiet()
        self.new_phase()
        self.replies_per_message = 10**6  # count every message of the second answer
        await asyncio.gather(*(self.send(c, text(c, 1)) for c in self.customers.values()))
        within = max(10.0, len(self.customers) / 10)  # at Telegram's ~30/s, 500 answers take 17 s
        if not await self.all_answered(within):
            raise RuntimeError(
                f"the bot did not answer the second warm-up message within {within:g} s"
            )
        await self.quiet()
        counts = [c.bot_messages for c in self.customers.values()]
        self.replies_per_message = statistics.mode(counts)
        if min(counts) != max(counts):
            print(f"  warning: answers took {min(counts)}-{max(counts)} messages; R = mode")
        if not self.echoes:  # every later answer is checked against this one
            self.answer = statistics.mode(c.last_answer for c in self.customers.values())
            print(f"  answer: {(self.answer or '')[:70]!r}…", file=sys.stderr)

    async def fixed_rate(self, text: Text, rate: float, seconds: float) -> dict[str, float]:
        """`rate` messages/s, evenly spaced, each customer in turn, for `seconds`."""
        phase = self.new_phase()
        start = time.monotonic() + 0.1
        phase.started = time.time() + 0.1  # the first send, on the events' clock
        customers = list(self.customers.values())
        total = int(rate * seconds)

        async def write(index: int, customer: Customer) -> None:
            for n, slot in enumerate(range(index, total, len(customers))):
                await asyncio.sleep(start + slot / rate - time.monotonic())
                await self.send(customer, text(customer, n + 2))

        await asyncio.gather(*(write(i, c) for i, c in enumerate(customers)))
        sent_for = time.monotonic() - start
        await self.all_answered(DRAIN_S)
        return phase.figures(sum(len(c.sent_at) for c in customers), sent_for)

    async def max_throughput(self, text: Text, seconds: float) -> dict[str, float]:
        """Each customer writes again as soon as answered (a lost message waits DRAIN_S)."""
        phase = self.new_phase()
        stop_at = time.monotonic() + seconds

        async def write(customer: Customer) -> None:
            n = 0
            while time.monotonic() < stop_at:
                await self.send(customer, text(customer, n + 1000))
                n += 1
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(DRAIN_S):
                        await customer.answered.wait()

        await asyncio.gather(*(write(c) for c in self.customers.values()))
        return phase.figures(sum(len(c.sent_at) for c in self.customers.values()), seconds)


# --- one run, and the table -----------------------------------------------------------------


def echo_text(customer: Customer, n: int) -> str:
    """A text an echo bot repeats: unique, so a mix-up would show."""
    return f"pesan {n} dari {customer.id}"


def faq_question(customer: Customer, n: int) -> str:
    """What Frontdoor answers from its FAQ (config/frontdoor.yaml, intent `pembayaran`)."""
    return FAQ_QUESTION


async def drive(kind: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """A fresh sandbox and bot of `kind`; the figures of both phases."""
    text = faq_question if kind == "frontdoor" else echo_text
    server, url = start_sandbox(limits=args.real_limits)
    bot: subprocess.Popen | None = None
    connector = aiohttp.TCPConnector(limit=args.customers + 8)
    with tempfile.TemporaryDirectory(prefix="pipeline-") as workdir:
        log = Path(workdir) / "bot.log"
        try:
            async with aiohttp.ClientSession(connector=connector) as session:
                pipeline = Pipeline(url, session)
                pipeline.echoes = kind != "frontdoor"
                await pipeline.add_customers(args.customers)
                subscribed = asyncio.Event()
                listener = asyncio.create_task(pipeline.listen(subscribed))
                await subscribed.wait()
                bot = start_bot(kind, url, Path(workdir), log, args)
                try:
                    await pipeline.warm_up(text, bot)
                except RuntimeError as error:
                    tail = log.read_text(errors="replace").strip().splitlines()[-5:]
                    raise RuntimeError(f"{error}; its last output: {' | '.join(tail)}") from None
                phases = {}
                cpu_before = cpu_seconds(bot.pid)
                count_429s = 0.0
                for rate in args.rate:
                    rated = await pipeline.fixed_rate(text, rate, args.seconds)
                    await pipeline.quiet()
                    cpu_rated = cpu_seconds(bot.pid)
                    so_far = await telegram_429s(session, kind)
                    rated["429s"], count_429s = so_far - count_429s, so_far
                    phases[f"{rate:g}/s"] = (rated, cpu_rated - cpu_before)
                    cpu_before = cpu_rated
                if not args.rate_only:
                    flat_out = await pipeline.max_throughput(text, args.seconds)
                    flat_out["429s"] = await telegram_429s(session, kind) - count_429s
                    phases["max"] = (flat_out, cpu_seconds(bot.pid) - cpu_before)
                listener.cancel()
                if pipeline.mismatched:
                    print(f"  warning: {pipeline.mismatched} answers not as expected")
        finally:
            if bot is not None:
                stop(bot)
            stop(server)
    for figures, cpu in phases.values():
        answered = figures["sent"] - figures["lost"]
        figures["cpu_ms"] = cpu / answered * 1000 if answered else float("nan")
    return {load: figures for load, (figures, _) in phases.items()}


async def telegram_429s(session: aiohttp.ClientSession, kind: str) -> float:
    """Frontdoor's count of 429 answers so far (its /metrics; the config's web port); NaN for
    the echo bots, which do not count them."""
    if kind != "frontdoor":
        return float("nan")
    async with session.get("http://127.0.0.1:8088/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("frontdoor_telegram_429_total"):
                return float(line.split()[-1])
    return float("nan")


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the repeats (one noisy repeat does not make a row)."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    """Run every bot in every repeat, interleaved; print one row per bot and load."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, nargs="+", default=[100.0, 200.0],
                        help="offered messages/s, a phase each")  # fmt: skip
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase")
    parser.add_argument("--repeats", type=int, default=1, help="the median is reported")
    parser.add_argument("--bots", nargs="+", choices=BOTS, default=list(BOTS))
    parser.add_argument("--concurrent-updates", type=int, default=1,
                        help="updates an echo bot handles at once (PTB's default: 1)")  # fmt: skip
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "frontdoor.yaml")
    parser.add_argument("--real-limits", action="store_true",
                        help="the sandbox at Telegram's limits, the bot paced as configured")  # fmt: skip
    parser.add_argument("--rate-only", action="store_true", help="skip the max-throughput phase")
    parser.add_argument("--echo-bot", choices=("httpx", "aiohttp"), help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_bot:
        run_echo_bot(args.echo_bot, args.api_url, args.concurrent_updates)
        return

    load_before = os.getloadavg()[0]
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    failures: dict[str, str] = {}
    for repeat in range(args.repeats):
        for kind in args.bots:
            if kind in failures:
                continue
            print(f"repeat {repeat + 1}/{args.repeats}: {LABELS[kind]} …", flush=True)
            try:
                phases = asyncio.run(drive(kind, args))
            except RuntimeError as error:
                failures[kind] = str(error)
                continue
            for load, figures in phases.items():
                runs.setdefault((kind, load), []).append(figures)

    print(
        f"\n{args.customers} customers, {args.seconds:g} s per phase, median of {args.repeats}, "
        f"echo bots handle {args.concurrent_updates} update(s) at once, {os.cpu_count()} CPUs, "
        f"load average {load_before:.2f} before {os.getloadavg()[0]:.2f} after"
    )
    print(
        f"{'bot':27} {'offered':>8} {'sent/s':>7} {'answered/s':>10} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'lost':>5} {'429s':>5} {'bot CPU ms/answer':>17}"
    )
    for (kind, load), found in runs.items():
        row = median_run(found)
        print(
            f"{LABELS[kind]:27} {load:>8} {row['sent_per_s']:>7.0f} {row['answered_per_s']:>10.0f} "
            f"{row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} {row['lost']:>5.0f} "
            f"{row['429s']:>5.0f} {row['cpu_ms']:>17.2f}"
        )
    for kind, reason in failures.items():
        print(f"{LABELS[kind]:27} FAILED: {reason}")
    rows = {key: median_run(found) for key, found in runs.items()}
    print()
    for line in aims(rows):
        print(line)


def aims(rows: dict[tuple[str, str], dict[str, float]]) -> list[str]:
    """One `aim` line per target of issue 13 that this run measured."""
    lines = []

    def verdict(good: bool) -> str:
        return "ok" if good else "MISSED"

    ours, echo = rows.get(("frontdoor", "max")), rows.get(("aiohttp", "max"))
    if ours is not None and echo is not None:
        ratio = ours["answered_per_s"] / echo["answered_per_s"]
        lines.append(
            f"aim answered/s >= {AIM_THROUGHPUT:g}x the echo bot on AiohttpRequest: "
            f"x{ratio:.2f} {verdict(ratio >= AIM_THROUGHPUT)}"
        )
        ratio = ours["cpu_ms"] / echo["cpu_ms"]
        lines.append(
            f"aim bot CPU per answer <= {AIM_CPU:g}x the echo bot's: "
            f"x{ratio:.2f} {verdict(ratio <= AIM_CPU)}"
        )
    for rate, limit in AIM_P99_MS.items():
        row = rows.get(("frontdoor", f"{rate:g}/s"))
        if row is None:
            continue
        kept_up = row["answered_per_s"] >= row["sent_per_s"] * KEPT_UP
        good = row["p99_ms"] <= limit and kept_up and row["lost"] == 0
        lines.append(
            f"aim at {rate:g} msg/s p99 <= {limit:g} ms, no backlog, 0 lost: "
            f"p99 {row['p99_ms']:.1f} ms, answered {row['answered_per_s']:.0f}/s of "
            f"{row['sent_per_s']:.0f}/s, {row['lost']:.0f} lost {verdict(good)}"
        )
    return lines


if __name__ == "__main__":
    main()
