"""Benchmark: how soon an agent sees a customer's message with its suggested answers, and what a
canned reply costs on its way to the customer.

Run as `python tests/benchmarks/suggestions.py [--chats 15] [--messages 8] [--rate 2.5]`.

One process: a sandbox Bot API server at Telegram's limits (1 message/s per chat with a small
burst, 30/s overall) and Frontdoor with the example config (thirteen canned replies, twenty
intents), paced at the same limits. `--chats` customers each have a chat claimed by one of the
agents on shift (spread evenly); they write `--messages` messages each, `--rate` a second between
them, so no agent's chat is asked for more than Telegram lets through: questions the bot has
answers for (suggestions shown) and small talk (none). Each relayed message is answered by its
agent with a reply to it, alternately their own words and a `!key` (a canned reply filled in the
customer's language).

Measured from when the sandbox posts a message to when the other side's chat shows the bot's:
- customer → agent, with suggestions (the aim: p99 ≤ 200 ms), against the same relay without
  (small talk: nothing fits), the baseline;
- agent → customer, canned (`!key`), against a plain message, the baseline: "a canned reply adds
  no more than a normal relay", so its p99 at most twice the plain one's.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from handoff import store  # noqa: E402
from handoff.kpis.measures import percentiles  # noqa: E402
from sandbox.core import SANDBOX_KEY  # noqa: E402
from tests.sandbox_support import SandboxClient, running_sandbox  # noqa: E402
from tests.support.desk import GROUP_ID, desk_config  # noqa: E402
from tests.support.frontdoor import running_frontdoor  # noqa: E402

QUESTIONS = (
    "modem saya lampunya merah dari tadi",
    "cara bayar tagihan lewat apa ya",
    "sudah transfer tapi belum masuk",
    "mau refund uang saya",
    "pesanan saya belum sampai",
    "berapa harga paket internet",
)
SMALL_TALK = ("ok", "baik kak", "sip", "hmm")
CANNED = ("!cek", "!restart_modem", "!bukti_transfer", "!ada_lagi")
AIM_SUGGESTED_P99_S = 0.2
RELAYED = re.compile(r"^#(\d+) · Cust\d+\n")
AIM_CANNED_RATIO = 2.0


async def measure(chats: int, messages: int, rate: float) -> dict[str, Any]:
    config = desk_config(
        bot={
            "pacing": {
                "per_chat_per_s": 1.0,
                "per_chat_burst": 3,
                "per_group_per_min": 20.0,
                "global_per_s": 30.0,
            }
        }
    )
    agent_ids = {a.id for a in config.agents}
    customer_of: dict[int, int] = {}  # conversation → its customer
    last_posted: dict[int, float] = {}  # customer → when their newest message was posted
    relayed: list[tuple[float, bool]] = []  # customer → agent: (seconds, with suggestions)
    pending: dict[int, list[tuple[str, float]]] = {}  # customer → agent replies on their way
    answered: list[tuple[str, float]] = []  # agent → customer: (plain | canned, seconds)
    jobs: list[asyncio.Task[Any]] = []
    turns = itertools.cycle(("plain", "canned"))

    with tempfile.TemporaryDirectory() as scratch:
        async with running_sandbox() as (url, app), aiohttp.ClientSession() as session:
            sandbox = SandboxClient(url, session)
            await sandbox.set_limits(
                enabled=True, per_chat_per_s=1.0, per_group_per_min=20.0, global_per_s=30.0
            )
            async with running_frontdoor(url, Path(scratch), config=config) as bot:

                async def answer(agent_id: int, message: dict[str, Any], customer: int) -> None:
                    how = next(turns)
                    text = CANNED[len(answered) % len(CANNED)] if how == "canned" else "Baik kak"
                    pending.setdefault(customer, []).append((how, time.time()))
                    await sandbox.send(agent_id, text, reply_to_message_id=message["message_id"])

                def listen(event: dict[str, Any]) -> None:
                    message = event.get("message") or {}
                    chat = (message.get("chat") or {}).get("id")
                    if event["type"] != "message":
                        return
                    if not message["from"]["is_bot"]:
                        if chat in last_posted:
                            last_posted[chat] = event["time"]
                        return
                    found = RELAYED.match(message.get("text") or "")
                    if chat in agent_ids and found and int(found.group(1)) in customer_of:
                        customer = customer_of[int(found.group(1))]
                        keyboard = (message.get("reply_markup") or {}).get("inline_keyboard")
                        relayed.append((event["time"] - last_posted[customer], bool(keyboard)))
                        jobs.append(asyncio.create_task(answer(chat, message, customer)))
                    elif pending.get(chat):
                        how, at = pending[chat].pop(0)
                        answered.append((how, event["time"] - at))

                on_shift = await setup(sandbox, bot, chats, customer_of)
                for customer in customer_of.values():
                    last_posted[customer] = 0.0
                app[SANDBOX_KEY].listeners.append(listen)
                loop = asyncio.get_running_loop()
                start = loop.time()
                customers = list(customer_of.values())
                total = chats * messages
                for n in range(total):
                    delay = start + n / rate - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    who = customers[n % len(customers)]
                    text = QUESTIONS[n % len(QUESTIONS)] if n % 3 else SMALL_TALK[n % 4]
                    jobs.append(asyncio.create_task(sandbox.send(who, text)))
                deadline = loop.time() + 60
                while (len(relayed) < total or any(pending.values())) and loop.time() < deadline:
                    await asyncio.sleep(0.1)
                await asyncio.gather(*jobs, return_exceptions=True)
                app[SANDBOX_KEY].listeners.remove(listen)
                too_many = bot.outbox.stats.too_many_requests
    return {
        "suggested": percentiles(s for s, hinted in relayed if hinted),
        "plain_relay": percentiles(s for s, hinted in relayed if not hinted),
        "canned": percentiles(s for how, s in answered if how == "canned"),
        "plain": percentiles(s for how, s in answered if how == "plain"),
        "missing": chats * messages - len(relayed),
        "agents": on_shift,
        "429": too_many,
    }


async def setup(sandbox: SandboxClient, bot: Any, chats: int, customer_of: dict[int, int]) -> int:
    """The agents in their group with Start pressed, and `chats` customers each with a chat
    claimed by an agent on shift, spread evenly: how many agents are on shift."""
    agents = [a.id for a in bot.config.agents]
    for spec in bot.config.agents:
        await sandbox.add_user(spec.name.split()[0], id=spec.id, username=spec.username)
    await sandbox.add_group("Agents", agents, id=GROUP_ID)
    for agent_id in agents:
        await sandbox.send(agent_id, "/start")
        await sandbox.wait_for(agent_id, lambda m: m["from"]["is_bot"], timeout=10)
    async with bot.engine.connect() as conn:
        found = await conn.execute(select(store.agents.c.id).where(store.agents.c.on_shift))
        on_shift = sorted(found.scalars())
    for n in range(chats):
        user = await sandbox.add_user(f"Cust{n:03d}", language_code="id")
        await sandbox.send(user["id"], "/human")
        while (status := await bot.router.customer_status(user["id"]))[1] is None:
            await asyncio.sleep(0.05)
        conversation_id = status[1].id
        await bot.router.claim(conversation_id, on_shift[n % len(on_shift)], how="force")
        customer_of[conversation_id] = user["id"]
    while await bot.outbox.pending():  # the offers' notices and the context messages go first
        await asyncio.sleep(0.1)
    return len(on_shift)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=15)
    parser.add_argument("--messages", type=int, default=8, help="messages per customer")
    parser.add_argument("--rate", type=float, default=2.5, help="customer messages a second")
    args = parser.parse_args()
    result = asyncio.run(measure(args.chats, args.messages, args.rate))
    print(
        f"{args.chats} chats × {args.messages} messages at {args.rate:g}/s, "
        f"{result['agents']} agents on shift, Telegram's limits: {result['429']} answers 429, "
        f"{result['missing']} relays missing"
    )
    print(f"{'':36} {'p50 s':>8} {'p99 s':>8} {'n':>5}")
    rows = (
        ("customer → agent, plain (baseline)", result["plain_relay"]),
        ("customer → agent, with suggestions", result["suggested"]),
        ("agent → customer, plain (baseline)", result["plain"]),
        ("agent → customer, canned !key", result["canned"]),
    )
    for label, found in rows:
        print(f"{label:36} {found.p50:8.3f} {found.p99:8.3f} {found.count:5d}")
    suggested, plain_relay = result["suggested"], result["plain_relay"]
    canned, plain = result["canned"], result["plain"]
    print(f"{'ratio suggestions / plain relay':36} {suggested.p50 / plain_relay.p50:8.2f} "
          f"{suggested.p99 / plain_relay.p99:8.2f}")  # fmt: skip
    print(
        f"{'ratio canned / plain':36} {canned.p50 / plain.p50:8.2f} {canned.p99 / plain.p99:8.2f}"
    )
    print()
    verdict = "ok" if suggested.p99 <= AIM_SUGGESTED_P99_S else "MISSED"
    print(
        f"aim suggestions shown p99 <= {AIM_SUGGESTED_P99_S:g} s: {suggested.p99:.3f} s {verdict}"
    )
    ratio = canned.p99 / plain.p99
    verdict = "ok" if ratio <= AIM_CANNED_RATIO else "MISSED"
    print(f"aim canned reply p99 <= {AIM_CANNED_RATIO:g} × a plain relay's: ×{ratio:.2f} {verdict}")


if __name__ == "__main__":
    main()
