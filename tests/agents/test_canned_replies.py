"""Canned replies and suggested answers, end to end: an English-speaking agent answers an
Indonesian customer in Indonesian with `!keys`, `/replies` and one-press suggestions, through
real python-telegram-bot ↔ sandbox Bot API server ↔ SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agents_app import answers
from handoff import snippets, store
from handoff.config import Config
from telegram_io import outbox
from tests.agents.test_hot_reload import save, watched_config
from tests.sandbox_support import SandboxClient
from tests.support.desk import Chat, Desk, agents_desk, buttons, desk_config, text_of


async def claimed(
    desk: Desk, name: str, text: str, language: str = "id"
) -> tuple[Chat, int, Chat, dict[str, Any]]:
    """A customer who asked for a person, and the offered agent who pressed Claim: (the
    customer's chat, the conversation, the agent's chat, the context message)."""
    customer = await desk.customer(name, language)
    await customer.says(text)
    conversation_id = await desk.conversation_of(customer.id)
    agent, context = await desk.claimed_by_the_offered_agent(conversation_id, name)
    await customer.sees("terhubung" if language == "id" else "joined")
    return customer, conversation_id, agent, context


async def transcript_rows(desk: Desk, conversation_id: int) -> list[Any]:
    async with desk.bot.engine.connect() as conn:
        rows = await conn.execute(
            select(store.messages)
            .where(store.messages.c.conversation_id == conversation_id)
            .order_by(store.messages.c.id)
        )
        return list(rows)


async def nothing_new(chat: Chat, count: int) -> None:
    """No further bot message reaches `chat` (the bot is given time to send one)."""
    await asyncio.sleep(0.5)
    assert len(await chat.bot_texts()) == count


def first_name(desk: Desk, agent: Chat) -> str:
    spec = desk.config.agent(agent.id)
    assert spec is not None
    return spec.name.split()[0]


async def test_an_english_agent_sends_indonesian_replies_with_keys_and_own_words_as_one_message(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi, conversation_id, agent, _ = await claimed(
            desk, "Budi Santoso", "internet saya mati dari pagi, minta cs"
        )
        before = len(await budi.bot_texts())

        await agent.says("!halo\nSaya lihat dulu jaringannya.\n!restart_modem")

        shown = await budi.sees("Halo Kak Budi")
        assert text_of(shown) == (
            f"Halo Kak Budi, saya {first_name(desk, agent)} dari tim Support Nusantara Net. "
            "Ada yang bisa saya bantu?\nSaya lihat dulu jaringannya.\n"
            "Silakan coba langkah ini dulu ya Kak:\n"
            "1. Matikan modem dengan tombol power, cabut adaptornya.\n"
            "2. Tunggu 2 menit, lalu pasang dan nyalakan lagi.\n"
            "3. Tunggu lampu PON dan Internet menyala hijau (sekitar 3 menit).\n"
            "Kabari saya hasilnya ya."
        )
        await nothing_new(budi, before + 1)  # one message, not three
        line = (await transcript_rows(desk, conversation_id))[-1]
        assert (line.sender, line.reply_refs, line.reply_how) == (
            "agent",
            "r:halo r:restart_modem",
            "canned",
        )
        assert line.text == text_of(shown)


async def test_the_same_key_goes_in_english_to_an_english_customer(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        john, conversation_id, agent, _ = await claimed(
            desk, "John", "my internet is down since morning, talk to an agent", "en"
        )

        await agent.says("Thanks for waiting. !teknisi")

        shown = await john.sees("Thanks for waiting.")
        assert text_of(shown) == (
            "Thanks for waiting. John, we have booked a technician visit. The technician will "
            f"call you before coming. Your report number: #{conversation_id}."
        )


async def test_an_unknown_or_mistyped_key_names_the_nearest_and_sends_nothing(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi, conversation_id, agent, _ = await claimed(desk, "Budi", "minta cs, modem merah")
        before = len(await budi.bot_texts())
        lines = len(await transcript_rows(desk, conversation_id))

        await agent.says("!halo !restat_modem")
        await agent.sees(
            "Not sent: there is no canned reply !restat_modem. Did you mean !restart_modem? "
            "/replies lists them."
        )
        await agent.says("!xyzzy")
        await agent.sees("Not sent: there is no canned reply !xyzzy. /replies lists them.")

        await nothing_new(budi, before)
        assert len(await transcript_rows(desk, conversation_id)) == lines
        await agent.says("Mohon tunggu!")  # an exclamation mark alone is no key
        await budi.sees("Mohon tunggu!")


def with_long_replies() -> Config:
    config = desk_config()
    long = {"id": "Panjang " * 300, "en": "Long " * 300}  # 2,400 and 1,500 characters
    extra = {
        "panjang": {"title": {"id": "Panjang", "en": "Long"}, "text": long},
        "panjang2": {"title": {"id": "Panjang 2", "en": "Long 2"}, "text": long},
    }
    data = config.model_dump()
    data["replies"] |= extra
    return Config.model_validate(data)


async def test_a_message_too_long_once_filled_is_refused_whole(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path, config=with_long_replies()) as desk:
        budi, _, agent, _ = await claimed(desk, "Budi", "minta cs")
        before = len(await budi.bot_texts())

        await agent.says("!panjang\n!panjang2")

        await agent.sees("Not sent: with its canned replies filled in, the message has 4")
        await agent.sees("more than Telegram's 4096. Send it in two messages.")
        await nothing_new(budi, before)
        await agent.says("!panjang")
        await budi.sees("Panjang Panjang")


async def test_suggestions_come_with_the_context_and_with_each_message_and_send_with_one_press(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi, conversation_id, agent, context = await claimed(
            desk, "Budi", "modem saya lampunya merah, internet mati, minta cs"
        )
        offered = buttons(context)
        assert ("💬 Modem restart steps", f"sg:{conversation_id}:r:restart_modem") in offered
        assert 1 <= len(offered) <= 3

        answer = await agent.press(context, f"sg:{conversation_id}:r:restart_modem")

        assert answer == f"Sent to #{conversation_id} · Budi."
        await budi.sees("Silakan coba langkah ini dulu ya Kak")
        line = (await transcript_rows(desk, conversation_id))[-1]
        assert (line.reply_refs, line.reply_how) == ("r:restart_modem", "suggested")
        again = await agent.press(context, f"sg:{conversation_id}:r:restart_modem")
        assert again == f"Already sent in #{conversation_id}."

        await budi.says("oh iya, cara bayar tagihannya gimana ya?")
        relayed = await agent.sees(f"#{conversation_id} · Budi\noh iya, cara bayar tagihannya")
        pay = ("💬 How to pay", f"sg:{conversation_id}:f:pembayaran")
        assert pay in buttons(relayed)
        assert not any(data.endswith("r:restart_modem") for _, data in buttons(relayed))

        assert await agent.press(relayed, pay[1]) == f"Sent to #{conversation_id} · Budi."
        await budi.sees("Cara bayar tagihan:")  # the FAQ answer, in Indonesian

        await budi.says("bayarnya lewat apa aja tadi?")
        relayed = await agent.sees(f"#{conversation_id} · Budi\nbayarnya lewat apa")
        assert pay not in buttons(relayed)  # sent in this chat already


async def test_replies_lists_matches_with_buttons_for_the_chat_in_focus(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi, conversation_id, agent, _ = await claimed(desk, "Budi", "minta cs")

        await agent.says("/replies nomer pelangan")
        listed = await agent.sees(f"Canned replies for #{conversation_id} · Budi")
        assert "!nomor_pelanggan · Ask for the customer number" in text_of(listed)
        data = f"cr:{conversation_id}:r:nomor_pelanggan"
        assert ("💬 Ask for the customer number", data) in buttons(listed)

        assert await agent.press(listed, data) == f"Sent to #{conversation_id} · Budi."
        await budi.sees("Boleh dibantu nomor pelanggan Kakak?")
        line = (await transcript_rows(desk, conversation_id))[-1]
        assert (line.reply_refs, line.reply_how) == ("r:nomor_pelanggan", "canned")

        await agent.says("/replies")
        everything = text_of(await agent.sees("!penutup · Closing"))
        assert everything.count("\n!") >= 10
        await agent.says("/replies qwertyuiop")
        await agent.sees("No canned reply matches “qwertyuiop”. /replies lists them all.")


async def test_replies_without_a_chat_lists_them_without_buttons(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        agus = desk.agent(1002)
        await agus.says("/replies modem")
        listed = await agus.sees("Canned replies: write !key in a message to a customer")
        assert "!restart_modem · Modem restart steps" in text_of(listed)
        assert buttons(listed) == []
        await agus.says("!halo")
        await agus.sees("Not sent: you hold no chat right now.")


async def test_answer_buttons_of_a_chat_no_longer_held_or_forged_send_nothing(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi, conversation_id, agent, context = await claimed(
            desk, "Budi", "modem lampu merah, minta cs"
        )
        other = next(a for a in (1001, 1002) if a != agent.id)
        # Data Telegram would only send from a button the bot made: the handler checks it all
        # the same (a client can send any callback data).
        for agent_id, data, expected in (
            (other, f"sg:{conversation_id}:r:restart_modem", "no longer yours: not sent."),
            (other, f"cr:{conversation_id}:r:halo", "no longer yours: not sent."),
            (agent.id, "sg:999999:r:halo", "#999999 is no longer yours: not sent."),
            (
                agent.id,
                f"sg:{conversation_id}:r:no_such",
                "That answer is no longer in the config.",
            ),
            (
                agent.id,
                f"sg:{conversation_id}:f:no_such",
                "That answer is no longer in the config.",
            ),
            (
                agent.id,
                f"sg:{conversation_id}:f:hubungi_cs",
                "That answer is no longer in the config.",
            ),
            (agent.id, "sg:12x:r:halo", "This button is no longer valid."),
            (agent.id, f"sg:{conversation_id}:r:halo:x", "This button is no longer valid."),
            (agent.id, f"sg:{conversation_id}:" + "r" * 80, "This button is no longer valid."),
        ):
            answer = await answers.on_answer_button(desk.bot.agent_desk, agent_id, data)
            assert answer.endswith(expected), (data, answer)

        await agent.says(f"/release #{conversation_id}")
        await agent.sees(f"#{conversation_id}")
        button = f"sg:{conversation_id}:r:restart_modem"
        assert await agent.press(context, button) == (
            f"#{conversation_id} is no longer yours: not sent."
        )
        await asyncio.sleep(0.5)
        assert not any("Silakan coba langkah" in t for t in await budi.bot_texts())


async def test_keys_follow_the_focus_rules_of_any_agent_message(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi, _, agent, budi_context = await claimed(desk, "Budi", "minta cs")
        ani = await desk.customer("Ani")
        await ani.says("minta cs")
        second = await desk.conversation_of(ani.id)
        assert (await desk.bot.router.claim(second, agent.id, how="force")).result == "claimed"
        await agent.sees(f"#{second} · Ani is yours now")  # the newest chat has the focus

        await agent.says("!halo", reply_to_message_id=budi_context["message_id"])
        await budi.sees("Halo Kak Budi")
        await agent.says("!cek")
        await ani.sees("Baik Kak Ani, mohon ditunggu sebentar ya")
        welcome = await agent.sees(desk.welcome(agent.id))
        await agent.says("!penutup", reply_to_message_id=welcome["message_id"])
        await agent.sees("Not sent: you hold several chats.")  # a reply to no chat: not certain

        assert not any("Halo Kak" in t for t in await ani.bot_texts())
        assert not any("Terima kasih sudah menghubungi" in t for t in await budi.bot_texts())


async def test_replies_saved_in_the_config_file_are_used_at_once_and_a_bad_one_is_refused(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    path, config, data = watched_config(tmp_path)
    async with agents_desk(sandbox, tmp_path, config=config, config_path=path) as desk:
        budi, conversation_id, agent, _ = await claimed(desk, "Budi", "minta cs")
        data["replies"]["libur"] = {
            "title": {"id": "Libur", "en": "Holiday"},
            "text": {"id": "Kantor libur, {customer}.", "en": "The office is closed, {customer}."},
            "keywords": {"id": ["libur"], "en": ["holiday"]},
        }
        del data["replies"]["cek"]
        save(path, data)
        await desk.agent(1001).sees("Config reloaded")

        await budi.says("besok kantornya libur nggak?")  # the new reply's keyword
        relayed = await agent.sees(f"#{conversation_id} · Budi\nbesok kantornya libur")
        assert ("💬 Holiday", f"sg:{conversation_id}:r:libur") in buttons(relayed)
        await agent.says("!libur")
        await budi.sees("Kantor libur, Budi.")
        await agent.says("!cek")
        await agent.sees("Not sent: there is no canned reply !cek.")

        data["replies"]["rusak"] = {"title": {"id": "Rusak"}, "text": {"id": "x", "en": "{nama}"}}
        save(path, data)
        refusal = text_of(await desk.agent(1001).sees("Not reloaded; the running config stays."))
        assert "replies.rusak.title: needs a text in each language; missing: en" in refusal
        assert "replies.rusak.text: en: unknown variable {nama}" in refusal
        await agent.says("Sekali lagi: !libur")
        await budi.sees("Sekali lagi: Kantor libur, Budi.")


async def test_an_answer_the_bot_gave_before_the_handoff_is_not_suggested_again(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi = await desk.customer("Budi")
        await budi.says("gmn cara bayar tagihan?")
        answer = await budi.sees("Apakah jawaban ini membantu?")
        await budi.press(answer, "faq_human:pembayaran")
        conversation_id = await desk.conversation_of(budi.id)
        agent, context = await desk.claimed_by_the_offered_agent(conversation_id, "Budi")

        assert "🤖 Cara bayar tagihan:" in text_of(context)  # the bot's answer, in the context
        assert not any(data.endswith("f:pembayaran") for _, data in buttons(context))
        await budi.says("cara bayarnya lewat apa aja tadi?")
        relayed = await agent.sees(f"#{conversation_id} · Budi\ncara bayarnya")
        assert not any(data.endswith("f:pembayaran") for _, data in buttons(relayed))


async def test_a_chat_handed_off_after_an_faq_answer_comes_with_the_replies_its_words_fit(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi = await desk.customer("Budi")
        await budi.says("modem saya lampunya merah terus")
        answer = await budi.sees("Apakah jawaban ini membantu?")
        await budi.press(answer, next(d for _, d in buttons(answer) if d.startswith("faq_human")))
        conversation_id = await desk.conversation_of(budi.id)
        _, context = await desk.claimed_by_the_offered_agent(conversation_id, "Budi")

        offered = [data for _, data in buttons(context)]
        assert f"sg:{conversation_id}:r:restart_modem" in offered
        assert not any(data.startswith(f"sg:{conversation_id}:f:") for data in offered)


# ---- agents' own snippets (/save, /forget, /promote) --------------------------------------------


async def test_an_agent_saves_a_message_of_their_own_and_sends_it_with_its_key(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi, conversation_id, agent, _ = await claimed(desk, "Budi", "minta cs, modem merah")
        mine = await agent.says("Teknisi kami datang besok jam 9 ya {customer}, mohon ditunggu.")
        await budi.sees("Teknisi kami datang besok jam 9 ya {customer}")  # relayed as written

        await agent.says("/save jadwal_teknisi", reply_to_message_id=mine["message_id"])
        await agent.sees("Saved as !jadwal_teknisi: only you can send it.")
        await agent.says("!jadwal_teknisi\nSampai besok!")
        shown = await budi.sees("Teknisi kami datang besok jam 9 ya Budi, mohon ditunggu.")
        assert text_of(shown).endswith("\nSampai besok!")
        line = (await transcript_rows(desk, conversation_id))[-1]
        assert (line.reply_refs, line.reply_how) == ("p:jadwal_teknisi", "canned")

        # /replies shows the agent's own first, with a button; a press sends it (once)
        await agent.says("/replies teknisi besok")
        listed = await agent.sees(f"Canned replies for #{conversation_id} · Budi")
        assert "!jadwal_teknisi · Teknisi kami datang besok jam 9 ya {cus… (yours)" in (
            text_of(listed)
        )
        # already sent in this chat: no button for it
        assert f"cr:{conversation_id}:p:jadwal_teknisi" not in [d for _, d in buttons(listed)]

        # replaced by a newer message of the same key; removed with /forget
        newer = await agent.says("Besok teknisi datang jam 10.")
        await agent.says("/save !Jadwal_Teknisi", reply_to_message_id=newer["message_id"])
        await agent.sees("Replaced your !jadwal_teknisi with this message.")
        await agent.says("/forget jadwal_teknisi")
        await agent.sees("Removed your !jadwal_teknisi.")
        await agent.says("/forget jadwal_teknisi")
        await agent.sees("You have no snippet !jadwal_teknisi.")
        before = len(await budi.bot_texts())
        await agent.says("!jadwal_teknisi")
        await agent.sees("Not sent: there is no canned reply !jadwal_teknisi.")
        await nothing_new(budi, before)


def someone_else(desk: Desk, agent: Chat, *, manager: bool) -> Chat:
    """Another agent of the config than `agent`, a manager or not."""
    spec = next(a for a in desk.config.agents if a.id != agent.id and a.manager == manager)
    return desk.agent(spec.id)


async def test_a_snippet_is_its_agents_alone(sandbox: SandboxClient, tmp_path: Path) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        _, conversation_id, agent, _ = await claimed(desk, "Budi", "minta cs")
        mine = await agent.says("Saya cek dulu ya.")
        await agent.says("/save cekdulu", reply_to_message_id=mine["message_id"])
        await agent.sees("Saved as !cekdulu")
        other = someone_else(desk, agent, manager=False)
        await other.says("/replies cek dulu")
        listed = await other.sees("Canned replies")
        assert "!cekdulu" not in text_of(listed)
        assert await snippets.of_agent(desk.bot.router.database, other.id) == {}
        # a button's data naming a snippet is read as the presser's own snippet of that key
        on_button = answers.on_answer_button
        forged = f"cr:{conversation_id}:p:cekdulu"
        assert (await on_button(desk.bot.agent_desk, other.id, forged)).endswith(
            f"#{conversation_id} is no longer yours: not sent."
        )
        theirs = await other.says("Punya saya.")
        await other.says("/save punyaku", reply_to_message_id=theirs["message_id"])
        await other.sees("Saved as !punyaku")
        pressed = f"cr:{conversation_id}:p:punyaku"
        assert await on_button(desk.bot.agent_desk, agent.id, pressed) == (
            "That answer is no longer in the config."
        )
        assert await on_button(desk.bot.agent_desk, agent.id, forged) == (
            f"Sent to #{conversation_id} · Budi."
        )


async def test_save_refuses_what_it_cannot_keep_and_keeps_nothing(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        _, conversation_id, agent, _ = await claimed(desk, "Budi", "minta cs")
        relayed = await agent.sees(f"#{conversation_id} · Budi")  # the bot's, not the agent's
        mine = await agent.says("Sebentar ya Kak.")
        with_keys = await agent.says("!halo")
        photo = await agent.sends(photo=b"\x89PNG fake", filename="modem.png")

        refusals = [
            ("/save", {}, "Write it as: reply to one of your own messages with /save key"),
            ("/save sebentar", {}, "Write it as: reply to one of your own messages"),
            ("/save a b", {"reply_to_message_id": mine["message_id"]}, "Write it as:"),
            (
                "/save budi",
                {"reply_to_message_id": relayed["message_id"]},
                "Not saved: that message is not yours.",
            ),
            (
                "/save Tunggu!",
                {"reply_to_message_id": mine["message_id"]},
                "Not saved: “tunggu!” cannot be a key",
            ),
            (
                "/save ÄÖ",
                {"reply_to_message_id": mine["message_id"]},
                "Not saved: “äö” cannot be a key",
            ),
            (
                "/save halo",
                {"reply_to_message_id": mine["message_id"]},
                "Not saved: !halo is the team's canned reply already.",
            ),
            (
                "/save salam",
                {"reply_to_message_id": with_keys["message_id"]},
                "Not saved: that message has !keys",
            ),
            (
                "/save foto",
                {"reply_to_message_id": photo["message_id"]},
                "Not saved: only a text message can be kept as a snippet.",
            ),
            ("/forget", {}, "Write it as /forget key."),
        ]
        for command, fields, answer in refusals:
            await agent.says(command, **fields)
            await agent.sees(answer)
        async with desk.bot.engine.connect() as conn:
            assert (await conn.execute(select(store.snippets))).all() == []


async def test_a_manager_promotes_a_snippet_to_the_config_and_the_team_has_it_after_reload(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    path, config, _ = watched_config(tmp_path)
    async with agents_desk(sandbox, tmp_path, config=config, config_path=path) as desk:
        budi, conversation_id, agent, _ = await claimed(desk, "Budi", "minta cs")
        mine = await agent.says("Mohon maaf {customer}, ada gangguan di area Anda.\nKode: {A7}")
        await agent.says("/save area", reply_to_message_id=mine["message_id"])
        await agent.sees("Saved as !area")
        boss = someone_else(desk, agent, manager=True)
        await boss.says(f"/promote area {desk.username(agent.id)}")
        printed = text_of(await boss.sees("as a team reply: paste this under `replies:`"))
        entry = printed.split("\n\n", 1)[1]

        # the YAML pasted under replies: is a valid reply; after the reload the team has it
        text = path.read_text()
        path.write_text(text.replace("replies:\n", f"replies:\n{entry}\n", 1))
        await desk.agent(1001).sees("Config reloaded")
        assert desk.config.replies["area"].text["en"] == (
            "Mohon maaf {customer}, ada gangguan di area Anda.\nKode: {{A7}}"
        )
        await agent.says("!area")
        await budi.sees("Mohon maaf Budi, ada gangguan di area Anda.\nKode: {A7}")
        line = (await transcript_rows(desk, conversation_id))[-1]
        assert line.reply_refs == "r:area"  # the team's now

        await boss.says("/promote nothing")
        await boss.sees("has no snippet !nothing.")
        await boss.says("/promote area @nobody")
        await boss.sees("Not an agent of the config: @nobody.")
        other = someone_else(desk, agent, manager=False)
        await other.says("/promote area")
        await other.sees("Only managers can use /promote.")


# ---- a reply's photo or document ---------------------------------------------------------------


MODEM_LIGHTS = Path(__file__).parent / "files" / "lampu-modem.png"


def with_files(tmp_path: Path) -> Config:
    """The example's replies, and two with a file: `!lampu_modem` a photo, `!panduan` a PDF."""
    guide = tmp_path / "panduan.pdf"
    guide.write_bytes(b"%PDF-1.4\n% panduan pembayaran\n")
    data = desk_config().model_dump()
    data["replies"]["lampu_modem"] = {
        "title": {"id": "Lampu modem normal (foto)", "en": "Normal modem lights (photo)"},
        "text": {
            "id": "Ini lampu modem yang normal ya Kak {customer}: POWER, PON, INTERNET dan LAN "
            "hijau, LOS mati. Boleh kirim foto lampu modem Anda?",
            "en": "These are a modem's normal lights, {customer}: POWER, PON, INTERNET and LAN "
            "green, LOS off. Could you send a photo of your modem's lights?",
        },
        "keywords": {"id": ["lampu modem", "los merah"], "en": ["modem lights", "red los"]},
        "photo": str(MODEM_LIGHTS),
    }
    data["replies"]["panduan"] = {
        "title": {"id": "Panduan bayar (PDF)", "en": "Payment guide (PDF)"},
        "text": {"id": "Panduan pembayaran terlampir.", "en": "The payment guide is attached."},
        "document": str(guide),
    }
    return Config.model_validate(data)


