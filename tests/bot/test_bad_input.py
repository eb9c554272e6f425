"""Bad input gets a sensible answer, or the silence Telegram would give, and changes nothing.

Customers write through the sandbox; updates Telegram would never send a normal client (forged
callbacks, unknown update types, malformed bodies) go straight to the webhook, as a forger would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, update

from frontdoor.bootstrap import Frontdoor
from handoff.tables import Conversation, Csat, InboxUpdate, Message, OutboxMessage
from telegram_io.webhook import SECRET_HEADER, WEBHOOK_PATH
from tests.sandbox_support import SandboxClient
from tests.support.frontdoor import running_frontdoor

SECRET = "s3cret-webhook-token"


@pytest.fixture
async def frontdoor(sandbox: SandboxClient, tmp_path: Path) -> AsyncIterator[Frontdoor]:
    """Frontdoor in webhook mode: the sandbox delivers every update to it with the secret."""
    await sandbox.set_limits(enabled=False)
    async with running_frontdoor(sandbox.base_url, tmp_path, webhook_secret=SECRET) as bot:
        assert bot.web is not None
        await bot.application.bot.set_webhook(webhook_url(bot), secret_token=SECRET)
        yield bot


def webhook_url(bot: Frontdoor) -> str:
    assert bot.web is not None
    return f"http://127.0.0.1:{bot.web.port}{WEBHOOK_PATH}"


async def post(bot: Frontdoor, body: bytes, secret: str | None = SECRET) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with (
        aiohttp.ClientSession() as session,
        session.post(webhook_url(bot), data=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def transcript(bot: Frontdoor, customer_id: int) -> list[tuple[str, str]]:
    async with bot.engine.connect() as conn:
        rows = await conn.execute(
            select(Message.sender, Message.text)
            .where(Message.customer_id == customer_id)
            .order_by(Message.id)
        )
        return [(row.sender, row.text) for row in rows]


async def count(bot: Frontdoor, table: Any) -> int:
    async with bot.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def bot_replies(sandbox: SandboxClient, chat_id: int, at_least: int) -> list[str]:
    """The bot's texts in the chat once there are at least `at_least` of them."""
    for _ in range(250):
        shown = [m for m in await sandbox.messages(chat_id) if m["from"]["is_bot"]]
        if len(shown) >= at_least:
            return [m.get("text", "") for m in shown]
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {at_least} bot messages in chat {chat_id}")


async def started_customer(sandbox: SandboxClient) -> int:
    user = await sandbox.add_user("Ani", language_code="id")
    await sandbox.send(user["id"], "/start")
    await bot_replies(sandbox, user["id"], 1)  # the greeting with the menu, one message
    return int(user["id"])


async def test_a_4096_character_message_gets_an_answer_that_fits_telegram(
    sandbox: SandboxClient, frontdoor: Frontdoor
) -> None:
    ani = await started_customer(sandbox)

    await sandbox.send(ani, "x" * 4096)

    replies = await bot_replies(sandbox, ani, 2)
    assert "Maaf, saya belum mengerti" in replies[1]
    assert all(len(text) <= 4096 for text in replies)


async def test_binary_garbage_without_words_gets_no_reply_and_breaks_nothing(
    sandbox: SandboxClient, frontdoor: Frontdoor
) -> None:
    ani = await started_customer(sandbox)

    await sandbox.send(ani, "\x00\x01\ufffd\x7f\u202e\U0001f4a9" * 50)  # read as an emoji
    await sandbox.send(ani, "cara bayar tagihan")

    replies = await bot_replies(sandbox, ani, 2)
    assert "Virtual Account" in replies[1]
    customer, _ = await frontdoor.router.customer_status(ani)
    assert customer.unknown_streak == 0


async def test_an_unknown_command_gets_the_menu(
    sandbox: SandboxClient, frontdoor: Frontdoor
) -> None:
    ani = await started_customer(sandbox)

    await sandbox.send(ani, "/hapus_semua_data")

    replies = await bot_replies(sandbox, ani, 2)
    assert "Maaf, saya belum mengerti" in replies[1]


@pytest.mark.parametrize(
    "data",
    [
        "csat:1:5",
        "csat:999999:5",
        "csat:999999999999999999:5",
        "csat:" + "9" * 40 + ":5",
        "faq_human:no_such_intent",
        "menu:../../etc",
        "x" * 64,
        "",
    ],
)
async def test_a_forged_button_is_refused_and_changes_nothing(
    sandbox: SandboxClient, frontdoor: Frontdoor, data: str
) -> None:
    ani = await started_customer(sandbox)
    before = [await count(frontdoor, t) for t in (Conversation.__table__, Csat.__table__)]
    menu = (await sandbox.messages(ani))[-1]
    forged = {
        "update_id": 900_000_001,
        "callback_query": {
            "id": "forged-1",
            "from": {"id": ani, "is_bot": False, "first_name": "Ani"},
            "chat_instance": "1",
            "message": menu,
            "data": data,
        },
    }

    status, _ = await post(frontdoor, json.dumps(forged).encode())
    await frontdoor.processor.drain()

    assert status == 200
    after = [await count(frontdoor, t) for t in (Conversation.__table__, Csat.__table__)]
    assert after == before
    assert len([m for m in await sandbox.messages(ani) if m["from"]["is_bot"]]) == 1


