"""The control API: users and groups act as on Telegram; bad input is refused, changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Location, Sticker, Voice
from telegram.error import BadRequest

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


async def test_a_button_press_shows_the_bots_answer_once_it_is_given(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    status, unknown = await sandbox.request("GET", "/sandbox/callbacks/424242")
    assert (status, unknown["ok"]) == (404, False) and "424242" in unknown["description"]

    menu = InlineKeyboardMarkup([[InlineKeyboardButton("Billing", callback_data="billing")]])
    sent = await bot.send_message(ani["id"], "Pilih layanan", reply_markup=menu)
    pressed = await sandbox.press(ani["id"], ani["id"], sent.message_id, "billing")
    query_id = pressed["callback_query"]["id"]
    assert await sandbox.request("GET", f"/sandbox/callbacks/{query_id}") == (
        200,
        {"answered": False, "answer": None},
    )

    assert await bot.answer_callback_query(query_id, text="Tim Billing segera membantu")
    assert await sandbox.request("GET", f"/sandbox/callbacks/{query_id}") == (
        200,
        {"answered": True, "answer": {"text": "Tim Billing segera membantu"}},
    )


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


async def test_a_voice_a_sticker_and_a_location_arrive_as_updates(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    await bot.get_updates(offset=-1)  # past the /start
    await sandbox.send(ani["id"], voice=b"OggS note", duration=4, caption="dengar ini")
    await sandbox.send(ani["id"], sticker={"emoji": "😀"})
    await sandbox.send(ani["id"], location=(-6.2, 106.8))

    voice, sticker, location = [u.message for u in await bot.get_updates()][1:]

    assert isinstance(voice.voice, Voice) and voice.caption == "dengar ini"
    # to_dict: PTB 22 warns when `duration` is read (it is to become a timedelta)
    assert (voice.voice.to_dict()["duration"], voice.voice.mime_type) == (4, "audio/ogg")
    assert voice.voice.file_size == len(b"OggS note") and voice.voice.file_unique_id
    assert isinstance(sticker.sticker, Sticker) and sticker.sticker.emoji == "😀"
    assert (sticker.sticker.type, sticker.sticker.width, sticker.sticker.height) == (
        "regular",
        512,
        512,
    )
    assert not (sticker.sticker.is_animated or sticker.sticker.is_video)
    assert isinstance(location.location, Location) and location.caption is None
    assert (location.location.latitude, location.location.longitude) == (-6.2, 106.8)
    downloaded = await (await bot.get_file(voice.voice.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"OggS note"


async def test_known_files_are_sent_again_by_file_id(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    first = (await sandbox.send(ani["id"], sticker={"emoji": "🙏"}))["message"]["sticker"]
    note = (await sandbox.send(ani["id"], voice=b"OggS"))["message"]["voice"]

    again = (await sandbox.send(ani["id"], sticker=first["file_id"]))["message"]["sticker"]
    voice = (await sandbox.send(ani["id"], voice=note["file_id"]))["message"]["voice"]

    assert again == first and again["emoji"] == "🙏"
    assert voice == note and voice["duration"] == 1  # the default when none is given


async def test_the_bot_copies_a_voice_a_sticker_and_a_location(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    await sandbox.set_limits(enabled=False)  # four copies into one chat in a moment
    sari = await sandbox.add_user("Sari")
    await sandbox.send(sari["id"], "/start")
    sent = [
        (await sandbox.send(ani["id"], **content))["message"]
        for content in (
            {"voice": b"OggS", "caption": "halo"},
            {"sticker": {"emoji": "👍"}},
            {"location": (1.5, -2.25)},
        )
    ]

    for message in sent:
        await bot.copy_message(sari["id"], ani["id"], message["message_id"])
    copied = await bot.copy_message(sari["id"], ani["id"], sent[0]["message_id"], caption="#1")

    shown = (await sandbox.messages(sari["id"]))[1:]
    for original, copy in zip(sent, shown, strict=False):
        assert copy["from"]["is_bot"] and "forward_origin" not in copy
        kind = next(k for k in ("voice", "sticker", "location") if k in original)
        assert (copy[kind], copy.get("caption")) == (original[kind], original.get("caption"))
    assert shown[-1]["message_id"] == copied.message_id and shown[-1]["caption"] == "#1"


async def test_a_premium_user_writes_long_captions_that_a_bot_may_not_copy_as_they_are(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    """Telegram Premium: captions up to 4096 characters; a bot's stay at 1024."""
    rina = await sandbox.add_user("Rina", is_premium=True)
    assert rina["is_premium"] is True and "is_premium" not in ani
    long = "é" * 4096

    sent = (await sandbox.send(rina["id"], photo=b"\x89PNG", caption=long))["message"]
    status, answer = await sandbox.request(
        "POST",
        f"/sandbox/users/{ani['id']}/send",
        {"photo": {"data_base64": "iVBO"}, "caption": long[:1025]},
    )
    assert (status, answer["description"]) == (400, "message caption is too long")

    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.copy_message(ani["id"], rina["id"], sent["message_id"])
    copied = await bot.copy_message(ani["id"], rina["id"], sent["message_id"], caption=long[:1024])
    assert (await sandbox.messages(ani["id"]))[-1]["message_id"] == copied.message_id


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"text": "a", "voice": {"data_base64": "T2dnUw=="}}, 400, "got text and voice"),
        ({"sticker": {"emoji": "😀"}, "location": {"latitude": 0, "longitude": 0}}, 400,
         "got sticker and location"),
        ({"caption": "only a caption"}, 400, "exactly one of"),
        ({"voice": {"data_base64": "%%"}}, 400, "voice.data_base64 is not valid base64"),
        ({"voice": {"data_base64": ""}}, 400, "non-empty"),
        ({"voice": 5}, 400, "'voice' must be an object"),
        ({"voice": {"file_id": "nope"}}, 404, "file_id 'nope' not found"),
        ({"voice": {"data_base64": "T2dnUw==", "duration": "3"}}, 400, "voice.duration"),
        ({"voice": {"data_base64": "T2dnUw==", "duration": -1}}, 400, "voice.duration"),
        ({"voice": {"data_base64": "T2dnUw==", "duration": True}}, 400, "voice.duration"),
        ({"voice": {"data_base64": "T2dnUw=="}, "reply_to_message_id": 99}, 404, "message 99"),
        ({"sticker": {"file_id": "nope"}}, 404, "file_id 'nope' not found"),
        ({"sticker": {"file_id": 7}}, 400, "sticker.file_id must be a string"),
        ({"sticker": {"file_id": "x", "emoji": "😀"}}, 400, "file_id or emoji"),
        ({"sticker": {}}, 400, "file_id or emoji"),
        ({"sticker": {"emoji": "ok"}}, 400, "sticker.emoji must be an emoji"),
        ({"sticker": {"emoji": ""}}, 400, "sticker.emoji must be one emoji"),
        ({"sticker": {"emoji": 5}}, 400, "sticker.emoji must be one emoji"),
        ({"sticker": {"emoji": "😀"}, "caption": "x"}, 400, "a sticker takes no caption"),
        ({"sticker": {"emoji": "😀"}, "reply_to_message_id": 99}, 404, "message 99"),
        ({"location": {"latitude": 90.5, "longitude": 0}}, 400,
         "location.latitude must be between -90 and 90"),
        ({"location": {"latitude": 0, "longitude": -180.5}}, 400,
         "location.longitude must be between -180 and 180"),
        ({"location": {"latitude": "1", "longitude": 0}}, 400, "location.latitude must be a number"),
        ({"location": {"latitude": True, "longitude": 0}}, 400, "location.latitude must be a number"),
        ({"location": {"latitude": 1}}, 400, "location.longitude must be a number"),
        ({"location": [1, 2]}, 400, "'location' must be an object"),
        ({"location": {"latitude": 1, "longitude": 2}, "caption": "x"}, 400,
         "a location takes no caption"),
        ({"text": "hi", "caption": "x"}, 400, "a text takes no caption"),
    ],
)  # fmt: skip
async def test_a_bad_voice_sticker_or_location_is_refused_and_changes_nothing(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any], body: Any, status: int, says: str
) -> None:
    before = await snapshot(sandbox, ani["id"])
    got, answer = await sandbox.request("POST", f"/sandbox/users/{ani['id']}/send", body)
    assert (got, answer["ok"]) == (status, False) and says in answer["description"]
    assert await snapshot(sandbox, ani["id"]) == before
    assert [u.message.text for u in await bot.get_updates()] == ["/start"]
    # No file was stored either: the next upload is the sandbox's first file.
    stored = (await sandbox.send(ani["id"], sticker={"emoji": "😀"}))["message"]["sticker"]
    assert stored["file_id"][4:10] == "000001"


async def test_a_sticker_must_name_a_sticker(sandbox: SandboxClient, ani: dict[str, Any]) -> None:
    voice = (await sandbox.send(ani["id"], voice=b"OggS"))["message"]["voice"]
    before = await snapshot(sandbox, ani["id"])

    status, answer = await sandbox.request(
        "POST", f"/sandbox/users/{ani['id']}/send", {"sticker": {"file_id": voice["file_id"]}}
    )

    assert status == 400 and answer["description"].endswith("is a voice, not a sticker")
    assert await snapshot(sandbox, ani["id"]) == before


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
        ("POST", "/sandbox/users", {"first_name": "A" * 65}, 400),
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
