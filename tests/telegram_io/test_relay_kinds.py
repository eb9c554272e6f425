"""Voice notes, stickers and locations reach the customer's agent, marked with the conversation.

End to end: real python-telegram-bot ↔ sandbox Bot API server ↔ SQLite, as in
test_customer_conversations.py, whose `claimed_chat` gives a customer with an agent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from frontdoor.bootstrap import Frontdoor
from tests.bot.test_customer_conversations import claimed_chat
from tests.sandbox_support import SandboxClient
from tests.support.frontdoor import running_frontdoor


@pytest.fixture
async def frontdoor(sandbox: SandboxClient, tmp_path: Path) -> AsyncIterator[Frontdoor]:
    await sandbox.set_limits(enabled=False)
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        yield bot


async def test_a_voice_note_reaches_the_agent_with_the_mark_in_its_caption(
    sandbox: SandboxClient, frontdoor: Frontdoor
) -> None:
    ani, conversation_id, agent_id = await claimed_chat(sandbox, frontdoor, "Ani")

    await sandbox.send(ani.id, voice=b"OggS modem bunyi", duration=3, caption="bunyinya begini")

    shown = await sandbox.wait_for(agent_id, lambda m: "voice" in m)
    assert shown["from"]["is_bot"] and shown["voice"]["duration"] == 3
    assert shown["caption"] == f"#{conversation_id} · Ani\nbunyinya begini"


async def test_a_sticker_and_a_location_follow_the_mark_they_cannot_carry(
    sandbox: SandboxClient, frontdoor: Frontdoor
) -> None:
    ani, conversation_id, agent_id = await claimed_chat(sandbox, frontdoor, "Ani")

    await sandbox.send(ani.id, sticker={"emoji": "🙏"})
    await sandbox.send(ani.id, location=(-6.2, 106.8))

    await sandbox.wait_for(agent_id, lambda m: "location" in m)
    shown = await sandbox.messages(agent_id)
    sticker = next(i for i, m in enumerate(shown) if "sticker" in m)
    location = next(i for i, m in enumerate(shown) if "location" in m)
    mark = f"#{conversation_id} · Ani"
    assert shown[sticker - 1]["text"] == mark and shown[location - 1]["text"] == mark
    assert shown[sticker]["sticker"]["emoji"] == "🙏" and "caption" not in shown[sticker]
    assert shown[location]["location"] == {"latitude": -6.2, "longitude": 106.8}
    assert sticker < location