async def test_an_update_type_the_bot_does_not_handle_is_stored_and_ignored(
    sandbox: SandboxClient, frontdoor: Frontdoor
) -> None:
    poll = {
        "update_id": 900_000_002,
        "poll": {
            "id": "1",
            "question": "?",
            "options": [],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
        },
    }

    status, _ = await post(frontdoor, json.dumps(poll).encode())
    await frontdoor.processor.drain()

    assert status == 200
    async with frontdoor.engine.connect() as conn:
        row = (await conn.execute(select(InboxUpdate.__table__))).one()
    assert row.update_id == 900_000_002 and row.processed_at is not None
    assert await count(frontdoor, Conversation.__table__) == 0


@pytest.mark.parametrize(
    ("secret", "body", "status"),
    [
        (None, b'{"update_id": 1}', 403),
        ("wrong", b'{"update_id": 1}', 403),
        (SECRET, b"{not json", 400),
        (SECRET, b'{"update_id": "1"}', 400),
        (SECRET, b"[1, 2]", 400),
        (SECRET, b"\xff\xfe", 400),
        (SECRET, b'{"update_id": 1180591620717411303424}', 400),  # 2^70: no 64-bit column holds it
        (SECRET, b'{"update_id": -5}', 400),
    ],
    ids=[
        "no-secret",
        "wrong-secret",
        "malformed",
        "string-id",
        "not-an-object",
        "binary",
        "id-too-large",
        "negative-id",
    ],
)
async def test_the_webhook_refuses_what_telegram_would_not_send_and_stores_nothing(
    frontdoor: Frontdoor, secret: str | None, body: bytes, status: int
) -> None:
    answer_status, answer = await post(frontdoor, body, secret)

    assert (answer_status, answer["ok"]) == (status, False)
    assert await count(frontdoor, InboxUpdate.__table__) == 0


async def test_a_duplicate_webhook_delivery_is_acted_on_once(
    sandbox: SandboxClient, frontdoor: Frontdoor
) -> None:
    ani = await started_customer(sandbox)
    sent = await sandbox.send(ani, "cara bayar tagihan")
    replies = await bot_replies(sandbox, ani, 2)
    update = {"update_id": sent["update_id"], "message": sent["message"]}

    status, _ = await post(frontdoor, json.dumps(update).encode())
    await frontdoor.processor.drain()

    assert status == 200
    assert [m.get("text") for m in await sandbox.messages(ani) if m["from"]["is_bot"]] == replies


async def test_an_update_id_telegram_hands_out_again_is_a_new_message_and_answered(
    sandbox: SandboxClient, frontdoor: Frontdoor
) -> None:
    """After a week without updates Telegram picks the next update_id at random: an id seen
    before may come back with a new message (Bot API, Update.update_id)."""
    ani = await started_customer(sandbox)
    sent = await sandbox.send(ani, "cara bayar tagihan")
    replies = await bot_replies(sandbox, ani, 2)
    await frontdoor.processor.drain()
    message = sent["message"]
    later = {**message, "message_id": message["message_id"] + 40, "date": message["date"] + 1}

    status, _ = await post(
        frontdoor, json.dumps({"update_id": sent["update_id"], "message": later}).encode()
    )

    assert status == 200
    again = await bot_replies(sandbox, ani, len(replies) + 1)
    assert again[len(replies)] == replies[-1]  # the same question, answered again
    lines = await transcript(frontdoor, ani)
    assert [sender for sender, _ in lines] == ["customer", "bot", "customer", "bot"]
    assert lines[0] == lines[2] == ("customer", "cara bayar tagihan") and lines[1] == lines[3]


async def test_updates_processed_again_after_a_crash_add_nothing_to_transcript_or_outbox(
    sandbox: SandboxClient, frontdoor: Frontdoor
) -> None:
    ani = await started_customer(sandbox)
    for question in ("cara bayar tagihan", "internet mati", "halo"):
        await sandbox.send(ani, question)
    shown = await bot_replies(sandbox, ani, 4)
    await frontdoor.processor.drain()
    before = await transcript(frontdoor, ani), await count(frontdoor, OutboxMessage.__table__)
    # As after a kill between acting on the updates and marking them done:
    async with frontdoor.engine.begin() as conn:
        await conn.execute(update(InboxUpdate.__table__).values(processed_at=None))

    assert await frontdoor.processor.resume() >= 4
    await frontdoor.processor.drain()

    assert (await transcript(frontdoor, ani), await count(frontdoor, OutboxMessage.__table__)) == (
        before
    )
    assert len(before[0]) >= 6
    assert await bot_replies(sandbox, ani, 1) == shown


async def test_an_empty_message_gets_the_not_understood_answer(
    sandbox: SandboxClient, frontdoor: Frontdoor
) -> None:
    ani = await started_customer(sandbox)
    menu = (await sandbox.messages(ani))[-1]
    empty = {
        "update_id": 900_000_003,
        "message": {
            "message_id": 999,
            "date": menu["date"],
            "chat": {"id": ani, "type": "private", "first_name": "Ani"},
            "from": {"id": ani, "is_bot": False, "first_name": "Ani"},
            "text": "",
        },
    }

    status, _ = await post(frontdoor, json.dumps(empty).encode())

    assert status == 200
    replies = await bot_replies(sandbox, ani, 2)
    assert "Maaf, saya belum mengerti" in replies[1]
