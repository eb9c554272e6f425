"""Telegram's inline mode: a user types `@bot words`, the bot answers, the user picks a result.

Plain data and rules (no HTTP), like sandbox/state.py: the control API asks (`ask`) and picks
(`choose`) as the user; answerInlineQuery (sandbox/methods/inline.py) checks and stores the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.errors import ApiError

if TYPE_CHECKING:
    from sandbox.state import UserRecord, World

# Telegram refuses an answer to a query older than about this (answerInlineQuery then says
# "query is too old and response timeout expired or query ID is invalid").
ANSWER_TIMEOUT_S = 10.0
QUERY_LIMIT = 256  # InlineQuery.query: "up to 256 characters"
OFFSET_LIMIT = 64  # answerInlineQuery.next_offset: "can't exceed 64 bytes"
DEFAULT_CACHE_TIME = 300  # answerInlineQuery.cache_time: "Defaults to 300"


@dataclass(slots=True)
class InlineAnswer:
    """What answerInlineQuery gave: the results as the bot sent them, and for each result id
    the message choosing it posts (None when the sandbox cannot build it, e.g. a GIF by URL)."""

    results: list[dict[str, Any]]
    contents: dict[str, dict[str, Any] | None]
    cache_time: int = DEFAULT_CACHE_TIME
    is_personal: bool = False
    next_offset: str = ""
    button: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The answer as the control API and the events show it."""
        answer: dict[str, Any] = {
            "results": self.results,
            "cache_time": self.cache_time,
            "is_personal": self.is_personal,
            "next_offset": self.next_offset,
        }
        if self.button is not None:
            answer["button"] = self.button
        return answer


@dataclass(slots=True)
class InlineQuery:
    """One `@bot words` query: the `InlineQuery` the bot got, where it was typed, its answer."""

    query: dict[str, Any]
    chat_id: int  # as the user sees it: a group, the bot's chat (their id) or another user's id
    sent_at: float
    answer: InlineAnswer | None = None

    @property
    def id(self) -> str:
        return self.query["id"]

    def answerable(self, now: float) -> bool:
        """Telegram takes one answer, and only while the user still waits for it."""
        return self.answer is None and now - self.sent_at <= ANSWER_TIMEOUT_S


def chat_type(world: World, user: UserRecord, chat_id: int) -> str:
    """InlineQuery.chat_type: "sender" in the user's chat with the bot itself, "private" in a
    chat with another user, else the group's type."""
    if chat_id == user.id:
        return "sender"
    if chat_id in world.users:
        return "private"
    return world.chats[chat_id].type


def ask(
    world: World, user: UserRecord, chat_id: int, text: str, offset: str = ""
) -> tuple[InlineQuery, int | None]:
    """The user types `@bot <text>` in a chat; the bot gets an `inline_query` update."""
    query = {
        # Entries are never removed, so their count numbers them.
        "id": str(len(world.inline_queries) + 1),
        "from": user.as_user(),
        "query": text,
        "offset": offset,
        "chat_type": chat_type(world, user, chat_id),
    }
    record = InlineQuery(query, chat_id, world.clock())
    world.inline_queries[record.id] = record
    world.emit("inline_query", inline_query=query, chat_id=chat_id)
    return record, world.updates.put("inline_query", query)


def choose(
    world: World, user: UserRecord, record: InlineQuery, result_id: str
) -> tuple[dict[str, Any] | None, int | None, dict[str, Any], int | None]:
    """The user picks a result: the message goes to the chat from the user `via_bot`, then the
    bot gets a `chosen_inline_result` update. Returns (message, its update_id, the chosen result,
    its update_id); the message is None in a chat with another user, which the sandbox does not
    keep (the bot is not in it)."""
    if record.query["from"]["id"] != user.id:
        raise ApiError(403, f"inline query {record.id} was sent by another user")
    if record.answer is None:
        raise ApiError(400, f"inline query {record.id} is not answered yet")
    if result_id not in record.answer.contents:
        raise ApiError(400, f"inline query {record.id} has no result with id {result_id!r}")
    content = record.answer.contents[result_id]
    if content is None:
        kind = next(r["type"] for r in record.answer.results if str(r["id"]) == result_id)
        raise ApiError(
            400,
            f"the sandbox cannot post this {kind} result: it posts text content, cached photos "
            "and cached documents",
        )
    # Every check has passed: from here on the call changes the world.
    content = {**content, "via_bot": world.bot_user()}
    message, update_id = None, None
    if record.query["chat_type"] != "private":
        chat = (
            world.private_chat(user) if record.chat_id == user.id else world.chats[record.chat_id]
        )
        message, update_id = world.user_message(user, chat, content)
    chosen = {"result_id": result_id, "from": user.as_user(), "query": record.query["query"]}
    if "reply_markup" in content:  # ChosenInlineResult.inline_message_id: only with a keyboard
        inline_message_id = f"sandbox-inline-{len(world.inline_messages) + 1}"
        world.inline_messages[inline_message_id] = (
            (message["chat"]["id"], message["message_id"]) if message else None
        )
        chosen["inline_message_id"] = inline_message_id
    world.emit("inline_chosen", chosen_inline_result=chosen, chat_id=record.chat_id)
    return message, update_id, chosen, world.updates.put("chosen_inline_result", chosen)
