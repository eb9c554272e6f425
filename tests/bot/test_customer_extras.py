"""Around the conversation: deep-link lead sources, the language switch, spam throttling, and the
CRM lookup (a CRM that is slow, down or talks nonsense never blocks the handoff)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from handoff.tables import Customer
from tests.sandbox_support import SandboxClient, serving
from tests.support.frontdoor import example_config, running_frontdoor
from tests.support.routing import conversation


def bot_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("text") or "" for m in messages if m["from"]["is_bot"]]


async def shows(sandbox: SandboxClient, chat_id: int, fragment: str, timeout: float = 5) -> Any:
    return await sandbox.wait_for(
        chat_id, lambda m: m["from"]["is_bot"] and fragment in (m.get("text") or ""), timeout
    )


@pytest.fixture
async def quiet_sandbox(sandbox: SandboxClient) -> SandboxClient:
    await sandbox.set_limits(enabled=False)
    return sandbox


async def test_a_deep_link_tags_the_lead_source(
    quiet_sandbox: SandboxClient, tmp_path: Path
) -> None:
    sandbox = quiet_sandbox
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        ani = (await sandbox.add_user("Ani"))["id"]
        budi = (await sandbox.add_user("Budi"))["id"]

        await sandbox.send(ani, "/start promo_1212")
        await sandbox.send(budi, "/start ../../etc/passwd")
        await shows(sandbox, ani, "Silakan pilih topik")
        await shows(sandbox, budi, "Silakan pilih topik")

        async with bot.engine.connect() as conn:
            sources = dict(
                (
                    await conn.execute(
                        select(Customer.__table__.c.id, Customer.__table__.c.lead_source)
                    )
                ).all()
            )
    assert sources == {ani: "promo_1212", budi: None}


async def test_the_language_button_switches_the_bot_to_english(
    quiet_sandbox: SandboxClient, tmp_path: Path
) -> None:
    sandbox = quiet_sandbox
    async with running_frontdoor(sandbox.base_url, tmp_path):
        ani = (await sandbox.add_user("Ani", language_code="id"))["id"]
        await sandbox.send(ani, "/language")
        choice = await shows(sandbox, ani, "Choose a language")

        await sandbox.press(ani, ani, choice["message_id"], "lang:en")
        await shows(sandbox, ani, "Welcome to Nusantara Net")
        await sandbox.send(ani, "how to pay")

        await shows(sandbox, ani, "Did this answer help?")


async def test_a_customer_flooding_the_bot_is_warned_once_and_every_message_is_answered(
    quiet_sandbox: SandboxClient, tmp_path: Path
) -> None:
    sandbox = quiet_sandbox
    config = example_config(spam={"messages": 3, "per": "3s"})
    async with running_frontdoor(sandbox.base_url, tmp_path, config=config):
        ani = (await sandbox.add_user("Ani"))["id"]
        await sandbox.send(ani, "/start")
        await shows(sandbox, ani, "Silakan pilih topik")

        await asyncio.gather(*(sandbox.send(ani, f"cara bayar {i}") for i in range(6)))

        for _ in range(300):
            texts = bot_texts(await sandbox.messages(ani))
            if sum(t.endswith("Apakah jawaban ini membantu?") for t in texts) == 6:
                break
            await asyncio.sleep(0.05)
    assert sum(t.endswith("Apakah jawaban ini membantu?") for t in texts) == 6
    assert sum("terlalu cepat" in t for t in texts) == 1


class FakeCrm:
    """A CRM lookup endpoint whose answer (or silence) each test chooses."""

    def __init__(self) -> None:
        self.answer: Any = {}
        self.delay = 0.0
        self.asked: list[str] = []
        self.authorization: list[str | None] = []

    async def lookup(self, request: web.Request) -> web.Response:
        self.asked.append(request.query.get("telegram_id", ""))
        self.authorization.append(request.headers.get("Authorization"))
        await asyncio.sleep(self.delay)
        if isinstance(self.answer, int):
            return web.Response(status=self.answer)
        if isinstance(self.answer, bytes):
            return web.Response(body=self.answer)
        return web.json_response(self.answer)


@pytest.fixture
async def crm() -> AsyncIterator[tuple[FakeCrm, str]]:
    fake = FakeCrm()
    app = web.Application()
    app.router.add_get("/lookup", fake.lookup)
    async with serving(app) as url:
        yield fake, f"{url}/lookup"


async def hand_off_with_crm(sandbox: SandboxClient, tmp_path: Path, url: str) -> tuple[Any, int]:
    """Ani asks for a person with the CRM configured; returns her conversation and her id."""
    config = example_config()
    data = config.model_dump()
    data["crm"] |= {"lookup_url": url, "timeout": 0.3}
    config = type(config).model_validate(data)
    async with running_frontdoor(sandbox.base_url, tmp_path, config=config) as bot:
        ani = (await sandbox.add_user("Ani"))["id"]
        await sandbox.send(ani, "internet mati, mau bicara dengan operator")
        await shows(sandbox, ani, "saya sambungkan", timeout=5)
        _, open_chat = await bot.router.customer_status(ani)
        customer, _ = await bot.router.customer_status(ani)
        return (await conversation(bot.router, open_chat.id), customer), ani


async def test_the_crm_marks_a_vip_and_names_the_account_owner_as_sticky_agent(
    quiet_sandbox: SandboxClient, tmp_path: Path, crm: tuple[FakeCrm, str]
) -> None:
    fake, url = crm
    fake.answer = {"vip": True, "account_owner_id": 1002}

    (row, customer), ani = await hand_off_with_crm(quiet_sandbox, tmp_path, url)

    assert fake.asked == [str(ani)]
    assert customer.is_vip and row.priority >= 5
    assert row.sticky_agent_id == 1002
    assert fake.authorization == [None]  # no secret set: no header


async def test_the_crm_secret_goes_as_a_bearer_token(
    quiet_sandbox: SandboxClient,
    tmp_path: Path,
    crm: tuple[FakeCrm, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, url = crm
    fake.answer = {"vip": True}
    monkeypatch.setenv("FRONTDOOR_CRM_SECRET", "crm-s3cret")

    (_, customer), _ = await hand_off_with_crm(quiet_sandbox, tmp_path, url)

    assert fake.authorization == ["Bearer crm-s3cret"] and customer.is_vip


@pytest.mark.parametrize(
    ("answer", "delay"),
    [(500, 0.0), (b"<html>oops</html>", 0.0), ([1, 2], 0.0), ({"vip": "yes"}, 0.0), ({}, 2.0)],
    ids=["down", "not-json", "not-an-object", "wrong-types", "too-slow"],
)
async def test_a_broken_crm_never_blocks_the_handoff(
    quiet_sandbox: SandboxClient,
    tmp_path: Path,
    crm: tuple[FakeCrm, str],
    answer: Any,
    delay: float,
) -> None:
    fake, url = crm
    fake.answer, fake.delay = answer, delay

    (row, customer), _ = await hand_off_with_crm(quiet_sandbox, tmp_path, url)

    assert row.state in ("offered", "queued")
    assert not customer.is_vip and row.sticky_agent_id is None
