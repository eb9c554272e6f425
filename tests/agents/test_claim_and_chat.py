"""One chat from card to rating, through the agents group and the agent's private chat:
real python-telegram-bot ↔ sandbox Bot API server ↔ SQLite."""

from __future__ import annotations

from pathlib import Path

from tests.sandbox_support import SandboxClient
from tests.support.desk import (
    actions,
    agents_desk,
    card_section,
    desk_config,
    example_agents,
    from_bot,
    text_of,
)

SARI, AGUS = 1001, 1002  # support, morning shift; Sari is a manager
NAMES = ("Ani", "Budi", "Citra")


async def test_a_handoff_gets_a_card_the_offered_agent_claims_and_the_two_talk(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        ani, conversation_id = await desk.handed_off(
            "Ani", "internet saya mati dari pagi, minta cs"
        )

        card = await desk.card(conversation_id, "offered to @")
        section = card_section(text_of(card), conversation_id)
        assert "Ani" in section and "Support" in section and "internet saya mati" in section
        offered = SARI if "@sari_nusanet" in section else AGUS

        answer = await desk.press_claim(offered, conversation_id)

        assert answer == f"#{conversation_id} is yours: I sent its context to our private chat."
        agent = desk.agent(offered)
        context = await agent.sees(f"#{conversation_id} · Ani is yours now")
        assert "internet saya mati dari pagi" in text_of(context)
        await desk.card(conversation_id, "claimed by @")
        await ani.sees("sudah terhubung")

        await agent.says("Halo Ani, saya cek dulu ya")
        await ani.sees("Halo Ani, saya cek dulu ya")
        await ani.says("baik terima kasih")
        await agent.sees(f"#{conversation_id} · Ani\nbaik terima kasih")

        await agent.says("/close")

        await agent.sees(f"#{conversation_id} closed")
        await ani.sees("Seberapa puas Anda")
        await desk.card(conversation_id, "closed by the agent")


async def test_a_losing_or_unauthorised_press_is_answered_and_changes_nothing(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        _, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        card = await desk.card(conversation_id, "offered to @")
        offered = SARI if "@sari_nusanet" in text_of(card) else AGUS
        other = AGUS if offered == SARI else SARI

        assert await desk.press_claim(other, conversation_id) == (
            f"#{conversation_id} is offered to {desk.bot.agent_desk.name_of(offered)} right now."
        )
        assert await desk.press_claim(offered, conversation_id) == (
            f"#{conversation_id} is yours: I sent its context to our private chat."
        )
        await desk.card(conversation_id, "claimed by @")  # its Claim button is gone: try /take
        await desk.agent(other).says(f"/take #{conversation_id}")
        await desk.agent(other).sees(f"Already claimed by {desk.bot.agent_desk.name_of(offered)}.")
        assert not any("is yours now" in t for t in await desk.agent(other).bot_texts())


async def test_the_context_message_carries_what_the_customer_and_the_bot_said_before(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        ani = await desk.customer("Ani")
        await ani.says("cara bayar tagihan gimana")
        await ani.sees("Apakah jawaban ini membantu?")
        desk.advance(30)  # the customer reads the answer before asking for a person
        await ani.says("sudah transfer tapi belum masuk, minta cs")
        conversation_id = await desk.conversation_of(ani.id)
        card = await desk.card(conversation_id, "offered to @")
        offered = SARI if "@sari_nusanet" in text_of(card) else AGUS

        await desk.press_claim(offered, conversation_id)

        context = text_of(await desk.agent(offered).sees(f"#{conversation_id} · Ani is yours now"))
        assert "👤 cara bayar tagihan gimana" in context
        assert "🤖 " in context  # the FAQ answer the bot gave
        assert "👤 sudah transfer tapi belum masuk, minta cs" in context
        assert "existing customer" in context and "language id" in context  # a bill: no lead


async def test_the_walk_through_handoff_by_button_carries_the_question_the_answer_and_the_press(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi = await desk.customer("Budi")
        await budi.says("gmn cara bayar tagihan?")
        answer = await budi.sees("Apakah jawaban ini membantu?")
        desk.advance(45)
        await budi.press(answer, "faq_human:pembayaran")
        conversation_id = await desk.conversation_of(budi.id)

        _, shown = await desk.claimed_by_the_offered_agent(conversation_id, "Budi")

        context = text_of(shown)
        assert "👤 gmn cara bayar tagihan?" in context
        assert "🤖 Cara bayar tagihan:" in context
        assert "👤 [🙋 Bicara dengan CS]" in context
        assert "nothing written yet" not in context


async def test_the_offered_agent_is_told_privately_and_may_claim_there(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        _, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        card = await desk.card(conversation_id, "offered to @")
        offered = SARI if "@sari_nusanet" in text_of(card) else AGUS
        other = AGUS if offered == SARI else SARI
        notice = await desk.agent(offered).sees(f"🔔 #{conversation_id} · Ani")

        desk.advance(61)  # nobody claims: the offer moves on, and the next agent hears of it

        await desk.agent(other).sees(f"🔔 #{conversation_id} · Ani")
        assert await desk.agent(offered).press(notice, f"claim:{conversation_id}") == (
            f"#{conversation_id} is offered to {desk.bot.agent_desk.name_of(other)} right now."
        )
        notice = await desk.agent(other).sees(f"🔔 #{conversation_id} · Ani")
        assert await desk.agent(other).press(notice, f"claim:{conversation_id}") == (
            f"#{conversation_id} is yours: I sent its context to our private chat."
        )
        await desk.card(conversation_id, f"claimed by {desk.bot.agent_desk.name_of(other)}")


async def test_a_new_customer_asking_about_their_bill_is_not_tagged_a_lead(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        _, conversation_id = await desk.handed_off("Budi", "tagihan saya salah, minta cs")
        card = text_of(await desk.card(conversation_id, "offered to @"))
        assert "lead" not in card.split("\n", 3)[1]
        assert not (await desk.stored(conversation_id)).is_lead


async def test_offers_faster_than_an_agents_chat_takes_messages_come_together(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    # Sari alone in Support, her chat paced at one message every 2 s: three chats offered to her
    # within that time reach her in fewer messages than offers, the last listing all three.
    agents = [
        {**a, "capacity": 5}
        for a in example_agents({})
        if "support" not in a["teams"] or a["id"] == SARI
    ]
    pacing = {"per_chat_per_s": 0.5, "per_chat_burst": 1, "per_group_per_min": 6000}
    config = desk_config(agents=agents, bot={"pacing": {**pacing, "global_per_s": 1000}})
    async with agents_desk(sandbox, tmp_path, config=config) as desk:
        chats = [(await desk.handed_off(name, "internet saya mati, minta cs"))[1] for name in NAMES]
        together = await desk.agent(SARI).sees(f"🔔 #{chats[2]} · Citra", timeout=10)
        shown = text_of(together)
        assert all(f"🔔 #{chat} · {name}" in shown for chat, name in zip(chats, NAMES, strict=True))
        assert [data for _, data in actions(together)] == [f"claim:{chat}" for chat in chats]
        notices = [
            m for m in await desk.agent(SARI).shown() if from_bot(m) and text_of(m).startswith("🔔")
        ]
        assert len(notices) < len(chats) and notices[-1]["message_id"] == together["message_id"]
        claim = f"claim:{chats[1]}"
        assert await desk.agent(SARI).press(together, claim) == (
            f"#{chats[1]} is yours: I sent its context to our private chat."
        )
