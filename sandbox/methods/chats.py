"""Bot API methods about chats, members, commands and callback answers."""

from __future__ import annotations

import re
from typing import Any

from sandbox.errors import CHAT_NOT_FOUND, bad_request
from sandbox.methods.common import Call
from sandbox.state import ChatRecord, member_status

COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
NO_GIFTS = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}


def _known_chat(call: Call, chat_id: int | str) -> ChatRecord:
    """A chat the bot has seen, or "chat not found"."""
    chat = call.world.chats.get(chat_id) if isinstance(chat_id, int) else None
    if chat is None:
        raise bad_request(CHAT_NOT_FOUND)
    return chat


def get_chat(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """getChat: `ChatFullInfo` (the required fields, plus the latest pinned message)."""
    chat = _known_chat(call, p["chat_id"])
    info = {**chat.chat, "accent_color_id": 0, "max_reaction_count": 11}
    info["accepted_gift_types"] = dict(NO_GIFTS)
    if chat.pinned and chat.pinned[-1] in chat.messages:
        info["pinned_message"] = chat.messages[chat.pinned[-1]]
    return info


def get_chat_member(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """getChatMember: members and the bot are `member`; anyone else known has `left`."""
    world = call.world
    chat = _known_chat(call, p["chat_id"])
    user_id = p["user_id"]
    if user_id == world.bot_id:
        return member_status(world.bot_user(), "member" if chat.bot_member else "left")
    user = world.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    if chat.is_group:
        status = "member" if user_id in chat.member_ids else "left"
    else:
        status = "member" if user_id == chat.id else "left"
    return member_status(user.as_user(), status)


def leave_chat(call: Call, p: dict[str, Any]) -> bool:
    """leaveChat: the bot leaves a group (private chats cannot be left)."""
    chat = _known_chat(call, p["chat_id"])
    if not chat.is_group:
        raise bad_request("chat member status can't be changed in private chats")
    if not chat.bot_member:
        raise bad_request("bot is not a member of the supergroup chat")
    call.world.leave(chat)
    return True


def _commands_key(p: dict[str, Any]) -> str:
    """Commands are kept per scope (its type, and its chat and user if it names them) and
    language, as Telegram keeps them."""
    scope = p.get("scope") or {}
    names = [str(scope.get(part, "")) for part in ("chat_id", "user_id")]
    return ":".join([scope.get("type", "default"), *names, p.get("language_code", "")])


def set_my_commands(call: Call, p: dict[str, Any]) -> bool:
    """setMyCommands: at most 100 commands of 1-32 lowercase letters, digits and underscores."""
    commands = p["commands"]
    if len(commands) > 100:
        raise bad_request("too many commands")
    for command in commands:
        if not isinstance(command, dict) or not COMMAND_NAME.fullmatch(
            str(command.get("command", ""))
        ):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = _commands_key(p)
    call.world.commands[key] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    call.world.emit("commands_set", scope=key, commands=call.world.commands[key])
    return True


def get_my_commands(call: Call, p: dict[str, Any]) -> list[dict[str, Any]]:
    """getMyCommands: what setMyCommands stored for that scope and language."""
    return call.world.commands.get(_commands_key(p), [])


def delete_my_commands(call: Call, p: dict[str, Any]) -> bool:
    """deleteMyCommands: forget the commands of that scope and language."""
    call.world.commands.pop(_commands_key(p), None)
    return True


def answer_callback_query(call: Call, p: dict[str, Any]) -> bool:
    """answerCallbackQuery: once per query; the answer shows as an event."""
    record = call.world.callbacks.get(p["callback_query_id"])
    if record is None or record["answered"]:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    if len(p.get("text", "")) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    record["answered"] = True
    answer = {k: p[k] for k in ("text", "show_alert", "url", "cache_time") if k in p}
    record["answer"] = answer
    call.world.emit("callback_answered", callback_query_id=p["callback_query_id"], **answer)
    return True


HANDLERS = {
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "leaveChat": leave_chat,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "answerCallbackQuery": answer_callback_query,
}
