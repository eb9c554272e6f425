"""The running bot reloads its config file when a manager saves it (SPEC §6), end to end:
python-telegram-bot ↔ sandbox Bot API server ↔ SQLite, the file on disk, and the bot's own clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from handoff import store
from handoff.config import Config
from tests.sandbox_support import SandboxClient
from tests.support.desk import Desk, agents_desk, desk_config

SARI, PUTU, HENDRA = 1001, 1006, 1008  # Sari and Hendra are managers; Putu and Hendra do billing
WRONG_BILL = "tagihan saya salah, minta cs"
TUESDAY_1730_WIB = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)  # office and its shift end at 17:00


def save(path: Path, data: dict[str, Any]) -> str:
    """Write the config as a manager's editor would; the text written."""
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    path.write_text(text)
    return text


async def offered_to(desk: Desk, conversation_id: int, timeout: float = 5.0) -> int:
    """The agent the conversation is offered to, once it is offered to someone."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with desk.bot.engine.connect() as conn:
            offer = await conn.run_sync(store.pending_offer, conversation_id)
        if offer is not None:
            return int(offer.agent_id)
        assert asyncio.get_running_loop().time() < deadline, f"#{conversation_id} was not offered"
        await asyncio.sleep(0.02)


def watched_config(directory: Path) -> tuple[Path, Config, dict[str, Any]]:
    """The desk's config saved in `directory` as the file the bot watches (a save is acted on
    0.05 s after it settles): its path, the config, and its data to edit and save again."""
    path = directory / "frontdoor.yaml"
    config = desk_config(bot={"config_check_every": 0.05})
    data = config.model_dump(mode="json")
    save(path, data)
    return path, config, data


async def told_twice(desk: Desk, agent_id: int, fragment: str) -> None:
    deadline = asyncio.get_running_loop().time() + 5
    while sum(fragment in text for text in await desk.agent(agent_id).bot_texts()) < 2:
        assert asyncio.get_running_loop().time() < deadline, f"not told {fragment!r} twice"
        await asyncio.sleep(0.02)


async def test_a_saved_schedule_is_used_by_the_next_handoff_and_a_broken_one_is_refused(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    path, config, data = watched_config(tmp_path)
    async with agents_desk(
        sandbox, tmp_path, config=config, config_path=path, start=TUESDAY_1730_WIB
    ) as desk:
        cici, held = await desk.handed_off("Cici", WRONG_BILL)
        await cici.sees("Tim Billing sedang tutup")
        assert (await desk.stored(held)).not_before == datetime(
            2026, 11, 25, 1, 0, tzinfo=UTC
        )  # 08:00

        # The manager keeps billing open until 20:00 today, and its office shift with it.
        data["schedules"]["office"]["hours"]["tue"] = ["08:00-12:00", "13:00-20:00"]
        data["schedules"]["shift_kantor"]["hours"]["tue"] = ["08:00-20:00"]
        save(path, data)

        for manager in (SARI, HENDRA):
            await desk.agent(manager).sees("The config file changed. Config reloaded: 4 teams")
        assert await offered_to(desk, held) in (PUTU, HENDRA)  # the held chat goes out at once
        dedi, fresh = await desk.handed_off("Dedi", WRONG_BILL)
        await dedi.sees("Baik, saya sambungkan ke tim Billing")
        assert await offered_to(desk, fresh) in (PUTU, HENDRA)
        assert (await desk.stored(fresh)).not_before is None

        # A broken edit: the managers hear why, and routing goes on with the config in force.
        data["agents"][1]["capacity"] = 0
        text = save(path, data)
        line = next(n for n, row in enumerate(text.splitlines(), 1) if "capacity: 0" in row)
        refusal = await desk.agent(SARI).sees("Not reloaded; the running config stays.")
        assert f"frontdoor.yaml:{line} agents[1].capacity" in refusal["text"]
        await desk.agent(HENDRA).sees("Not reloaded; the running config stays.")
        assert desk.config.agent(1002).capacity == 3  # type: ignore[union-attr]
        eka, third = await desk.handed_off("Eka", WRONG_BILL)
        await eka.sees("Baik, saya sambungkan ke tim Billing")
        assert await offered_to(desk, third) in (PUTU, HENDRA)

        # Closing billing again holds the next chat for tomorrow's opening.
        data["agents"][1]["capacity"] = 3
        data["schedules"]["office"]["hours"]["tue"] = ["08:00-12:00", "13:00-17:00"]
        save(path, data)
        await told_twice(desk, SARI, "The config file changed. Config reloaded")
        fajar, late = await desk.handed_off("Fajar", WRONG_BILL)
        await fajar.sees("Tim Billing sedang tutup")
        assert (await desk.stored(late)).not_before == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
