"""Each implemented Bot API method, called through python-telegram-bot, parses without warnings."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
)
from telegram.constants import ChatAction

from tests.sandbox_support import SandboxClient

# PTB warns (PTBUserWarning / PTBDeprecationWarning) on responses it cannot map; any warning fails.
pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(autouse=True)
async def no_flood_limits(sandbox: SandboxClient) -> None:
    """These tests send in bursts; the limits have tests of their own (test_limits.py)."""
    await sandbox.set_limits(enabled=False)


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d.title(), callback_data=d) for d in data]])


async def test_get_me_names_the_bot_of_the_token(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456789 and me.is_bot and me.can_read_all_group_messages


async def test_send_message_shows_in_the_transcript_with_its_buttons(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    sent = await bot.send_message(ani["id"], "Halo Ani", reply_markup=keyboard("billing"))
    assert sent.from_user.id == bot.id and sent.chat.id == ani["id"]
    shown = await sandbox.messages(ani["id"])
    assert [m["text"] for m in shown] == ["/start", "Halo Ani"]
    assert shown[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "billing"
    assert shown[-1]["from"]["is_bot"] is True


async def test_html_parse_mode_becomes_entities(bot: Bot, ani: dict[str, Any]) -> None:
    sent = await bot.send_message(ani["id"], "Antrian <b>3</b>", parse_mode="HTML")
    assert sent.text == "Antrian 3"
    assert sent.entities == (MessageEntity(MessageEntity.BOLD, 8, 1),)


async def test_reply_parameters_quote_the_replied_message(bot: Bot, ani: dict[str, Any]) -> None:
    sent = await bot.send_message(ani["id"], "Siap", reply_to_message_id=1)
    assert sent.reply_to_message.text == "/start"


async def test_edit_message_text_sets_edit_date_and_replaces_buttons(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    sent = await bot.send_message(ani["id"], "Waiting", reply_markup=keyboard("claim"))
    edited = await bot.edit_message_text("Claimed", ani["id"], sent.message_id)
    assert edited.text == "Claimed" and edited.edit_date is not None
    shown = (await sandbox.messages(ani["id"]))[-1]
    assert shown["text"] == "Claimed" and "reply_markup" not in shown and shown["edit_date"]


async def test_edit_message_reply_markup(bot: Bot, sandbox: SandboxClient, ani: dict) -> None:
    sent = await bot.send_message(ani["id"], "Card", reply_markup=keyboard("claim"))
    edited = await bot.edit_message_reply_markup(
        ani["id"], sent.message_id, reply_markup=keyboard("close")
    )
    assert edited.reply_markup.inline_keyboard[0][0].callback_data == "close"
    shown = (await sandbox.messages(ani["id"]))[-1]
    assert shown["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "close"


async def test_delete_message_removes_it_from_the_transcript(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    sent = await bot.send_message(ani["id"], "oops")
    assert await bot.delete_message(ani["id"], sent.message_id) is True
    assert [m["text"] for m in await sandbox.messages(ani["id"])] == ["/start"]


async def test_answer_callback_query_answers_a_press_once(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    sent = await bot.send_message(ani["id"], "Helpful?", reply_markup=keyboard("yes"))
    async with sandbox.events() as events:
        pressed = await sandbox.press(ani["id"], ani["id"], sent.message_id, "yes")
        query_id = pressed["callback_query"]["id"]
        assert await bot.answer_callback_query(query_id, text="Thanks!") is True
        answered = await events.next_of("callback_answered")
    assert answered["callback_query_id"] == query_id and answered["text"] == "Thanks!"


async def test_copy_message_copies_a_customer_message_to_another_chat(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    budi = await sandbox.add_user("Budi")
    await sandbox.send(budi["id"], "/start")
    said = await sandbox.send(ani["id"], "tagihan saya salah")
    copied = await bot.copy_message(budi["id"], ani["id"], said["message"]["message_id"])
    shown = await sandbox.messages(budi["id"])
    assert shown[-1]["message_id"] == copied.message_id
    assert shown[-1]["text"] == "tagihan saya salah" and shown[-1]["from"]["is_bot"]
    assert "forward_origin" not in shown[-1]


async def test_forward_message_names_the_original_sender(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    group = await sandbox.add_group("Agents", [ani["id"]])
    forwarded = await bot.forward_message(group["id"], ani["id"], 1)
    assert forwarded.text == "/start" and forwarded.forward_origin.sender_user.id == ani["id"]


async def test_send_document_voice_sticker_and_location(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    document = await bot.send_document(ani["id"], b"%PDF-1.4 invoice", filename="invoice.pdf")
    voice = await bot.send_voice(ani["id"], b"OggS voice", duration=3)
    sticker = await bot.send_sticker(ani["id"], b"RIFF\x00\x00\x00\x00WEBP", emoji="👍")
    location = await bot.send_location(ani["id"], latitude=-6.2, longitude=106.8)
    assert document.document.file_name == "invoice.pdf"
    assert voice.voice.mime_type and sticker.sticker.emoji == "👍"
    assert location.location.latitude == pytest.approx(-6.2)
    again = await bot.send_document(ani["id"], document.document.file_id)
    assert again.document.file_unique_id == document.document.file_unique_id
    kinds = [next(k for k in ("document", "voice", "sticker", "location", "text") if k in m)
             for m in await sandbox.messages(ani["id"])]  # fmt: skip
    assert kinds == ["text", "document", "voice", "sticker", "location", "document"]
    assert (await sandbox.messages(ani["id"]))[2]["voice"]["duration"] == 3


async def test_send_chat_action_is_an_event_not_a_message(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    async with sandbox.events() as events:
        assert await bot.send_chat_action(ani["id"], ChatAction.TYPING) is True
        event = await events.next_of("chat_action")
    assert event == {**event, "chat_id": ani["id"], "action": "typing"}
    assert len(await sandbox.messages(ani["id"])) == 1


async def test_pin_and_unpin(bot: Bot, ani: dict[str, Any]) -> None:
    sent = await bot.send_message(ani["id"], "Jam buka: 08-17")
    assert await bot.pin_chat_message(ani["id"], sent.message_id) is True
    assert (await bot.get_chat(ani["id"])).pinned_message.message_id == sent.message_id
    assert await bot.unpin_chat_message(ani["id"]) is True
    assert (await bot.get_chat(ani["id"])).pinned_message is None


async def test_set_my_commands_then_get_them(bot: Bot) -> None:
    commands = [BotCommand("start", "Mulai"), BotCommand("human", "Bicara dengan agen")]
    assert await bot.set_my_commands(commands) is True
    assert await bot.get_my_commands() == tuple(commands)


async def test_get_chat_and_get_chat_member(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    outsider = await sandbox.add_user("Citra")
    group = await sandbox.add_group("Agents", [ani["id"]])
    chat = await bot.get_chat(group["id"])
    assert chat.type == "supergroup" and chat.title == "Agents" and chat.id < -(10**12)
    member = await bot.get_chat_member(group["id"], ani["id"])
    assert isinstance(member, ChatMemberMember) and member.user.username == "ani"
    assert (await bot.get_chat_member(group["id"], outsider["id"])).status == "left"
    assert (await bot.get_chat(ani["id"])).first_name == "Ani"


async def test_leave_chat_stops_the_bot_posting_there(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    group = await sandbox.add_group("Agents", [ani["id"]])
    assert await bot.leave_chat(group["id"]) is True
    assert (await bot.get_chat_member(group["id"], bot.id)).status == "left"


async def test_webhook_methods_round_trip(bot: Bot) -> None:
    assert await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="s3cret") is True
    info = await bot.get_webhook_info()
    assert info.url == "http://127.0.0.1:9/hook"
    assert await bot.delete_webhook() is True
    assert (await bot.get_webhook_info()).url == ""


async def test_group_messages_and_message_ids_per_chat(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    budi = await sandbox.add_user("Budi")
    group = await sandbox.add_group("Agents", [ani["id"], budi["id"]])
    posted = await sandbox.send(budi["id"], "siapa on?", chat_id=group["id"])
    assert posted["message"]["message_id"] == 1 and posted["message"]["chat"]["id"] == group["id"]
    in_group = await bot.send_message(group["id"], "Sari on")
    in_private = await bot.send_message(ani["id"], "hi")
    assert (in_group.message_id, in_private.message_id) == (2, 2)
