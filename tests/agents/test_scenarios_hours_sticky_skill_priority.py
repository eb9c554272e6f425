"""Routing scenarios end to end (SPEC §4.2, §5): opening hours, the sticky agent, skills and
priority, each told as customers and agents act through the sandbox and as the chats show it.

Customers write to the bot; agents press Claim in the group or write to the bot privately; the
assertions are on what the group's cards and the private chats show. The bot's clock is moved with
`desk.advance`, and the bot's sweep (every 0.1 s) acts on what fell due.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.sandbox_support import SandboxClient
from tests.support.desk import (
    GROUP_ID,
    Chat,
    Desk,
    Message,
    agents_desk,
    card_section,
    desk_config,
    example_agents,
    from_bot,
    text_of,
)

WIB = ZoneInfo("Asia/Jakarta")
SARI, AGUS, DEWI, RIZKY, RINA, PUTU, BAMBANG, HENDRA = range(1001, 1009)
SUPPORT_MORNING = (SARI, AGUS, HENDRA)  # the support agents on shift Tuesday 10:00 WIB
VIP_ID = 5550001  # in the example's routing.vip.customers

OUTAGE = "internet saya mati dari pagi, minta cs"
PLANS = "berapa harga paket internet, minta cs"
WRONG_BILL = "tagihan saya salah, minta cs"
ASK_CS = "tolong minta cs"  # the talk-to-a-person intent alone: Support, no priority boost
OFFERED = re.compile(r"👉 offered to @(\w+)")


def wib(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def name_of(desk: Desk, agent_id: int) -> str:
    spec = desk.config.agent(agent_id)
    assert spec is not None
    return spec.name


async def card_of(desk: Desk, conversation_id: int, showing: str = "") -> Message:
    """The group message (card or digest) that shows this conversation, once its lines show
    `showing` (unlike `desk.card`, never another message of the group)."""

    def matches(message: Message) -> bool:
        section = card_section(text_of(message), conversation_id)
        return from_bot(message) and bool(section) and showing in section

    return await desk.sandbox.wait_for(GROUP_ID, matches, 5.0)


async def shown(desk: Desk, conversation_id: int, showing: str = "") -> str:
    """The conversation's lines on its card (or digest), once they show `showing`."""
    return card_section(text_of(await card_of(desk, conversation_id, showing)), conversation_id)


async def claim(desk: Desk, agent_id: int, conversation_id: int) -> str:
    """The agent presses Claim on the conversation's card; the bot's short answer.

    Pressed once the bot has noted which message shows the card: a press in the moment between
    the card appearing and the bot storing its message id is refused as a stale button.
    """
    card = await card_of(desk, conversation_id)
    await desk.cards_settled()
    pressed = await desk.sandbox.press(
        agent_id, GROUP_ID, card["message_id"], f"claim:{conversation_id}"
    )
    answer = await desk.sandbox.callback_answer(pressed["callback_query"]["id"])
    return answer.get("text", "")


async def offered_agent(desk: Desk, conversation_id: int) -> int:
    """The agent the conversation's card says it is offered to, once it says so."""
    match = OFFERED.search(await shown(desk, conversation_id, "offered to @"))
    assert match is not None
    agent = next(a for a in desk.config.agents if a.username == match.group(1))
    return agent.id


async def set_status(desk: Desk, agent_id: int, command: str, shows: str) -> None:
    """The agent writes /on, /away or /off to the bot and sees it done."""
    agent = desk.agent(agent_id)
    await agent.says(command)
    await agent.sees(f"{name_of(desk, agent_id)}: {shows}.")


async def served_and_closed(desk: Desk, name: str, text: str = OUTAGE) -> tuple[Chat, int]:
    """A customer's chat, claimed by the agent it is offered to and closed by them: the
    customer's chat and that agent (the customer's last agent from now on)."""
    customer, conversation_id = await desk.handed_off(name, text)
    agent_id = await offered_agent(desk, conversation_id)
    assert await claim(desk, agent_id, conversation_id) == (
        f"#{conversation_id} is yours: I sent its context to our private chat."
    )
    await desk.agent(agent_id).says(f"/close #{conversation_id}")
    await desk.agent(agent_id).sees(f"#{conversation_id} closed")
    await customer.sees("Seberapa puas Anda")
    return customer, agent_id


