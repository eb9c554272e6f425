"""What every sending method shares: the call context, reply targets, keyboards, flood limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.errors import bad_request, too_many_requests
from sandbox.state import ChatRecord, World

if TYPE_CHECKING:
    from sandbox.core import Sandbox

CALLBACK_DATA_LIMIT = 64  # bytes; InlineKeyboardButton.callback_data: "1-64 bytes"


@dataclass(slots=True)
class Call:
    """One Bot API call: the sandbox and the calling bot's world."""

    sandbox: Sandbox
    world: World


def check_flood(call: Call, chat: ChatRecord) -> None:
    """429 with retry_after when one more message to this chat would break a flood limit."""
    wait = call.sandbox.limiter.retry_after(chat.id, chat.is_group)
    if wait:
        raise too_many_requests(wait)


def inline_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The inline keyboard to keep on the message, validated; other keyboards are not kept."""
    if markup is None or "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse inline keyboard markup JSON object")
    for row in rows:
        for button in row:
            _check_button(button)
    return {"inline_keyboard": rows}


def _check_button(button: Any) -> None:
    """An inline button needs text and one action; callback_data is 1-64 bytes."""
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and (
        not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    if len(button) < 2:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )


def reply_target(world: World, chat: ChatRecord, p: dict[str, Any]) -> dict[str, Any] | None:
    """The message named by `reply_parameters`, as `reply_to_message` shows it."""
    reply = p.get("reply_parameters")
    if not reply:
        return None
    message_id = reply.get("message_id")
    source = chat
    if reply.get("chat_id") is not None:
        source = world.chats.get(reply["chat_id"]) or chat
    message = source.messages.get(message_id) if isinstance(message_id, int) else None
    if message is None:
        if reply.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    # Telegram does not nest replies: the replied-to message comes without its own reply.
    return {k: v for k, v in message.items() if k != "reply_to_message"}


def send(call: Call, p: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    """Post the bot's message after the checks Telegram makes, in its order."""
    world = call.world
    chat = world.writable_chat(p["chat_id"])
    reply = reply_target(world, chat, p)
    markup = inline_markup(p.get("reply_markup"))
    check_flood(call, chat)
    if reply is not None:
        content["reply_to_message"] = reply
    if markup is not None:
        content["reply_markup"] = markup
    if p.get("protect_content"):
        content["has_protected_content"] = True
    return world.post(chat, world.bot_user(), content)
