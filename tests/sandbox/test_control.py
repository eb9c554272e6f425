"""The control API: users and groups act as on Telegram; bad input is refused, changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from tests.sandbox_support import SandboxClient


async def snapshot(sandbox: SandboxClient, chat_id: int) -> tuple[Any, ...]:
    """Everything a refused call must leave as it was."""
    return (
        await sandbox.users(),
        await sandbox.groups(),
        await sandbox.messages(chat_id),
        (await sandbox.request("GET", "/bot1:t/getWebhookInfo"))[1]["result"],
    )


async def test_users_and_groups_are_listed_as_bot_api_objects(sandbox: SandboxClient) -> None:
    ani = await sandbox.add_user("Ani", username="ani", language_code="id")
    sari = await sandbox.add_user("Sari", id=777)
    group = await sandbox.add_group("Agents", [sari["id"]], forum=False)
    assert ani == {
        "id": ani["id"],
        "is_bot": False,
        "first_name": "Ani",
        "username": "ani",
        "language_code": "id",
    }
    assert [u["id"] for u in await sandbox.users()] == [ani["id"], 777]
    assert await sandbox.groups() == [group]
    assert group["type"] == "supergroup" and str(group["id"]).startswith("-100")


async def test_a_conversation_through_the_control_api(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    menu = InlineKeyboardMarkup([[InlineKeyboardButton("Billing", callback_data="billing")]])
    sent = await bot.send_message(ani["id"], "Pilih layanan", reply_markup=menu)
    pressed = await sandbox.press(ani["id"], ani["id"], sent.message_id, "billing")
    assert pressed["callback_query"]["message"]["message_id"] == sent.message_id
    reply = await sandbox.send(ani["id"], "makasih", reply_to_message_id=sent.message_id)
    assert reply["message"]["reply_to_message"]["text"] == "Pilih layanan"
    shown = await sandbox.wait_for(ani["id"], lambda m: m.get("text") == "makasih", timeout=1)
    assert shown["from"]["id"] == ani["id"]


async def test_events_stream_tells_what_happens(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    async with sandbox.events() as events:
        await sandbox.send(ani["id"], "halo")
        await bot.send_message(ani["id"], "hai")
        await sandbox.block(ani["id"])
        seen = [await events.next() for _ in range(3)]
    assert [event["type"] for event in seen] == ["message", "message", "blocked"]
    assert [seen[0]["by"], seen[1]["by"]] == ["user", "bot"]
    assert seen[1]["message"]["text"] == "hai"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/sandbox/users/424242/send", {"text": "hi"}, 404),
        ("POST", "/sandbox/users/USER/send", {"text": "x" * 4097}, 400),
        ("POST", "/sandbox/users/USER/send", {"text": 5}, 400),
        ("POST", "/sandbox/users/USER/send", {}, 400),
        ("POST", "/sandbox/users/USER/send", {"text": "hi", "chat_id": -1009}, 404),
        ("POST", "/sandbox/users/USER/send", {"text": "a", "photo": {"data_base64": "%%"}}, 400),
        ("POST", "/sandbox/users/USER/send", {"photo": {"file_id": "nope"}}, 404),
        ("POST", "/sandbox/users/USER/send", {"text": "a", "reply_to_message_id": 99}, 404),
        ("POST", "/sandbox/users/USER/press", {"chat_id": "USER", "message_id": 1, "data": "x"},
         404),
        ("POST", "/sandbox/users/USER/press", {"chat_id": "USER", "message_id": 99, "data": "x"},
         404),
        ("POST", "/sandbox/users/USER/press", {"chat_id": "USER", "message_id": "1"}, 400),
        ("POST", "/sandbox/users/abc/block", None, 400),
        ("POST", "/sandbox/users", {"first_name": ""}, 400),
        ("POST", "/sandbox/users", {"username": "noname"}, 400),
        ("POST", "/sandbox/users", {"first_name": "Dup", "id": "USER"}, 409),
        ("POST", "/sandbox/groups", {"title": "G", "member_ids": [424242]}, 404),
        ("POST", "/sandbox/groups", {"title": "G", "member_ids": "USER"}, 400),
        ("POST", "/sandbox/groups", {"title": "G", "member_ids": [], "id": 5}, 400),
        ("POST", "/sandbox/faults", {"method": "sendMessage", "error_code": 200,
                                     "description": "x"}, 400),
        ("GET", "/sandbox/chats/-100999/messages", None, 404),
    ],
)  # fmt: skip
async def test_bad_input_is_refused_and_changes_nothing(
    sandbox: SandboxClient, method: str, path: str, body: Any, status: int
) -> None:
    user = await sandbox.add_user("Ani")
    await sandbox.send(user["id"], "/start")
    path = path.replace("USER", str(user["id"]))
    if isinstance(body, dict):
        body = {k: user["id"] if v == "USER" else v for k, v in body.items()}
    before = await snapshot(sandbox, user["id"])
    got, answer = await sandbox.request(method, path, body)
    assert (got, answer["ok"]) == (status, False) and answer["description"]
    assert await snapshot(sandbox, user["id"]) == before


async def test_malformed_json_is_refused(sandbox: SandboxClient) -> None:
    before = await sandbox.users()
    status, answer = await sandbox.request("POST", "/sandbox/users", raw=b"{first_name: Ani")
    assert status == 400 and answer == {
        "ok": False,
        "description": "request body is not valid JSON",
    }
    status, answer = await sandbox.request("POST", "/sandbox/users", raw=b"[1, 2]")
    assert status == 400
    assert await sandbox.users() == before


async def test_group_members_only_may_post_in_the_group(sandbox: SandboxClient) -> None:
    sari = await sandbox.add_user("Sari")
    outsider = await sandbox.add_user("Eko")
    group = await sandbox.add_group("Agents", [sari["id"]])
    with pytest.raises(Exception, match="not a member"):
        await sandbox.send(outsider["id"], "let me in", chat_id=group["id"])
    assert await sandbox.messages(group["id"]) == []


async def test_reset_forgets_everything(sandbox: SandboxClient, ani: dict[str, Any]) -> None:
    await sandbox.add_group("Agents", [ani["id"]])
    await sandbox.reset()
    assert (await sandbox.users(), await sandbox.groups()) == ([], [])
    assert (await sandbox.request("GET", "/bot1:t/getUpdates"))[1]["result"] == []