async def returns(desk: Desk, customer: Chat, text: str = "internet mati lagi, minta cs") -> int:
    """A customer with a closed chat asks for a person again: the new conversation."""
    await customer.says(text)
    return await desk.conversation_of(customer.id)


async def routing_of(desk: Desk, agent_id: int, conversation_id: int, step: str) -> str:
    """`/why #id` in the agent's private chat, once its answer shows `step`."""
    agent = desk.agent(agent_id)
    await agent.says(f"/why #{conversation_id}")
    return text_of(await agent.sees(step))


# ---- time-based ---------------------------------------------------------------------------


async def test_an_open_team_gets_the_chat_offered_at_once(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:  # Tuesday 10:00 WIB: Support is open
        ani, conversation_id = await desk.handed_off("Ani", OUTAGE)

        await ani.sees("Baik, saya sambungkan ke tim Support")
        section = await shown(desk, conversation_id, "offered to @")
        assert "Support" in section and "🌙" not in section
        assert "until 10:01:00" in section  # claim_timeout 60 s from now
        assert await offered_agent(desk, conversation_id) in SUPPORT_MORNING


async def test_a_closed_team_with_a_queue_policy_tells_the_customer_when_it_opens(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    # Tuesday 21:30 WIB: Sales closed at 21:00 (after_hours: queue) though Rizky is still on shift.
    async with agents_desk(sandbox, tmp_path, start=wib(2026, 11, 24, 21, 30)) as desk:
        budi, conversation_id = await desk.handed_off("Budi", PLANS)

        await budi.sees("Tim Sales sedang tutup dan buka kembali besok pukul 09:00 WIB")
        section = await shown(desk, conversation_id, "after hours")
        assert "Sales" in section and "lead" in section
        assert "🌙 after hours: waits for Sales to open Wednesday 25 Nov 09:00" in section
        await desk.cards_settled()
        assert "offered to" not in await shown(desk, conversation_id)


async def test_on_a_public_holiday_sales_and_billing_are_closed_while_support_works(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    # Christmas, Friday 25 Dec 2026 10:00 WIB: sales_hours and office have `holidays: ID`,
    # support_hours has none.
    async with agents_desk(sandbox, tmp_path, start=wib(2026, 12, 25, 10)) as desk:
        budi, plans = await desk.handed_off("Budi", PLANS)
        cici, bill = await desk.handed_off("Cici", WRONG_BILL)
        dedi, outage = await desk.handed_off("Dedi", OUTAGE)

        await budi.sees("Tim Sales sedang tutup dan buka kembali besok pukul 09:00 WIB")
        await cici.sees("Tim Billing sedang tutup. Silakan tulis pesan Anda")
        await cici.sees("saat buka besok pukul 08:00 WIB")
        await dedi.sees("Baik, saya sambungkan ke tim Support")
        sales, billing = [await shown(desk, c, "after hours") for c in (plans, bill)]
        assert "waits for Sales to open Saturday 26 Dec 09:00" in sales
        assert "waits for Billing to open Saturday 26 Dec 08:00" in billing
        assert await offered_agent(desk, outage) in (SARI, AGUS)  # Hendra's office shift is off


async def test_after_hours_support_hands_the_chat_to_the_night_team(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    # Tuesday 22:30 WIB: Support closed at 22:00 (after_hours: team:night); Bambang works nights.
    async with agents_desk(sandbox, tmp_path, start=wib(2026, 11, 24, 22, 30)) as desk:
        ani, conversation_id = await desk.handed_off("Ani", OUTAGE)

        await ani.sees(
            "Tim Support sedang tutup, jadi percakapan ini kami teruskan ke tim jaga kami"
        )
        section = await shown(desk, conversation_id, "offered to @bambang_malam")
        assert "Night Support" in section
        assert await claim(desk, BAMBANG, conversation_id) == (
            f"#{conversation_id} is yours: I sent its context to our private chat."
        )
        await desk.agent(BAMBANG).sees(f"#{conversation_id} · Ani is yours now")
        await ani.sees("Bambang dari Nusantara Net sudah terhubung")


async def held_sales_lead(desk: Desk) -> tuple[Chat, int]:
    """On Monday 23:00 WIB, Budi asks for Sales, closed until Tuesday 09:00: his chat is held
    for the opening, and its card says so."""
    budi, conversation_id = await desk.handed_off("Budi", PLANS)
    await budi.sees("buka kembali besok pukul 09:00 WIB")
    await shown(desk, conversation_id, "waits for Sales to open Tuesday 24 Nov 09:00")
    return budi, conversation_id


async def test_a_chat_held_overnight_is_offered_once_its_team_opens(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    # Monday 23:00 WIB: Sales opens Tuesday 09:00; Dewi (sales) works the 07:00 morning shift.
    async with agents_desk(sandbox, tmp_path, start=wib(2026, 11, 23, 23)) as desk:
        budi, conversation_id = await held_sales_lead(desk)
        dewi = desk.agent(DEWI)

        desk.advance(7 * 3600 + 50 * 60)  # Tuesday 06:50
        await dewi.says("/status")
        await dewi.sees("Dewi Lestari: offline, off shift")
        desk.advance(15 * 60)  # 07:05: the morning shift has started, Sales is still closed
        await dewi.sees("Your shift has started: you are available for chats")
        await dewi.says("/status")
        await dewi.sees("Dewi Lestari: available, on shift")
        await desk.cards_settled()
        assert "waits for Sales to open Tuesday 24 Nov 09:00" in await shown(
            desk, conversation_id, "🌙"
        )

        desk.advance(1 * 3600 + 55 * 60 + 1)  # 09:00:01: Sales opens
        agent_id = await offered_agent(desk, conversation_id)

        sales = [a.id for a in desk.config.agents if "sales" in a.teams]
        assert agent_id in sales, f"a Sales lead held for Sales' opening went to {agent_id}"
        assert await claim(desk, agent_id, conversation_id) == (
            f"#{conversation_id} is yours: I sent its context to our private chat."
        )
        await budi.sees("sudah terhubung")


HELD_FOR_MANAGERS = (
    "is held for its team's opening and offered to nobody yet: only a manager can take it"
)


async def test_a_held_chat_is_refused_with_the_true_reason_and_a_manager_takes_it_early(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    # Monday 23:00 WIB: Sales is closed until Tuesday 09:00; the lead is held for the opening.
    async with agents_desk(sandbox, tmp_path, start=wib(2026, 11, 23, 23)) as desk:
        budi, conversation_id = await held_sales_lead(desk)
        desk.advance(8 * 3600 + 5 * 60)  # Tuesday 07:05: Dewi (Sales) is on shift, Sales closed
        dewi = desk.agent(DEWI)
        await dewi.sees("Your shift has started")

        assert HELD_FOR_MANAGERS in await claim(desk, DEWI, conversation_id)
        await dewi.says(f"/take #{conversation_id}")
        await dewi.sees(HELD_FOR_MANAGERS)
        assert (await desk.stored(conversation_id)).state == "queued"

        assert await claim(desk, SARI, conversation_id) == (
            f"#{conversation_id} is yours: I sent its context to our private chat."
        )
        await budi.sees("Sari dari Nusantara Net sudah terhubung")
        taken = await desk.stored(conversation_id)
        assert taken.state == "assigned" and taken.agent_id == SARI
        assert taken.not_before == taken.assigned_at  # its wait ended when she took it


async def test_with_take_held_team_an_on_shift_agent_of_the_team_takes_a_held_chat(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    config = desk_config(take_held="team")
    async with agents_desk(sandbox, tmp_path, config=config, start=wib(2026, 11, 23, 23)) as desk:
        budi, conversation_id = await held_sales_lead(desk)
        team_only = "only a manager or an on-shift agent of its team can take it"
        assert team_only in await claim(desk, DEWI, conversation_id)  # off shift at 23:00
        assert team_only in await claim(desk, AGUS, conversation_id)  # Support, not Sales

        desk.advance(8 * 3600 + 5 * 60)  # Tuesday 07:05: Dewi's shift has started
        await desk.agent(DEWI).sees("Your shift has started")
        assert await claim(desk, DEWI, conversation_id) == (
            f"#{conversation_id} is yours: I sent its context to our private chat."
        )
        await budi.sees("Dewi dari Nusantara Net sudah terhubung")


# ---- sticky agent -------------------------------------------------------------------------


async def test_a_returning_customer_goes_back_to_their_last_agent(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        ani, last_agent = await served_and_closed(desk, "Ani")
        desk.advance(3600)  # an hour later; round robin alone would pick an idler agent

        conversation_id = await returns(desk, ani)

        section = await shown(desk, conversation_id, "offered to @")
        assert f"offered to @{desk.username(last_agent)}" in section
        assert "existing" in section
        assert "until 11:00:45" in section  # sticky.timeout 45 s, not claim_timeout
        why = await routing_of(desk, last_agent, conversation_id, "sticky: last agent")
        assert f"sticky: last agent {name_of(desk, last_agent)} on shift" in why


async def test_the_last_agent_is_skipped_while_away(sandbox: SandboxClient, tmp_path: Path) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        ani, last_agent = await served_and_closed(desk, "Ani")
        await set_status(desk, last_agent, "/away", "away")

        conversation_id = await returns(desk, ani)

        offered = await offered_agent(desk, conversation_id)
        assert offered != last_agent and offered in SUPPORT_MORNING
        why = await routing_of(desk, offered, conversation_id, "skipped")
        name = name_of(desk, last_agent)
        assert f"sticky: last agent {name} away, skipped" in why


async def test_the_last_agent_is_skipped_once_off_shift(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    # Tuesday 14:30 WIB: the morning shift (Sari, Agus) ends at 15:00; the afternoon one is on.
    async with agents_desk(sandbox, tmp_path, start=wib(2026, 11, 24, 14, 30)) as desk:
        ani, last_agent = await served_and_closed(desk, "Ani")
        assert last_agent in (SARI, AGUS), "the morning shift got the first chat"
        desk.advance(31 * 60)  # 15:01
        await desk.agent(last_agent).sees("Your shift has ended: you are offline")

        conversation_id = await returns(desk, ani)

        offered = await offered_agent(desk, conversation_id)
        assert offered in (RIZKY, RINA, HENDRA)
        why = await routing_of(desk, offered, conversation_id, "skipped")
        name = name_of(desk, last_agent)
        assert f"sticky: last agent {name} off shift, skipped" in why


async def test_the_last_agent_is_skipped_at_capacity(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    config = desk_config(agents=example_agents(capacity={SARI: 1, AGUS: 1}))
    async with agents_desk(sandbox, tmp_path, config=config) as desk:
        ani, last_agent = await served_and_closed(desk, "Ani")
        others = [a for a in SUPPORT_MORNING if a != last_agent]
        for other in others:  # so the next newcomer fills the last agent's only slot
            await set_status(desk, other, "/away", "away")
        _, filler = await desk.handed_off("Budi", OUTAGE)
        assert await offered_agent(desk, filler) == last_agent
        assert "is yours" in await claim(desk, last_agent, filler)
        for other in others:
            await set_status(desk, other, "/on", "available")

        conversation_id = await returns(desk, ani)

        offered = await offered_agent(desk, conversation_id)
        assert offered in others
        why = await routing_of(desk, offered, conversation_id, "skipped")
        name = name_of(desk, last_agent)
        assert f"sticky: last agent {name} at capacity (1/1), skipped" in why


async def test_an_unclaimed_sticky_offer_falls_back_to_round_robin_after_its_timeout(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        ani, last_agent = await served_and_closed(desk, "Ani")
        conversation_id = await returns(desk, ani)
        await shown(desk, conversation_id, f"offered to @{desk.username(last_agent)}")

        desk.advance(46)  # sticky.timeout is 45 s

        section = await shown(desk, conversation_id, "offer 2")
        match = OFFERED.search(section)
        assert match is not None and match.group(1) != desk.username(last_agent)
        offered = await offered_agent(desk, conversation_id)
        assert offered in SUPPORT_MORNING
        why = await routing_of(desk, offered, conversation_id, "round robin")
        name = name_of(desk, last_agent)
        assert f"offer to {name} timed out after 46 s" in why


# ---- skill --------------------------------------------------------------------------------


async def test_billing_words_reach_the_billing_team(sandbox: SandboxClient, tmp_path: Path) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        # Sari does both support and billing; with her away, round robin by id alone would pick
        # Agus (support only), so only the skill sends the bill to Putu or Hendra.
        await set_status(desk, SARI, "/away", "away")

        cici, bill = await desk.handed_off("Cici", WRONG_BILL)
        ani, outage = await desk.handed_off("Ani", OUTAGE)

        await cici.sees("Baik, saya sambungkan ke tim Billing")
        await ani.sees("Baik, saya sambungkan ke tim Support")
        bill_section = await shown(desk, bill, "offered to @")
        assert "Billing · tagihan" in bill_section and "tagihan saya salah" in bill_section
        assert await offered_agent(desk, bill) in (PUTU, HENDRA)
        assert "Support · " in await shown(desk, outage, "offered to @")
        assert await offered_agent(desk, outage) in (AGUS, HENDRA)


# ---- priority -----------------------------------------------------------------------------


async def test_a_vip_overtakes_chats_that_were_waiting_before(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    config = desk_config(agents=example_agents(capacity={AGUS: 1}))
    async with agents_desk(sandbox, tmp_path, config=config) as desk:
        for agent_id in SUPPORT_MORNING:  # nobody free: the chats wait
            await set_status(desk, agent_id, "/away", "away")
        budi, first = await desk.handed_off("Budi", ASK_CS)
        cici, second = await desk.handed_off("Cici", ASK_CS)
        await budi.sees("Anda di antrean ke-1")
        await cici.sees("Anda di antrean ke-2")

        vina, vip = await desk.handed_off("Vina", ASK_CS, id=VIP_ID)

        await vina.sees("Anda di antrean ke-1")
        section = await shown(desk, vip, "in the queue")
        assert section.startswith(f"#{vip} · Vina ⭐") and "P5" in section

        await set_status(desk, AGUS, "/on", "available")  # one free slot

        await shown(desk, vip, "offered to @agus_cs")
        await desk.cards_settled()
        for waiting in (first, second):
            assert "in the queue: nobody free yet" in await shown(desk, waiting)


async def test_aging_serves_an_old_normal_chat_before_newer_higher_priority_ones(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    # One agent with one slot; each priority point counts as routing.aging = 60 s of waiting.
    config = desk_config(agents=example_agents(capacity={AGUS: 1}))
    async with agents_desk(sandbox, tmp_path, config=config) as desk:
        for agent_id in (SARI, HENDRA):
            await set_status(desk, agent_id, "/away", "away")
        agus = desk.agent(AGUS)
        _, busy = await desk.handed_off("Fajar", ASK_CS)
        assert "is yours" in await claim(desk, AGUS, busy)

        _, old = await desk.handed_off("Budi", ASK_CS)  # P0 at 10:00
        assert "P0" in await shown(desk, old, "in the queue")
        desk.advance(200)
        _, outage = await desk.handed_off("Cici", OUTAGE)  # P2 at 10:03:20 (counts from 10:01:20)
        dedi, urgent = await desk.handed_off("Dedi", "penting, minta cs")  # P3 (from 10:00:20)
        assert "P2" in await shown(desk, outage, "in the queue")
        assert "P3" in await shown(desk, urgent, "in the queue")
        await dedi.sees("Anda di antrean ke-2")  # behind Budi, ahead of Cici

        served: list[int] = []
        current = busy
        for _ in range(3):  # Agus finishes a chat; the next one is offered to him; he claims it
            await agus.says(f"/close #{current}")
            await agus.sees(f"#{current} closed")
            current = await next_offered(
                desk, [c for c in (old, urgent, outage) if c not in served]
            )
            served.append(current)
            assert "is yours" in await claim(desk, AGUS, current)

        assert served == [old, urgent, outage]


async def next_offered(desk: Desk, waiting: list[int], timeout: float = 5.0) -> int:
    """The one of `waiting` whose card comes to show it offered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for conversation_id in waiting:
            if "offered to @" in await shown(desk, conversation_id):
                return conversation_id
        if loop.time() > deadline:
            raise AssertionError(f"none of {waiting} was offered")
        await asyncio.sleep(0.05)
