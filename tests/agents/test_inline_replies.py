"""Telegram's inline mode for agents, end to end: `@bot words` in an agent's chat with the bot
lists the replies that match; the one chosen is sent to the customer in their language, through
real python-telegram-bot ↔ sandbox Bot API server ↔ SQLite."""

from __future__ import annotations

from pathlib import Path

from tests.agents.test_canned_replies import claimed, nothing_new, transcript_rows
from tests.sandbox_support import SandboxClient
from tests.support.desk import GROUP_ID, agents_desk, text_of


async def test_an_agent_finds_a_reply_inline_and_the_customer_gets_it_in_their_language(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi, conversation_id, agent, _ = await claimed(desk, "Budi", "internet mati, minta cs")
        mine = await agent.says("Sebentar saya cek.")
        await agent.says("/save sebentar", reply_to_message_id=mine["message_id"])
        await agent.sees("Saved as !sebentar")

        query = await sandbox.inline_query(agent.id, "modem restrat")  # a typo too
        answer = await sandbox.inline_answer(query)
        assert answer["is_personal"] is True and answer["cache_time"] == 0
        first = answer["results"][0]
        assert first["id"] == "r:restart_modem"
        assert first["title"] == "!restart_modem · Modem restart steps"  # the agent's language
        assert first["description"].startswith("Please try these steps first:")
        assert first["input_message_content"]["message_text"] == "!restart_modem"

        before = len(await budi.bot_texts())
        chosen = await sandbox.choose_inline(agent.id, query, "r:restart_modem")
        assert chosen["message"]["via_bot"]["is_bot"] is True
        steps = await budi.sees("Silakan coba langkah ini dulu ya Kak:")
        assert "Matikan modem" in text_of(steps)
        await nothing_new(budi, before + 1)
        line = (await transcript_rows(desk, conversation_id))[-1]
        assert (line.reply_refs, line.reply_how) == ("r:restart_modem", "canned")

        # the agent's own snippets are listed too, first and marked
        query = await sandbox.inline_query(agent.id, "sebentar")
        results = (await sandbox.inline_answer(query))["results"]
        assert results[0]["id"] == "p:sebentar"
        assert results[0]["title"] == "!sebentar · Sebentar saya cek. (yours)"
        await sandbox.choose_inline(agent.id, query, "p:sebentar")
        await budi.sees("Sebentar saya cek.")


async def test_an_empty_query_lists_every_reply_a_page_at_a_time(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        agus = desk.agent(1002)
        for i in range(12):  # 12 snippets and the example's 13 replies: two pages
            mine = await agus.says(f"Catatan nomor {i}")
            await agus.says(f"/save c{i:02}", reply_to_message_id=mine["message_id"])
            await agus.sees(f"Saved as !c{i:02}")

        first = await sandbox.inline_answer(await sandbox.inline_query(agus.id, ""))
        assert len(first["results"]) == 20 and first["next_offset"] == "20"
        second = await sandbox.inline_answer(await sandbox.inline_query(agus.id, "", offset="20"))
        assert len(second["results"]) == 25 - 20 and second["next_offset"] == ""
        ids = [r["id"] for r in first["results"] + second["results"]]
        assert len(set(ids)) == 25 and ids[:2] == ["p:c00", "p:c01"]
        # an offset a client made up starts again from the top
        forged = await sandbox.inline_answer(await sandbox.inline_query(agus.id, "", offset="x9"))
        assert [r["id"] for r in forged["results"]] == ids[:20]


async def test_customers_get_nothing_and_an_agent_elsewhere_gets_a_way_to_their_chat(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi = await desk.customer("Budi")
        answer = await sandbox.inline_answer(await sandbox.inline_query(budi.id, "modem"))
        assert answer["results"] == [] and "button" not in answer

        agus = desk.agent(1002)
        in_group = await sandbox.inline_query(agus.id, "modem", chat_id=GROUP_ID)
        answer = await sandbox.inline_answer(in_group)
        assert answer["results"] == []
        assert answer["button"] == {
            "text": "Canned replies: type @ and my name in your chat with me",
            "start_parameter": "replies",
        }
