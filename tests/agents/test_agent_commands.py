"""Agent and manager commands, who may use them, and where agents' messages go (SPEC §5), end to
end: python-telegram-bot ↔ sandbox Bot API server ↔ SQLite, through the control API only."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml
from telegram import BotCommandScope, BotCommandScopeAllPrivateChats, BotCommandScopeChat

from agents_app.commands import COMMANDS
from handoff.config import Config
from handoff.config_loader import load_config
from telegram_io.texts import say
from tests.sandbox_support import SandboxClient
from tests.support.desk import (
    GROUP_ID,
    Chat,
    Desk,
    agents_desk,
    card_section,
    desk_config,
    from_bot,
    text_of,
)
from tests.support.frontdoor import EXAMPLE, running_frontdoor

SARI, AGUS, HENDRA = 1001, 1002, 1008  # Sari and Hendra are managers; Agus is not
DIDNT_UNDERSTAND = "Sorry, I didn't understand that."


# ---- helpers ----------------------------------------------------------------------------


async def answer_to(chat: Chat, text: str, **fields: Any) -> str:
    """Write in a chat; the bot's first message there after it."""
    shown = await chat.shown()
    mark = shown[-1]["message_id"] if shown else 0
    await chat.says(text, **fields)
    answer = await chat.sandbox.wait_for(
        chat.id, lambda m: from_bot(m) and m["message_id"] > mark, timeout=5
    )
    return text_of(answer)


async def outbox_empty(desk: Desk) -> None:
    """Everything the bot queued is sent and its message ids recorded."""
    deadline = asyncio.get_running_loop().time() + 5
    while await desk.bot.outbox.pending():
        assert asyncio.get_running_loop().time() < deadline, "the outbox did not empty"
        await asyncio.sleep(0.02)


async def offered_agent(desk: Desk, conversation_id: int) -> int:
    """Sari or Agus, whoever the conversation's card shows it offered to."""
    card = await desk.card(conversation_id, "offered to @")
    return SARI if "@sari_nusanet" in card_section(text_of(card), conversation_id) else AGUS


async def state_of(desk: Desk, customer_id: int) -> tuple[str | None, int | None]:
    """(state, agent) of the customer's latest conversation."""
    _, conversation = await desk.bot.router.customer_status(customer_id)
    return (conversation.state, conversation.agent_id) if conversation else (None, None)


def agents_of_example(*ids: int) -> list[dict[str, Any]]:
    return [a.model_dump() for a in load_config(EXAMPLE).agents if a.id in ids]


@contextlib.asynccontextmanager
async def desk_with_users_first(
    sandbox: SandboxClient,
    directory: Path,
    *,
    config: Config,
    started: list[int],
    members: tuple[str, ...] = (),
) -> AsyncIterator[tuple[Desk, list[Chat]]]:
    """Like `agents_desk`, but every agent (and each of `members`, who are no agents) is a
    sandbox user in the agents group BEFORE the bot starts, and those in `started` have pressed
    Start already, so the bot's startup probe finds exactly the others unreachable."""
    await sandbox.set_limits(enabled=False)
    agents: dict[int, Chat] = {}
    for spec in config.agents:
        user = await sandbox.add_user(spec.name.split()[0], id=spec.id, username=spec.username)
        agents[spec.id] = Chat(sandbox, user)
    others = [Chat(sandbox, await sandbox.add_user(name)) for name in members]
    await sandbox.add_group("Agents", [*agents, *(o.id for o in others)], id=GROUP_ID)
    for agent_id in started:
        await agents[agent_id].says("/start")
    async with running_frontdoor(sandbox.base_url, directory, config=config) as bot:
        desk = Desk(sandbox, bot)
        desk.agents = agents
        for agent_id in started:
            await agents[agent_id].sees("set up as an agent")
        yield desk, others


# ---- who may do what ----------------------------------------------------------------------