def file_of(message: dict[str, Any]) -> tuple[str, str] | None:
    """(photo|document, file_id) of a message's file."""
    if message.get("photo"):
        return "photo", message["photo"][-1]["file_id"]
    if message.get("document"):
        return "document", message["document"]["file_id"]
    return None


async def test_a_replys_photo_goes_with_its_text_as_caption_uploaded_once(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path, config=with_files(tmp_path)) as desk:
        budi, conversation_id, agent, _ = await claimed(desk, "Budi", "minta cs")
        await budi.says("lampu LOS merah berkedip")
        relayed = await agent.sees(f"#{conversation_id} · Budi\nlampu LOS merah")
        suggested = f"sg:{conversation_id}:r:lampu_modem"
        assert ("💬 Normal modem lights (photo)", suggested) in buttons(relayed)
        before = len(await budi.bot_texts())

        assert await agent.press(relayed, suggested) == f"Sent to #{conversation_id} · Budi."
        first = await budi.sees("Ini lampu modem yang normal ya Kak Budi: POWER, PON")
        uploaded = file_of(first)
        assert uploaded is not None and uploaded[0] == "photo"
        await nothing_new(budi, before + 1)  # one message: the photo with its caption
        line = (await transcript_rows(desk, conversation_id))[-1]
        assert (line.kind, line.reply_refs, line.reply_how) == (
            "photo",
            "r:lampu_modem",
            "suggested",
        )

        # sent again by the file_id Telegram gave it: no second upload
        await agent.says("Sekali lagi ya: !lampu_modem")
        again = await budi.sees("Sekali lagi ya: Ini lampu modem")
        assert file_of(again) == uploaded
        async with desk.bot.engine.connect() as conn:
            rows = (await conn.execute(select(outbox.uploaded_files))).all()
        assert [row.file_id for row in rows] == [uploaded[1]]

        # a restarted outbox knows it from the database
        photo = desk.config.replies["lampu_modem"].photo
        assert photo is not None
        fresh = outbox.Outbox(desk.bot.engine, desk.bot.outbox.bot)
        assert fresh.file_source(photo) == {outbox.UPLOAD: photo}
        await fresh.load()
        assert fresh.file_source(photo) == uploaded[1]


