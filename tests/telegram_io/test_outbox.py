"""The stored outbox against the sandbox Bot API server (SPEC §8): nothing outbound is lost or
over-sent, customers go first, and the pacing keeps under the server's flood limits.

Integration tests: a real SQLite file, a real python-telegram-bot `Bot`, the sandbox server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from handoff.config import Pacing
from handoff.db import create_engine, create_schema
from handoff.replay import writes_of_update
from handoff.tables import OutboxMessage
from telegram_io.aiohttp_request import make_request
from telegram_io.calls import Call, Priority, send_text
from telegram_io.outbox import Outbox
from tests.sandbox_support import BOT_TOKEN, SandboxClient

OUTBOX = OutboxMessage.__table__

# Quick pacing for tests about something else, and sandbox limits comfortably above it.
QUICK = Pacing(per_chat_per_s=50, per_chat_burst=10, per_group_per_min=3000, global_per_s=100)
ROOMY_LIMITS = {
    "per_chat_per_s": 100,
    "per_chat_burst": 20,
    "per_group_per_min": 6000,
    "global_per_s": 200,
}


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A fresh SQLite database file with every table."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'frontdoor.db'}")
    await create_schema(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def bot(sandbox_server: str) -> AsyncIterator[Bot]:
    """The bot, talking to the sandbox."""
    async with Bot(
        BOT_TOKEN, base_url=f"{sandbox_server}/bot", base_file_url=f"{sandbox_server}/file/bot"
    ) as bot:
        yield bot


@pytest.fixture
async def roomy(sandbox: SandboxClient) -> SandboxClient:
    """The sandbox with flood limits still on, but well above `QUICK` pacing."""
    await sandbox.set_limits(**ROOMY_LIMITS)
    return sandbox


@contextlib.asynccontextmanager
async def sending(outbox: Outbox) -> AsyncIterator[Outbox]:
    """Run the outbox's sender for the block; then stop it as a shutdown would."""
    task = asyncio.create_task(outbox.run())
    try:
        yield outbox
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await outbox.stop()


async def customer(sandbox: SandboxClient, name: str) -> int:
    """A user who has written to the bot, so the bot may write back (Telegram's rule)."""
    user = await sandbox.add_user(name)
    await sandbox.send(user["id"], "/start")
    return user["id"]


async def agents_group(sandbox: SandboxClient) -> int:
    """A supergroup with one agent in it and the bot."""
    agent = await sandbox.add_user("Dewi")
    group = await sandbox.add_group("Agents", [agent["id"]])
    return group["id"]


async def bot_texts(sandbox: SandboxClient, chat_id: int) -> list[str]:
    """What the bot's messages in the chat say now, oldest first."""
    return [m.get("text", "") for m in await sandbox.messages(chat_id) if m["from"]["is_bot"]]


async def shown(
    sandbox: SandboxClient, chat_id: int, count: int, timeout: float = 3.0
) -> list[str]:
    """The bot's texts in the chat once there are at least `count` of them."""
    async with asyncio.timeout(timeout):
        while len(texts := await bot_texts(sandbox, chat_id)) < count:
            await asyncio.sleep(0.01)
    return texts


async def stored(engine: AsyncEngine) -> list[Row[Any]]:
    """Every outbox row, in the order stored."""
    async with engine.connect() as conn:
        return list((await conn.execute(select(OUTBOX).order_by(OUTBOX.c.id))).all())


async def settled(engine: AsyncEngine, timeout: float = 3.0) -> list[Row[Any]]:
    """The outbox rows once none of them is pending any more."""
    async with asyncio.timeout(timeout):
        while True:
            rows = await stored(engine)
            if all(row.state != "pending" for row in rows):
                return rows
            await asyncio.sleep(0.01)


async def until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait until `condition()` holds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def edit_text(chat_id: int, message_id: int, text: str) -> Call:
    """An agents' card edit, coalesced per card."""
    params = {"chat_id": chat_id, "message_id": message_id, "text": text}
    return Call(chat_id, "editMessageText", params, Priority.CARD_EDIT, f"card:{message_id}")


async def test_customer_messages_go_before_card_edits_when_both_are_due(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient
) -> None:
    group = await agents_group(roomy)
    card = await bot.send_message(group, "Ani is waiting")
    ani = await customer(roomy, "Ani")
    # One message a second overall: only one of the two may go first.
    outbox = Outbox(engine, bot, limits=QUICK.model_copy(update={"global_per_s": 1}))
    await outbox.put(edit_text(group, card.message_id, "Ani is waiting (2 min)"))
    await outbox.put(send_text(ani, "An agent will be with you shortly"))

    async with sending(outbox):
        card_edit, reply = await settled(engine)

    assert reply.sent_at < card_edit.sent_at
    assert await bot_texts(roomy, ani) == ["An agent will be with you shortly"]
    assert await bot_texts(roomy, group) == ["Ani is waiting (2 min)"]