async def test_a_non_agent_in_the_group_cannot_claim_or_use_agent_commands(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    everyone = [a.id for a in desk_config().agents]
    async with desk_with_users_first(
        sandbox, tmp_path, config=desk_config(), started=everyone, members=("Eko",)
    ) as (desk, [eko]):
        ani, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        card = await desk.card(conversation_id, "offered to @")
        await desk.cards_settled()

        pressed = await sandbox.press(
            eko.id, GROUP_ID, card["message_id"], f"claim:{conversation_id}"
        )
        answer = await sandbox.callback_answer(pressed["callback_query"]["id"])

        assert answer.get("text") == "Only the agents in the config can claim chats."
        await desk.in_group(eko.id, f"/take #{conversation_id}")
        await sandbox.wait_for(
            GROUP_ID,
            lambda m: text_of(m) == "Only the agents in the config can use these commands.",
        )
        await desk.cards_settled()
        assert await state_of(desk, ani.id) == ("offered", None)
        shown = await desk.card(conversation_id)
        assert "offered to @" in card_section(text_of(shown), conversation_id)


async def test_agent_commands_typed_by_a_customer_are_not_understood_and_change_nothing(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        ani, conversation_id = await desk.handed_off(
            "Ani", "internet saya mati, minta cs", language="en"
        )
        agent = await offered_agent(desk, conversation_id)
        await desk.agent(agent).says(f"/take #{conversation_id}")
        await desk.agent(agent).sees(f"#{conversation_id} · Ani is yours now")
        await ani.sees("has joined")

        for command in (f"/take #{conversation_id}", "/close", "/agents", "/reload"):
            assert (await answer_to(ani, command)).startswith(DIDNT_UNDERSTAND)

        await outbox_empty(desk)
        assert await state_of(desk, ani.id) == ("assigned", agent)
        told_agent = await desk.agent(agent).bot_texts()
        assert not any(
            "closed" in t or t.startswith(f"#{conversation_id} · Ani\n/") for t in told_agent
        )
        assert not any(t.startswith("Agents:") for t in await ani.bot_texts())


async def test_a_non_manager_is_refused_the_manager_commands(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        ani, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        agus = desk.agent(AGUS)
        before = await state_of(desk, ani.id)

        for command in (f"/assign #{conversation_id} @agus_cs", "/agents", "/stats", "/reload"):
            name = command.split()[0]
            assert await answer_to(agus, command) == f"Only managers can use {name}."
        await desk.in_group(AGUS, "/stats")
        await sandbox.wait_for(GROUP_ID, lambda m: text_of(m) == "Only managers can use /stats.")

        assert await state_of(desk, ani.id) == before
        assert before[0] in ("queued", "offered")
        assert len(desk.config.agents) == 8


# ---- routing trail and reload ---------------------------------------------------------------


async def test_why_prints_the_routing_trail(sandbox: SandboxClient, tmp_path: Path) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        _, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        agent = await offered_agent(desk, conversation_id)
        await desk.cards_settled()
        assert (await desk.press_claim(agent, conversation_id)).startswith(
            f"#{conversation_id} is yours"
        )
        await desk.agent(agent).sees(f"#{conversation_id} · Ani is yours now")
        name = desk.config.agent(agent).name  # type: ignore[union-attr]
        other = desk.agent(AGUS if agent == SARI else SARI)  # any agent may ask

        trail = (await answer_to(other, f"/why #{conversation_id}")).splitlines()

        assert trail[0] == f"Routing of #{conversation_id}:"
        assert trail[1] == (
            "10:00:00 classify: intent gangguan → team support; intent boost +2; priority 2, "
            "existing customer"  # a first chat about an outage: a customer, not a lead
        )
        assert trail[2] == "10:00:00 time: Support open"  # the kind is not said twice
        assert re.fullmatch(
            rf"10:00:00 offer: round robin: {name} longest idle \(never routed\), "
            r"load 0/\d → offered 60 s",
            trail[3],
        ), trail
        assert trail[4] == f"10:00:00 assign: claimed by {name}"
        assert len(trail) == 5
        assert await answer_to(other, "/why") == "Write it as /why #12."
        assert await answer_to(other, "/why #999") == "There is no chat #999."


async def test_stats_says_the_dashboards_numbers_for_today(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        ani, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        agent = await offered_agent(desk, conversation_id)
        await desk.cards_settled()
        desk.advance(30)
        await desk.press_claim(agent, conversation_id)
        await desk.agent(agent).sees(f"#{conversation_id} · Ani is yours now")
        desk.advance(90)
        await desk.agent(agent).says("Halo Ani, saya cek ya")
        await ani.sees("saya cek ya")
        desk.advance(60)
        await desk.agent(agent).says("/close")
        rating = await ani.sees("Seberapa puas")
        await ani.press(rating, f"csat:{conversation_id}:4")
        await ani.sees("Ada saran atau komentar?")

        stats = (await answer_to(desk.agent(SARI), "/stats")).splitlines()

    assert stats == [
        "Today since 00:00 WIB: 1 chats, 1 closed, 0 waiting now",
        "Wait p50 0:30, p90 0:30",
        "First response p50 2:00; handle time 2:30",
        "FCR 100%; CSAT 4.0 (1 ratings, 100% happy)",
    ]


def write_config(path: Path, data: dict[str, Any]) -> int | None:
    """Write a config as YAML; the line of the first `capacity: 0` if any (for errors)."""
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    path.write_text(text)
    found = [n for n, line in enumerate(text.splitlines(), 1) if "capacity: 0" in line]
    return found[0] if found else None


async def test_reload_takes_a_valid_file_and_refuses_a_broken_one(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    path = tmp_path / "frontdoor.yaml"
    config = desk_config()
    data = config.model_dump(mode="json")
    write_config(path, data)
    async with agents_desk(sandbox, tmp_path, config=config, config_path=path) as desk:
        sari = desk.agent(SARI)
        data["teams"]["support"]["name"] = "Tech Support"
        data["agents"].append(
            {
                "id": 1009,
                "name": "Wayan Sudarma",
                "username": "wayan_cs",
                "teams": ["support"],
                "capacity": 2,
                "shift": "shift_pagi",
            }
        )
        write_config(path, data)

        assert await answer_to(sari, "/reload") == (
            f"Config reloaded: 4 teams, 9 agents, {len(config.intents)} intents."
        )

        wayan = Chat(sandbox, await sandbox.add_user("Wayan", id=1009, username="wayan_cs"))
        assert (await answer_to(wayan, "/start")).startswith("Hello! You are set up as an agent.")
        assert "Wayan Sudarma: available, on shift, 0/2 chats" in await answer_to(sari, "/agents")
        _, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        assert "Tech Support" in card_section(
            text_of(await desk.card(conversation_id)), conversation_id
        )

        data["agents"][1]["capacity"] = 0
        line = write_config(path, data)
        answer = await answer_to(sari, "/reload")

        assert answer.startswith("Not reloaded; the running config stays.")
        assert f"frontdoor.yaml:{line} agents[1].capacity" in answer, answer
        assert desk.config.agent(AGUS).capacity == 3  # type: ignore[union-attr]
        assert len(desk.config.agents) == 9
        assert desk.config.teams["support"].name == "Tech Support"
        assert (await answer_to(wayan, "/status")).startswith("Wayan Sudarma: available")


# ---- the everyday commands -----------------------------------------------------------------


async def test_status_commands_change_who_gets_chats_and_say_so(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    config = desk_config(agents=agents_of_example(SARI, AGUS))
    async with agents_desk(sandbox, tmp_path, config=config) as desk:
        sari = desk.agent(SARI)
        assert await answer_to(sari, "/status") == "Sari Wulandari: available, on shift, 0/4 chats."
        assert await answer_to(sari, "/mine") == "You hold no chat right now."
        assert await answer_to(sari, "/queue") == "Nobody is waiting."
        assert await answer_to(sari, "/away") == "Sari Wulandari: away."
        assert await answer_to(sari, "/status") == "Sari Wulandari: away, on shift, 0/4 chats."

        _, first = await desk.handed_off("Ani", "internet saya mati, minta cs")
        await desk.card(first, "offered to @agus_cs")  # Sari is away: not her

        assert await answer_to(sari, "/off") == "Sari Wulandari: offline."
        assert await answer_to(sari, "/on") == "Sari Wulandari: available."
        _, second = await desk.handed_off("Budi", "internet saya mati, minta cs")
        await desk.card(second, "offered to @sari_nusanet")  # back: the longest idle


async def test_chat_commands_list_note_show_and_switch(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        ani, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        agent = await offered_agent(desk, conversation_id)
        chat = desk.agent(agent)
        spec = desk.config.agent(agent)
        assert spec is not None
        queue = await answer_to(chat, "/queue")
        assert queue.splitlines() == [
            "1 waiting:",
            f"#{conversation_id} · Support · P2 · 0 min · Ani → @{spec.username}",
        ]

        await chat.says(f"/take #{conversation_id}")
        await chat.sees(f"#{conversation_id} is yours: I sent its context to our private chat.")
        await chat.sees(f"#{conversation_id} · Ani is yours now")
        assert await answer_to(chat, "/mine") == (
            f"Your chats:\n#{conversation_id} · Ani · gangguan ← you are writing here"
        )
        assert await answer_to(chat, "/note modem ZTE, serial 123") == (
            f"Noted on #{conversation_id} (the customer does not see notes)."
        )
        history = await answer_to(chat, "/history")
        assert history.startswith(f"#{conversation_id} · Ani · assigned")
        assert (
            "👤 internet saya mati, minta cs" in history and "📝 modem ZTE, serial 123" in history
        )
        assert await answer_to(chat, f"/switch #{conversation_id}") == (
            f"Your messages go to #{conversation_id} now."
        )
        assert await answer_to(chat, "/status") == (
            f"{spec.name}: available, on shift, 1/{spec.capacity} chats, writing to "
            f"#{conversation_id}."
        )
        await outbox_empty(desk)
        assert not any("modem ZTE" in t for t in await ani.bot_texts())


async def test_bad_command_input_gets_a_clear_answer_and_changes_nothing(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        ani, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        agent = await offered_agent(desk, conversation_id)
        chat = desk.agent(agent)
        before = await state_of(desk, ani.id)

        answers = {
            command: await answer_to(chat, command)
            for command in (
                "/switch abc",
                "/switch #999",
                f"/transfer #{conversation_id}",
                "/take",
                "/take abc",
                "/take #999",
                "/close",
                "/history #abc",
            )
        }

        assert answers == {
            "/switch abc": "Write it as /switch #12.",
            "/switch #999": "There is no open chat #999.",
            f"/transfer #{conversation_id}": (
                "Write it as /transfer #12 @agent or /transfer #12 billing."
            ),
            "/take": "Write it as /take #12.",
            "/take abc": "Write it as /take #12.",
            "/take #999": "There is no chat #999.",
            "/close": "You hold no chat right now.",
            "/history #abc": "Write it as /history #12.",
        }
        await outbox_empty(desk)
        assert await state_of(desk, ani.id) == before == ("offered", None)
        shown = await desk.card(conversation_id)
        assert "offered to @" in card_section(text_of(shown), conversation_id)


# ---- command menus -------------------------------------------------------------------------


async def test_command_menus_are_set_for_customers_the_group_and_each_agent(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    english = load_config(EXAMPLE)
    agent_menu = [
        (c.name, say(english, "en", f"command_{c.name}")) for c in COMMANDS if not c.managers_only
    ]
    manager_menu = [(c.name, say(english, "en", f"command_{c.name}")) for c in COMMANDS]
    assert {"agents", "stats", "assign", "reload", "promote"} == {n for n, _ in manager_menu} - {
        n for n, _ in agent_menu
    }
    customers_en = [
        ("start", "start over: greeting and menu"),
        ("human", "talk to a person"),
        ("cancel", "leave the queue or end the chat"),
        ("language", "Bahasa Indonesia / English"),
        ("skip", "no comment after a rating"),
    ]
    customers_id = [
        ("start", "mulai lagi: salam dan menu"),
        ("human", "bicara dengan petugas"),
        ("cancel", "keluar dari antrean atau akhiri chat"),
        ("language", "Bahasa Indonesia / English"),
        ("skip", "tanpa komentar setelah penilaian"),
    ]
    everyone = BotCommandScopeAllPrivateChats()
    expected: dict[str, tuple[BotCommandScope, str | None, list[tuple[str, str]]]] = {
        "private chats": (everyone, None, customers_id),  # the default language's
        "private chats, id": (everyone, "id", customers_id),
        "private chats, en": (everyone, "en", customers_en),
        "agents group": (BotCommandScopeChat(GROUP_ID), None, agent_menu),
        "Agus (agent)": (BotCommandScopeChat(AGUS), None, agent_menu),
        "Sari (manager)": (BotCommandScopeChat(SARI), None, manager_menu),
        "Hendra (manager)": (BotCommandScopeChat(HENDRA), None, manager_menu),
    }
    async with agents_desk(sandbox, tmp_path), sandbox.bot() as bot:

        async def menus() -> dict[str, list[tuple[str, str]]]:
            return {
                who: [
                    (c.command, c.description)
                    for c in await bot.get_my_commands(scope=scope, language_code=language)
                ]
                for who, (scope, language, _) in expected.items()
            }

        wanted = {who: menu for who, (_, _, menu) in expected.items()}
        deadline = asyncio.get_running_loop().time() + 5
        while (got := await menus()) != wanted and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)

        assert got["private chats"] == wanted["private chats"]
        assert {"human", "cancel"} <= {name for name, _ in got["private chats"]}
        names = {who: " ".join(name for name, _ in menu) for who, menu in got.items()}
        assert names == {who: " ".join(name for name, _ in menu) for who, menu in wanted.items()}
        assert got == wanted


# ---- agents the bot cannot message -------------------------------------------------------------


async def test_an_agent_who_never_pressed_start_gets_no_chats_until_they_do(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    config = desk_config(agents=agents_of_example(SARI, AGUS))
    async with desk_with_users_first(sandbox, tmp_path, config=config, started=[AGUS]) as (
        desk,
        _,
    ):
        told = await sandbox.wait_for(
            GROUP_ID, lambda m: "I cannot message @sari_nusanet privately" in text_of(m), 5
        )
        assert "@sari_nusanet: open t.me/" in text_of(told) and "press Start" in text_of(told)

        # Sari, never routed, would be first in line; she is skipped for both.
        _, first = await desk.handed_off("Ani", "internet saya mati, minta cs")
        await desk.card(first, "offered to @agus_cs")
        _, second = await desk.handed_off("Budi", "internet saya mati, minta cs")
        await desk.card(second, "offered to @agus_cs")

        sari = desk.agent(SARI)
        assert (await answer_to(sari, "/start")).startswith("Hello! You are set up as an agent.")
        await sandbox.wait_for(
            GROUP_ID, lambda m: text_of(m) == "✅ @sari_nusanet can get chats again.", 5
        )
        _, third = await desk.handed_off("Citra", "internet saya mati, minta cs")
        await desk.card(third, "offered to @sari_nusanet")


# ---- where an agent's messages go ----------------------------------------------------------


async def test_a_reply_names_its_chat_and_a_message_never_goes_on_a_guess(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    config = desk_config(agents=agents_of_example(SARI, AGUS), claim="anyone")
    async with agents_desk(sandbox, tmp_path, config=config) as desk:
        sari = desk.agent(SARI)
        assert await answer_to(sari, "halo?") == "Not sent: you hold no chat right now."

        ani, a = await desk.handed_off("Ani", "/human", language="en")
        budi, b = await desk.handed_off("Budi", "/human", language="en")
        for conversation_id, name in ((a, "Ani"), (b, "Budi")):
            await sari.says(f"/take #{conversation_id}")
            await sari.sees(f"#{conversation_id} · {name} is yours now")
        await ani.says("is anyone there?")
        from_ani = await sari.sees(f"#{a} · Ani\nis anyone there?")
        await outbox_empty(desk)  # an agent replies at human speed

        await sari.says("yes Ani, I am here", reply_to_message_id=from_ani["message_id"])
        await sari.says("hello Budi")  # no reply: Budi, the last claimed, has the focus

        await ani.sees("yes Ani, I am here")
        await budi.sees("hello Budi")

        await ani.says("/cancel")
        await sandbox.wait_for(
            SARI, lambda m: text_of(m).startswith(f"#{a} · Ani") and "/cancel" in text_of(m)
        )
        assert await answer_to(sari, "too late?", reply_to_message_id=from_ani["message_id"]) == (
            f"Not sent: #{a} is no longer yours (closed or moved). /mine lists the chats you hold."
        )

        await outbox_empty(desk)
        agent_texts = {"yes Ani, I am here", "hello Budi", "too late?", "halo?"}
        assert [t for t in await ani.bot_texts() if t in agent_texts] == ["yes Ani, I am here"]
        assert [t for t in await budi.bot_texts() if t in agent_texts] == ["hello Budi"]


# ---- languages ----------------------------------------------------------------------------


async def test_each_agent_hears_the_bot_in_their_own_language(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    agents = agents_of_example(SARI, AGUS)
    for spec in agents:
        if spec["id"] == SARI:
            spec["language"] = "id"
    config = desk_config(agents=agents)
    async with agents_desk(sandbox, tmp_path, config=config) as desk:
        sari, agus = desk.agent(SARI), desk.agent(AGUS)
        assert await answer_to(sari, "/status") == (
            "Sari Wulandari: tersedia, dalam shift, 0/4 chat."
        )
        assert await answer_to(sari, "/mine") == "Anda sedang tidak memegang chat."
        assert await answer_to(sari, "/take abc") == "Tulis seperti ini: /take #12."
        assert await answer_to(agus, "/mine") == "You hold no chat right now."
        assert (await answer_to(sari, "/help")).startswith("Perintah:\n/on siap menerima chat")
        _, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        await desk.card(conversation_id, "offered to @")  # the group speaks the agents' language


async def test_the_agents_language_is_the_groups_and_a_managers_wording_wins(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    config = desk_config(agents=agents_of_example(SARI, AGUS), bot={"agents_language": "id"})
    data = config.model_dump()
    data["messages"]["id"]["nobody_waiting"] = "Antrean kosong."
    config = Config.model_validate(data)
    async with agents_desk(sandbox, tmp_path, config=config) as desk:
        agus = desk.agent(AGUS)
        assert await answer_to(agus, "/queue") == "Antrean kosong."
        assert await answer_to(agus, "/mine") == "Anda sedang tidak memegang chat."
        _, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        await desk.card(conversation_id, "ditawarkan ke @")


# ---- corrections that teach the bot -------------------------------------------------------


async def test_an_agents_intent_correction_files_the_chat_and_teaches_the_bot_once_closed(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    phrase = "modem saya bunyi tit tit terus dari semalam, minta cs"
    async with agents_desk(sandbox, tmp_path) as desk:
        _, conversation_id = await desk.handed_off("Ani", phrase)
        agus = desk.agent(AGUS)
        before = desk.bot.desk.reader.model.probabilities(phrase)["gangguan"]

        assert await answer_to(agus, "/intent") == "Write it as /intent #12 tagihan."
        assert await answer_to(agus, f"/intent #{conversation_id}") == (
            "Write it as /intent #12 tagihan."
        )
        unknown = await answer_to(agus, f"/intent #{conversation_id} modem_bunyi")
        assert unknown.startswith("There is no intent modem_bunyi. The intents: akun, berhenti")
        assert await answer_to(agus, "/intent #999 gangguan") == "There is no chat #999."
        assert await desk.bot.router.learned_examples() == []

        answer = await answer_to(agus, f"/intent #{conversation_id} GANGGUAN")

        assert answer.startswith(f"#{conversation_id} is filed under gangguan now.")
        assert (await desk.stored(conversation_id)).intent == "gangguan"
        assert await desk.bot.router.learned_examples() == []  # not while the chat is open
        await desk.bot.router.close(conversation_id)
        assert await desk.bot.router.learned_examples() == [(phrase, "gangguan")]
        await desk.bot.desk.reload()
        after = desk.bot.desk.reader.model.probabilities(phrase)["gangguan"]
        assert after > before


async def test_close_and_release_given_in_reply_act_on_that_message_s_chat(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    config = desk_config(agents=agents_of_example(SARI, AGUS), claim="anyone")
    async with agents_desk(sandbox, tmp_path, config=config) as desk:
        sari = desk.agent(SARI)
        ani, a = await desk.handed_off("Ani", "/human", language="en")
        _, b = await desk.handed_off("Budi", "/human", language="en")
        for conversation_id, name in ((a, "Ani"), (b, "Budi")):
            await sari.says(f"/take #{conversation_id}")
            await sari.sees(f"#{conversation_id} · {name} is yours now")
        await ani.says("thanks, that is all")
        from_ani = await sari.sees(f"#{a} · Ani\nthanks, that is all")

        # Budi, the last claimed, has the focus; the reply says Ani's chat.
        await sari.says("/close", reply_to_message_id=from_ani["message_id"])
        await sari.sees(f"#{a} closed")
        assert (await desk.stored(a)).state == "closed"
        assert (await desk.stored(b)).state == "assigned"
        # A reply to a chat no longer held is refused with the reason; nothing changes.
        answer = await answer_to(sari, "/release", reply_to_message_id=from_ani["message_id"])
        assert answer == f"#{a} is not yours."
        assert (await desk.stored(b)).state == "assigned"