async def test_several_files_go_first_then_the_text_and_a_long_text_goes_after_its_file(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path, config=with_files(tmp_path)) as desk:
        budi, _, agent, _ = await claimed(desk, "Budi", "minta cs, modem merah")
        before = len(await budi.shown())

        await agent.says("!lampu_modem\n!panduan")
        text = await budi.sees("Panduan pembayaran terlampir.")
        shown = (await budi.shown())[before:]
        assert [file_of(m) and file_of(m)[0] for m in shown] == ["photo", "document", None]  # type: ignore[index]
        assert text_of(shown[0]) == text_of(shown[1]) == ""
        assert text_of(text).startswith("Ini lampu modem yang normal ya Kak Budi")

        long_words = "Mohon dibaca: " + "lampu modem " * 120  # over a caption's 1024
        await agent.says(f"{long_words}\n!lampu_modem")
        after = await budi.sees("Mohon dibaca: lampu modem")
        photo = (await budi.shown())[-2]
        assert file_of(photo) is not None and text_of(photo) == ""
        assert file_of(after) is None and text_of(after).endswith(
            "Boleh kirim foto lampu modem Anda?"
        )


async def test_keys_in_a_photos_caption_are_filled_and_an_unknown_one_sends_nothing(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        budi, conversation_id, agent, _ = await claimed(desk, "Budi", "minta cs, modem merah")
        before = len(await budi.shown())
        await agent.sends(photo=MODEM_LIGHTS.read_bytes(), filename="lampu.png", caption="!halo")
        shown = await budi.sees("Halo Kak Budi")
        assert file_of(shown) is not None and shown["photo"]
        assert len(await budi.shown()) == before + 1
        line = (await transcript_rows(desk, conversation_id))[-1]
        assert (line.kind, line.reply_refs, line.reply_how) == ("photo", "r:halo", "canned")

        await agent.sends(photo=MODEM_LIGHTS.read_bytes(), filename="x.png", caption="!hallo")
        await agent.sees("Not sent: there is no canned reply !hallo. Did you mean !halo?")
        await nothing_new(budi, len(await budi.bot_texts()))
        assert len(await budi.shown()) == before + 1
