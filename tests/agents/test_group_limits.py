"""The agents group under a burst (SPEC §5): Telegram allows ~20 messages a minute there, so new
cards go out as digests, edits are coalesced, nothing earns a 429, and once the burst has passed
every card shows its conversation as the database has it.

The limits are Telegram's ratios on a faster clock (the sandbox and the bot's pacing both at
10× Telegram's group and overall rates), so the burst of 100 chats "within one minute" takes
seconds instead.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from agents_app import views
from agents_app.cards import render
from tests.sandbox_support import SandboxClient
from tests.support.desk import Desk, agents_desk, buttons, desk_config, from_bot, text_of
from tests.support.frontdoor import TUESDAY_10_WIB, running_frontdoor

SPEED = 10  # Telegram's limits, ten times faster
GROUP_PER_MIN = 20 * SPEED
GLOBAL_PER_S = 30 * SPEED
CHATS = 100
CARD_LINE = re.compile(r"^#(\d+) · ", re.MULTILINE)


async def test_a_burst_of_100_new_chats_earns_no_429_and_the_cards_end_up_matching_the_database(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    await sandbox.set_limits(
        enabled=True, per_chat_per_s=50, per_group_per_min=GROUP_PER_MIN, global_per_s=GLOBAL_PER_S
    )
    config = desk_config(
        bot={
            "pacing": {
                "per_chat_per_s": 40,
                "per_chat_burst": 5,
                "per_group_per_min": GROUP_PER_MIN,
                "global_per_s": GLOBAL_PER_S,
            }
        }
    )
    async with agents_desk(sandbox, tmp_path, config=config, limits=True) as desk:
        customers = [
            await sandbox.add_user(f"Cust{n:03d}", language_code="id") for n in range(CHATS)
        ]
        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(sandbox.send(c["id"], "/human") for c in customers))
        burst_seconds = asyncio.get_running_loop().time() - started

        for customer in customers:
            await desk.conversation_of(customer["id"], timeout=30)
        await desk.cards_settled(timeout=60)

        assert burst_seconds < 60 / SPEED
        assert desk.bot.outbox.stats.too_many_requests == 0
        async with desk.bot.engine.connect() as conn:
            carded = {
                r.conversation_id: r.message_id
                for r in await conn.execute(
                    select(views.cards.c.conversation_id, views.cards.c.message_id)
                )
            }
        assert len(carded) == CHATS
        shown: dict[int, int] = {}
        posted = [m for m in await desk.group() if from_bot(m) and CARD_LINE.search(text_of(m))]
        for message in posted:
            ids = [int(i) for i in CARD_LINE.findall(text_of(message))]
            for conversation_id in ids:
                assert conversation_id not in shown, f"#{conversation_id} shown twice"
                shown[conversation_id] = message["message_id"]
            async with desk.bot.engine.connect() as conn:
                expected_text, expected_buttons = render(
                    await conn.run_sync(views.card_views, ids),
                    desk.config,
                    desk.bot.router.clock.now(),
                )
            assert text_of(message) == expected_text
            assert buttons(message) == [b for row in expected_buttons for b in row]
        assert shown == carded
        digests = sum(1 for m in posted if text_of(m).startswith("🆕"))
        assert digests >= 1 and len(posted) < CHATS / 5  # batched, far fewer messages than chats


async def test_cards_pending_at_a_restart_are_posted_once_after_it(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    await sandbox.set_limits(enabled=False)
    slow_group = desk_config(
        bot={"pacing": {"per_chat_per_s": 50, "per_chat_burst": 20, "per_group_per_min": 30}}
    )
    async with agents_desk(sandbox, tmp_path, config=slow_group) as desk:
        customers = [await sandbox.add_user(f"Cust{n}", language_code="id") for n in range(6)]
        for customer in customers:  # one at a time: the first card goes, the rest wait their turn
            await sandbox.send(customer["id"], "/human")
            await desk.conversation_of(customer["id"])
        assert not await desk.bot.cards.settled()

    async with running_frontdoor(
        sandbox.base_url, tmp_path, config=desk_config(), start=TUESDAY_10_WIB
    ) as bot:
        desk = Desk(sandbox, bot)
        await desk.cards_settled()
        posted = [m for m in await desk.group() if from_bot(m) and CARD_LINE.search(text_of(m))]
        shown = [int(i) for m in posted for i in CARD_LINE.findall(text_of(m))]
        async with bot.engine.connect() as conn:
            carded = sorted(
                r.conversation_id for r in await conn.execute(select(views.cards.c.conversation_id))
            )
        assert sorted(shown) == carded and len(carded) == len(customers)


async def test_a_card_held_for_the_opening_is_brought_up_to_date_once_the_team_opens(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    # Tuesday 21:30 WIB: Sales closed at 21:00; only a support agent works, so at Wednesday's
    # 09:00 opening nobody can be offered the chat, and only the opening changes its card.
    support_only = desk_config(
        agents=[
            {"id": 2001, "name": "Ana", "username": "ana_cs", "teams": ["support"],
             "shift": "support_hours"}
        ]
    )  # fmt: skip
    tuesday_2130_wib = TUESDAY_10_WIB + timedelta(hours=11, minutes=30)
    async with agents_desk(sandbox, tmp_path, config=support_only, start=tuesday_2130_wib) as desk:
        _, conversation_id = await desk.handed_off("Budi", "mau pasang baru, minta cs")
        await desk.card(conversation_id, "🌙 after hours: waits for Sales to open Wednesday 25 Nov")
        await desk.cards_settled()

        desk.advance(11.5 * 3600 + 1)  # Wednesday 09:00:01

        await desk.card(conversation_id, "⏳ in the queue: nobody free yet")
