"""The sandbox's world as one bot sees it: users, chats, messages, files, callbacks, updates.

Plain data and rules only (no HTTP): the Bot API handlers and the control API both call in here, so
a user's action and the bot's answer land in the same transcripts and the same update queue.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import CHAT_NOT_FOUND, ApiError, bad_request, forbidden
from sandbox.files import FileStore
from sandbox.inline import InlineQuery
from sandbox.updates import UpdateQueue

DEFAULT_BOT_ID = 1000000001
FIRST_USER_ID = 1000001
FIRST_GROUP_ID = -1001000000001
Listener = Callable[[dict[str, Any]], None]


@dataclass(slots=True)
class WebhookConfig:
    """What setWebhook set; `url == ""` means polling (getUpdates)."""

    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(slots=True)
class UserRecord:
    """A Telegram user, and how they stand with the bot."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool = False  # Telegram Premium: captions up to 4096 characters, not 1024
    started: bool = False  # has written to the bot in private, so the bot may write back
    blocked: bool = False

    def as_user(self) -> dict[str, Any]:
        """Bot API `User`."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                user[key] = value
        if self.is_premium:
            user["is_premium"] = True
        return user


@dataclass(slots=True)
class ChatRecord:
    """A private chat or a supergroup, with what it shows now."""

    id: int
    type: str
    chat: dict[str, Any]
    member_ids: set[int] = field(default_factory=set)
    bot_member: bool = True
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_message_id: int = 1
    pinned: list[int] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        """Groups have their own flood limit and members."""
        return self.type != "private"


class World:
    """Everything one bot can see, plus the users and groups tests create."""

    def __init__(
        self,
        bot_id: int = DEFAULT_BOT_ID,
        clock: Callable[[], float] = time.time,
        listeners: list[Listener] | None = None,
    ) -> None:
        self.clock = clock
        self.bot_id = bot_id
        self.bot_fixed = False
        self.bot_name = "Frontdoor Sandbox"
        self.bot_username = "frontdoor_sandbox_bot"
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, ChatRecord] = {}
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.first_message_id = 1  # of every new chat (see `continue_numbering`)
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.inline_queries: dict[str, InlineQuery] = {}  # see sandbox/inline.py
        # inline_message_id → (chat id, message id) of a chosen result with a keyboard; None when
        # it went to a chat between two users, which the sandbox does not keep
        self.inline_messages: dict[str, tuple[int, int] | None] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.listeners: list[Listener] = [] if listeners is None else listeners
        self.webhook = WebhookConfig()
        self.poll_generation = 0  # bumped by each getUpdates; an older waiting poll then ends
        self._callback_ids = itertools.count(1)
        self._event_ids = itertools.count(1)

    # --- identity -------------------------------------------------------------------------

    def adopt_bot_id(self, bot_id: int) -> None:
        """Take the id of the first token seen (a Bot API token begins with the bot's id)."""
        if not self.bot_fixed:
            self.bot_id = bot_id
            self.bot_fixed = True

    def bot_user(self) -> dict[str, Any]:
        """The bot as `User` (the `from` of its messages)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    # --- events ---------------------------------------------------------------------------

    def emit(self, kind: str, **fields: Any) -> None:
        """Tell listeners (the SSE stream) that something happened."""
        if not self.listeners:
            return
        event = {"type": kind, "id": next(self._event_ids), "time": self.clock(), **fields}
        for listener in list(self.listeners):
            listener(event)

    # --- users and chats ------------------------------------------------------------------

    def add_user(self, first_name: str, user_id: int | None = None, **extra: Any) -> UserRecord:
        """Create a user; ids are handed out in order unless one is given."""
        if user_id is None:
            user_id = max([FIRST_USER_ID - 1, *self.users]) + 1
        user = UserRecord(id=user_id, first_name=first_name, **extra)
        self.users[user_id] = user
        self.emit("user_created", user=user.as_user())
        return user

    def add_group(
        self, title: str, member_ids: list[int], group_id: int | None = None, forum: bool = False
    ) -> ChatRecord:
        """Create a supergroup with these members and the bot (privacy mode off)."""
        if group_id is None:
            group_id = min([FIRST_GROUP_ID + 1, *self.chats]) - 1
        chat: dict[str, Any] = {"id": group_id, "type": "supergroup", "title": title}
        if forum:
            chat["is_forum"] = True
        group = ChatRecord(
            id=group_id,
            type="supergroup",
            chat=chat,
            member_ids=set(member_ids),
            next_message_id=self.first_message_id,
        )
        self.chats[group_id] = group
        self.emit("group_created", chat=chat, member_ids=sorted(member_ids))
        # Telegram tells a bot it was added to a group with a my_chat_member update.
        adder = self.users.get(member_ids[0]) if member_ids else None
        if adder is not None:
            self._my_chat_member(group, adder, "left", "member")
        return group

    def continue_numbering(self, update_id: int, message_id: int) -> None:
        """Number updates from `update_id` and every new chat's messages from `message_id`: a
        bot that kept its database from an earlier run sees no id again, as on Telegram."""
        self.updates.number_from(update_id)
        self.first_message_id = max(self.first_message_id, message_id)

    def private_chat(self, user: UserRecord) -> ChatRecord:
        """The user's private chat with the bot; its id is the user's id, as in Telegram."""
        chat = self.chats.get(user.id)
        if chat is None:
            fields = {k: v for k, v in user.as_user().items() if k in _PRIVATE_CHAT_KEYS}
            chat = ChatRecord(
                id=user.id,
                type="private",
                chat={**fields, "type": "private"},
                next_message_id=self.first_message_id,
            )
            self.chats[user.id] = chat
        return chat

    def groups(self) -> list[ChatRecord]:
        """Every group, in creation order."""
        return [chat for chat in self.chats.values() if chat.is_group]

    def chat_for_bot(self, chat_id: int | str) -> ChatRecord:
        """The chat a bot call names, or the error Telegram gives for it."""
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            user = self.users.get(chat_id) if isinstance(chat_id, int) else None
            if user is None:
                raise bad_request(CHAT_NOT_FOUND)
            raise forbidden("bot can't initiate conversation with a user")
        return chat

    def writable_chat(self, chat_id: int | str) -> ChatRecord:
        """A chat the bot may post in now: started, not blocked, still a member."""
        chat = self.chat_for_bot(chat_id)
        if chat.is_group:
            if not chat.bot_member:
                raise forbidden("bot is not a member of the supergroup chat")
            return chat
        user = self.users[chat.id]
        if user.blocked:
            raise forbidden("bot was blocked by the user")
        if not user.started:
            raise forbidden("bot can't initiate conversation with a user")
        return chat

    # --- messages -------------------------------------------------------------------------

    def post(
        self, chat: ChatRecord, sender: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        """Add a message to a chat's transcript; each chat numbers its own messages."""
        message_id = chat.next_message_id
        chat.next_message_id = message_id + 1
        message = {
            "message_id": message_id,
            "from": sender,
            "chat": chat.chat,
            "date": int(self.clock()),
            **content,
        }
        chat.messages[message_id] = message
        self.emit("message", by="bot" if sender.get("is_bot") else "user", message=message)
        return message

    def message(self, chat: ChatRecord, message_id: int, missing: str) -> dict[str, Any]:
        """A message still in the chat, or 400 with the method's wording (`missing`)."""
        message = chat.messages.get(message_id)
        if message is None:
            raise bad_request(missing)
        return message

    def user_message(
        self, user: UserRecord, chat: ChatRecord, content: dict[str, Any]
    ) -> tuple[dict[str, Any], int | None]:
        """A user posts; the bot gets it as a `message` update, unless it has left the group."""
        if not chat.is_group:
            if user.blocked:  # writing to a blocked bot restarts it, as in Telegram
                self.set_blocked(user, False)
            user.started = True
        message = self.post(chat, user.as_user(), content)
        if chat.is_group and not chat.bot_member:
            return message, None
        return message, self.updates.put("message", message)

    def press(
        self, user: UserRecord, chat: ChatRecord, message_id: int, data: str
    ) -> tuple[dict[str, Any], int | None]:
        """A user presses an inline button; the bot gets a `callback_query` update."""
        message = chat.messages.get(message_id)
        if message is None:
            raise ApiError(404, f"message {message_id} not found in chat {chat.id}")
        if not _has_button(message, data):
            raise ApiError(404, f"message {message_id} has no button with callback_data {data!r}")
        query: dict[str, Any] = {"id": str(next(self._callback_ids)), "from": user.as_user()}
        # A message sent in inline mode comes back by its inline_message_id, not as a Message.
        spot = (chat.id, message_id)
        inline_id = next((key for key, at in self.inline_messages.items() if at == spot), None)
        if inline_id is None:
            query["message"] = dict(message)
        else:
            query["inline_message_id"] = inline_id
        query.update({"chat_instance": str(abs(chat.id)), "data": data})
        self.callbacks[query["id"]] = {"query": query, "answered": False}
        self.emit("callback_pressed", callback_query=query)
        return query, self.updates.put("callback_query", query)

    def set_blocked(self, user: UserRecord, blocked: bool) -> int | None:
        """Block or unblock the bot; Telegram sends the bot a `my_chat_member` update."""
        if user.blocked == blocked:
            return None
        user.blocked = blocked
        chat = self.private_chat(user)
        self.emit("blocked" if blocked else "unblocked", user=user.as_user())
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        return self._my_chat_member(chat, user, old, new)

    def leave(self, chat: ChatRecord) -> None:
        """The bot leaves a group; it hears about it as a `my_chat_member` update."""
        chat.bot_member = False
        self.emit("left_chat", chat=chat.chat)
        self._my_chat_member(chat, None, "member", "left")

    def _my_chat_member(
        self, chat: ChatRecord, actor: UserRecord | None, old: str, new: str
    ) -> int | None:
        """Queue a `my_chat_member` update about the bot's own status in a chat."""
        bot = self.bot_user()
        update = {
            "chat": chat.chat,
            "from": actor.as_user() if actor else bot,
            "date": int(self.clock()),
            "old_chat_member": member_status(bot, old),
            "new_chat_member": member_status(bot, new),
        }
        return self.updates.put("my_chat_member", update)


_PRIVATE_CHAT_KEYS = frozenset({"id", "first_name", "last_name", "username"})


def member_status(user: dict[str, Any], status: str) -> dict[str, Any]:
    """Bot API `ChatMember` of the given status (member, left or kicked)."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "kicked":
        member["until_date"] = 0  # 0 = banned forever
    return member


def _has_button(message: dict[str, Any], data: str) -> bool:
    """Whether the message's inline keyboard has a button with this callback_data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return any(button.get("callback_data") == data for row in rows for button in row)
