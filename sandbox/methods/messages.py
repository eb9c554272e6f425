"""Bot API methods that post, change and remove messages."""

from __future__ import annotations

from typing import Any

from sandbox.errors import NOT_MODIFIED, bad_request
from sandbox.formatting import CAPTION_LIMIT, formatted, utf16_len
from sandbox.methods.common import Call, check_flood, inline_markup, send
from sandbox.state import ChatRecord

CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})  # fmt: skip
# Content copied by copyMessage; everything else about a message (sender, date …) is new.
CONTENT_KEYS = (
    "text", "entities", "photo", "document", "voice", "sticker", "location", "caption",
    "caption_entities",
)  # fmt: skip


def send_message(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """sendMessage: text up to 4096 characters, optional inline keyboard."""
    content = formatted(p["text"], p.get("parse_mode"), p.get("entities"), caption=False)
    return send(call, p, content)


def send_location(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """sendLocation: a point on the map."""
    if not -90 <= p["latitude"] <= 90:
        raise bad_request("wrong latitude specified")
    if not -180 <= p["longitude"] <= 180:
        raise bad_request("wrong longitude specified")
    location = {"latitude": p["latitude"], "longitude": p["longitude"]}
    for key in ("horizontal_accuracy", "live_period", "heading", "proximity_alert_radius"):
        if key in p:
            location[key] = p[key]
    return send(call, p, {"location": location})


def send_chat_action(call: Call, p: dict[str, Any]) -> bool:
    """sendChatAction: "typing…" and friends; shown as an event, never stored."""
    if p["action"] not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat = call.world.writable_chat(p["chat_id"])
    call.world.emit("chat_action", chat_id=chat.id, action=p["action"])
    return True


def _editable(call: Call, p: dict[str, Any]) -> tuple[ChatRecord, dict[str, Any]]:
    """The bot's own message an edit names (chat_id + message_id; inline messages unsupported)."""
    if "inline_message_id" in p and "chat_id" not in p:
        raise bad_request("MESSAGE_ID_INVALID")
    if "chat_id" not in p:
        raise bad_request("chat_id is empty")
    if "message_id" not in p:
        raise bad_request("message identifier is not specified")
    chat = call.world.writable_chat(p["chat_id"])
    message = call.world.message(chat, p["message_id"], "message to edit not found")
    if message["from"]["id"] != call.world.bot_id:
        raise bad_request("message can't be edited")
    return chat, message


def _apply_edit(
    call: Call, chat: ChatRecord, message: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    """Change the message in place (transcripts show the edit), or 400 if nothing changes."""
    if all(message.get(key) == value for key, value in changes.items()):
        raise bad_request(NOT_MODIFIED)
    check_flood(call, chat)
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    message["edit_date"] = int(call.world.clock())
    call.world.emit("edited", message=message)
    return message


def edit_message_text(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """editMessageText: new text; a keyboard not repeated in the call is removed, as Telegram."""
    chat, message = _editable(call, p)
    if "text" not in message:
        raise bad_request("there is no text in the message to edit")
    if "text" not in p:
        raise bad_request("message text is empty")
    content = formatted(p["text"], p.get("parse_mode"), p.get("entities"), caption=False)
    changes = {
        "text": content["text"],
        "entities": content.get("entities"),
        "reply_markup": inline_markup(p.get("reply_markup")),
    }
    return _apply_edit(call, chat, message, changes)


def edit_message_reply_markup(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """editMessageReplyMarkup: new inline keyboard, or none."""
    chat, message = _editable(call, p)
    changes = {"reply_markup": inline_markup(p.get("reply_markup"))}
    return _apply_edit(call, chat, message, changes)


def delete_message(call: Call, p: dict[str, Any]) -> bool:
    """deleteMessage: the bot's own anywhere, users' in private chats (no admin rights here)."""
    chat = call.world.chat_for_bot(p["chat_id"])
    message = call.world.message(chat, p["message_id"], "message to delete not found")
    if chat.is_group and message["from"]["id"] != call.world.bot_id:
        raise bad_request("message can't be deleted for everyone")
    del chat.messages[p["message_id"]]
    call.world.emit("deleted", chat_id=chat.id, message_id=p["message_id"])
    return True


def _source(call: Call, p: dict[str, Any], missing: str) -> dict[str, Any]:
    """The message a copy or forward starts from."""
    source_chat = call.world.chat_for_bot(p["from_chat_id"])
    return call.world.message(source_chat, p["message_id"], missing)


def copy_message(call: Call, p: dict[str, Any]) -> dict[str, int]:
    """copyMessage: the content again, sent by the bot, without a link to the original."""
    source = _source(call, p, "message to copy not found")
    content = {key: source[key] for key in CONTENT_KEYS if key in source}
    if "caption" in p and "text" not in content:
        content.pop("caption_entities", None)
        content.update(formatted(p["caption"], p.get("parse_mode"), None, caption=True))
    elif utf16_len(content.get("caption", "")) > CAPTION_LIMIT:  # a Premium user's, too long
        raise bad_request("message caption is too long")  # for a bot to send
    message = send(call, p, content)
    return {"message_id": message["message_id"]}


def forward_message(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """forwardMessage: the content with `forward_origin` naming the original sender."""
    source = _source(call, p, "message to forward not found")
    content: dict[str, Any] = {key: source[key] for key in CONTENT_KEYS if key in source}
    content["forward_origin"] = {
        "type": "user",
        "date": source["date"],
        "sender_user": source["from"],
    }
    return send(call, p, content)


def pin_chat_message(call: Call, p: dict[str, Any]) -> bool:
    """pinChatMessage: remembered on the chat (getChat shows the latest pin)."""
    chat = call.world.writable_chat(p["chat_id"])
    call.world.message(chat, p["message_id"], "message to pin not found")
    if p["message_id"] not in chat.pinned:
        chat.pinned.append(p["message_id"])
    call.world.emit("pinned", chat_id=chat.id, message_id=p["message_id"])
    return True


def unpin_chat_message(call: Call, p: dict[str, Any]) -> bool:
    """unpinChatMessage: the given message, or the most recent pin."""
    chat = call.world.writable_chat(p["chat_id"])
    message_id = p.get("message_id", chat.pinned[-1] if chat.pinned else None)
    if message_id is not None and message_id not in chat.pinned:
        raise bad_request("message to unpin not found")
    if message_id is not None:
        chat.pinned.remove(message_id)
        call.world.emit("unpinned", chat_id=chat.id, message_id=message_id)
    return True


HANDLERS = {
    "sendMessage": send_message,
    "sendLocation": send_location,
    "sendChatAction": send_chat_action,
    "editMessageText": edit_message_text,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "copyMessage": copy_message,
    "forwardMessage": forward_message,
    "pinChatMessage": pin_chat_message,
    "unpinChatMessage": unpin_chat_message,
}