async def test_one_chats_messages_arrive_in_the_order_they_were_put(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient
) -> None:
    ani = await customer(roomy, "Ani")
    budi = await customer(roomy, "Budi")
    outbox = Outbox(engine, bot, limits=QUICK)
    to_ani = [f"Step {n}" for n in range(1, 11)]

    async with sending(outbox):
        for n, text in enumerate(to_ani):
            await outbox.put(send_text(ani, text), send_text(budi, f"Budi {n}"))
        assert await shown(roomy, ani, 10) == to_ani
        assert await shown(roomy, budi, 10) == [f"Budi {n}" for n in range(10)]


async def test_a_429_delays_only_that_chat_while_another_chats_message_goes_at_once(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient
) -> None:
    ani = await customer(roomy, "Ani")
    budi = await customer(roomy, "Budi")
    await roomy.fault("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    outbox = Outbox(engine, bot, limits=QUICK)
    loop = asyncio.get_running_loop()

    async with sending(outbox):
        await outbox.put(send_text(ani, "Your ticket is T-1"))
        await until(lambda: outbox.stats.too_many_requests == 1)
        refused_at = loop.time()
        await outbox.put(send_text(budi, "Your ticket is T-2"))
        assert await shown(roomy, budi, 1, timeout=0.5) == ["Your ticket is T-2"]
        assert await bot_texts(roomy, ani) == []

        assert await shown(roomy, ani, 1) == ["Your ticket is T-1"]
        assert loop.time() - refused_at >= 0.9  # Telegram said retry after 1 s
        await settled(engine)

    assert outbox.stats.too_many_requests == 1
    assert outbox.stats.sent == 2


async def test_two_502_answers_are_retried_and_the_message_arrives_once(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "telegram_io.outbox.BACKOFF_SECONDS", (0.05, 0.1, 0.2)
    )  # the real ones: 0.5, 1 …
    ani = await customer(roomy, "Ani")
    await roomy.fault("sendMessage", 502, "Bad Gateway", count=2)
    outbox = Outbox(engine, bot, limits=QUICK)

    async with sending(outbox):
        await outbox.put(send_text(ani, "Thanks for waiting"))
        (row,) = await settled(engine)

    assert (row.state, row.attempts) == ("sent", 2)
    assert outbox.stats.retried == 2
    assert await bot_texts(roomy, ani) == ["Thanks for waiting"]


async def test_a_customer_who_blocked_the_bot_fails_the_call_and_is_reported_forbidden(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient
) -> None:
    ani = await customer(roomy, "Ani")
    await roomy.block(ani)
    forbidden: list[int] = []

    async def record_forbidden(chat_id: int) -> None:
        forbidden.append(chat_id)

    outbox = Outbox(engine, bot, on_forbidden=record_forbidden, limits=QUICK)

    async with sending(outbox):
        await outbox.put(send_text(ani, "Are you still there?"))
        (row,) = await settled(engine)

    assert row.state == "failed"
    assert "blocked" in row.error.lower()
    assert row.attempts == 0  # not retried
    assert forbidden == [ani]
    assert await bot_texts(roomy, ani) == []


async def test_an_edit_that_changes_nothing_counts_as_sent(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient
) -> None:
    group = await agents_group(roomy)
    card = await bot.send_message(group, "Ani is waiting")
    outbox = Outbox(engine, bot, limits=QUICK)

    async with sending(outbox):
        await outbox.put(edit_text(group, card.message_id, "Ani is waiting"))
        (row,) = await settled(engine)

    assert (row.state, row.error) == ("sent", None)
    assert outbox.stats.failed == 0
    (message,) = await roomy.messages(group)
    assert "edit_date" not in message


async def test_a_call_telegram_refuses_fails_without_a_retry(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient
) -> None:
    group = await agents_group(roomy)
    outbox = Outbox(engine, bot, limits=QUICK)

    async with sending(outbox):
        await outbox.put(edit_text(group, 999, "a card that was never posted"))
        (row,) = await settled(engine)

    assert (row.state, row.attempts) == ("failed", 0)
    assert "message to edit not found" in row.error.lower()
    assert outbox.stats.failed == 1


async def test_a_superseded_card_edit_is_never_sent(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient
) -> None:
    group = await agents_group(roomy)
    card = await bot.send_message(group, "Ani is waiting")
    outbox = Outbox(engine, bot, limits=QUICK)
    for minutes in (1, 2, 3):
        await outbox.put(edit_text(group, card.message_id, f"Ani is waiting ({minutes} min)"))

    async with roomy.events() as events, sending(outbox):
        rows = await settled(engine)
        edited = await events.next_of("edited")
        with pytest.raises(TimeoutError):
            await events.next_of("edited", timeout=0.2)

    assert [row.state for row in rows] == ["superseded", "superseded", "sent"]
    assert edited["message"]["text"] == "Ani is waiting (3 min)"
    assert await bot_texts(roomy, group) == ["Ani is waiting (3 min)"]
    assert outbox.stats.sent == 1


async def test_the_calls_of_a_replayed_update_are_stored_once(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient
) -> None:
    ani = await customer(roomy, "Ani")
    group = await agents_group(roomy)
    outbox = Outbox(engine, bot, limits=QUICK)

    for _ in range(2):  # the update is processed, the process dies, it is processed again
        with writes_of_update({"update_id": 42}):
            await outbox.put(send_text(ani, "Connecting you to an agent"))
            await outbox.put(send_text(group, "New conversation: Ani", priority=Priority.GROUP))

    keys = [row.dedup_key for row in await stored(engine)]
    assert len(keys) == len(set(keys)) == 2
    assert all(key.startswith("u42.") for key in keys)
    async with sending(outbox):
        await settled(engine)
    assert await bot_texts(roomy, ani) == ["Connecting you to an agent"]
    assert await bot_texts(roomy, group) == ["New conversation: Ani"]


async def test_a_new_outbox_on_the_same_database_sends_what_the_first_left_pending(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient
) -> None:
    ani = await customer(roomy, "Ani")
    # So slow that only the first message goes before the restart.
    slow = QUICK.model_copy(update={"per_chat_per_s": 0.1, "per_chat_burst": 1})
    first = Outbox(engine, bot, limits=slow)

    async with sending(first):
        await first.put(*(send_text(ani, f"Part {n}") for n in (1, 2, 3)))
        await shown(roomy, ani, 1)
    assert await first.pending() == 2

    second = Outbox(engine, bot, limits=QUICK)
    async with sending(second):
        await settled(engine)

    assert await bot_texts(roomy, ani) == ["Part 1", "Part 2", "Part 3"]
    assert (first.stats.sent, second.stats.sent) == (1, 2)


async def test_an_urgent_call_lifts_the_calls_before_it_in_its_chat_past_a_burst(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient
) -> None:
    """A chat's turn comes by its most urgent call. Twenty customers' answers wait (10 a second
    overall); behind them an agent's chat holds a plain note and then an offers notice: both go
    before the answers, the note first (order within a chat is kept). A plain note alone waits
    its turn behind the answers."""
    customers = [await customer(roomy, f"C{n}") for n in range(20)]
    agent, other = await customer(roomy, "Agen"), await customer(roomy, "Lain")
    slow = QUICK.model_copy(update={"global_per_s": 10})
    outbox = Outbox(engine, bot, limits=slow)
    await outbox.put(*(send_text(chat, "Jawaban") for chat in customers))
    await outbox.put(send_text(agent, "Catatan", priority=Priority.AGENT))
    await outbox.put(send_text(agent, "Tawaran #7", priority=Priority.HANDOFF))
    await outbox.put(send_text(other, "Catatan lain", priority=Priority.AGENT))

    async with sending(outbox):
        rows = await settled(engine, timeout=6.0)

    order = [row.chat_id for row in sorted(rows, key=lambda row: row.sent_at)]
    assert order[:2] == [agent, agent]
    assert order[-1] == other
    assert await bot_texts(roomy, agent) == ["Catatan", "Tawaran #7"]


async def test_at_a_high_overall_limit_one_turn_starts_every_chats_due_call(
    engine: AsyncEngine, bot: Bot, roomy: SandboxClient
) -> None:
    """The overall limit spaces messages evenly: at 1,000 a second the next one is due a
    millisecond on, so a sending turn reads the clock for each call (reading it once per turn
    let one call go per turn, and a busy bot's answers queued behind its own turns)."""
    chats = [await customer(roomy, f"C{n}") for n in range(12)]
    ticks = itertools.count()
    outbox = Outbox(
        engine,
        bot,
        limits=QUICK.model_copy(update={"global_per_s": 1000}),
        monotonic=lambda: next(ticks) * 0.002,  # 2 ms pass between two readings
    )
    await outbox.put(*(send_text(chat, "Jawaban") for chat in chats))

    await outbox._start_due_sends()  # one turn, as `run` takes them
    await outbox.stop()  # the sends started finish and are recorded

    assert [row.state for row in await stored(engine)] == ["sent"] * len(chats)


async def test_a_burst_to_three_customers_and_a_group_arrives_whole_without_a_single_429(
    engine: AsyncEngine, bot: Bot, sandbox: SandboxClient
) -> None:
    # The sandbox enforces these (token buckets, on by default); the outbox is configured to match,
    # each rate a little lower and the burst one message shorter, for the jitter of real requests.
    await sandbox.set_limits(
        enabled=True, per_chat_per_s=10, per_chat_burst=3, per_group_per_min=600, global_per_s=30
    )
    pacing = Pacing(per_chat_per_s=8, per_chat_burst=2, per_group_per_min=480, global_per_s=27)
    customers = [await customer(sandbox, name) for name in ("Ani", "Budi", "Citra")]
    group = await agents_group(sandbox)
    outbox = Outbox(engine, bot, limits=pacing)
    to_customers = {chat: [f"Reply {n} to {chat}" for n in range(20)] for chat in customers}
    to_group = [f"Card {n}" for n in range(25)]

    async with sending(outbox):
        for n in range(25):
            calls = [send_text(chat, texts[n]) for chat, texts in to_customers.items() if n < 20]
            await outbox.put(*calls, send_text(group, to_group[n], priority=Priority.GROUP))
        await settled(engine, timeout=6.0)

    for chat, texts in to_customers.items():
        assert await bot_texts(sandbox, chat) == texts
    assert await bot_texts(sandbox, group) == to_group
    assert outbox.stats.sent == 85
    assert outbox.stats.too_many_requests == 0


async def test_paced_at_telegrams_real_limits_a_slow_spell_of_the_network_earns_no_429(
    engine: AsyncEngine, sandbox_server: str, sandbox: SandboxClient
) -> None:
    """Telegram counts messages when they arrive. The first second's messages are held up on the
    way (200 ms), the next ones are not: sent thirty at once each second, the second thirty
    arrived 0.85 s after the first and 4-5 of them got 429."""
    customers = [(await sandbox.add_user(f"C{n}"))["id"] for n in range(90)]
    for customer_id in customers:
        await sandbox.send(customer_id, "/start")
    await sandbox.set_limits(enabled=True)  # Telegram's: 30/s overall, 1/s a chat, 20/min a group
    await sandbox.fault("sendMessage", count=30, delay=0.2)
    # Paced at Telegram's limits, over the production transport (many sends in flight at once).
    production = Bot(BOT_TOKEN, base_url=f"{sandbox_server}/bot", request=make_request())
    async with production as bot:
        outbox = Outbox(engine, bot)
        async with sending(outbox):
            await outbox.put(*(send_text(c, f"Halo {c}") for c in customers))
            async with asyncio.timeout(30):
                while outbox.stats.sent < len(customers):
                    await asyncio.sleep(0.05)

    assert outbox.stats.too_many_requests == 0
    for customer_id in customers:
        assert await bot_texts(sandbox, customer_id) == [f"Halo {customer_id}"]


async def test_sends_that_hang_are_retried_with_nothing_lost_and_at_most_the_hung_one_twice(
    engine: AsyncEngine, sandbox_server: str, sandbox: SandboxClient
) -> None:
    """A call that hangs past the client's timeout may still reach the chat later (Telegram has
    no idempotency key): the outbox tries again, so that message may show twice, never more."""
    customers = [await customer(sandbox, f"C{n}") for n in range(8)]
    await sandbox.fault("sendMessage", count=3, delay=1.0)  # hung: the client waits 0.3 s
    hasty = Bot(BOT_TOKEN, base_url=f"{sandbox_server}/bot", request=make_request(read_timeout=0.3))
    async with hasty as bot:
        outbox = Outbox(engine, bot, limits=QUICK)
        async with sending(outbox):
            await outbox.put(*(send_text(c, f"Halo {c}") for c in customers))
            async with asyncio.timeout(20):
                while outbox.stats.sent < len(customers):
                    await asyncio.sleep(0.05)
    await asyncio.sleep(1.2)  # the hung calls land after all

    shown = {c: await bot_texts(sandbox, c) for c in customers}
    assert all(set(texts) == {f"Halo {c}"} for c, texts in shown.items())  # none lost
    assert all(len(texts) <= 2 for texts in shown.values())
    assert sum(len(texts) for texts in shown.values()) - len(customers) <= 3  # the hung ones
    assert outbox.stats.retried >= 3 and outbox.stats.failed == 0
