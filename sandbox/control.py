"""The control API of SPEC §7: tests, the sandbox page and outside checks act as Telegram users.

Every call checks its whole input before changing anything, so a refused call changes nothing.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox import inline
from sandbox.core import SANDBOX_KEY, Fault, Sandbox
from sandbox.errors import ApiError
from sandbox.events import stream_events
from sandbox.files import StoredFile
from sandbox.formatting import CAPTION_LIMIT, PREMIUM_CAPTION_LIMIT, TEXT_LIMIT, utf16_len
from sandbox.limits import LimitSettings
from sandbox.state import ChatRecord, UserRecord, World
from sandbox.validation import ControlError, field, file_spec, int_list, int_path, json_body

Handler = Callable[[web.Request], Awaitable[web.Response]]
# What a user's message carries: exactly one of these (SPEC §7, POST /sandbox/users/{uid}/send).
CONTENT_KINDS = ("text", "photo", "document", "voice", "sticker", "location")
CAPTIONED = ("photo", "document", "voice")  # stickers and locations take no caption on Telegram
VOICE_MIME = "audio/ogg"  # a voice note is OGG/Opus; Telegram reports it so
NAME_LIMIT = 64  # Telegram's limit on a first name
EMOJI_MAX = 16  # room for ZWJ sequences such as 👩‍👩‍👧‍👦, which are one emoji


def _ok(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )


def _refused(status: int, description: str) -> web.Response:
    return _ok({"ok": False, "description": description}, status)


@web.middleware
async def control_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn refusals into `{"ok": false, "description"}` JSON with their 4xx status."""
    try:
        return await handler(request)
    except ControlError as error:
        return _refused(error.status, error.description)
    except ApiError as error:
        return _refused(error.error_code, error.description)
    except web.HTTPException as error:
        if not request.path.startswith("/sandbox/") or error.status < 400:
            raise
        return _refused(error.status, error.reason)


def _sandbox(request: web.Request) -> Sandbox:
    return request.config_dict[SANDBOX_KEY]  # set on the main app; this is the control sub-app


def _user(world: World, user_id: int) -> UserRecord:
    user = world.users.get(user_id)
    if user is None:
        raise ControlError(404, f"user {user_id} not found")
    return user


async def create_user(request: web.Request) -> web.Response:
    """POST /sandbox/users {id?, first_name, last_name?, username?, language_code?, is_premium?}
    → User."""
    world = _sandbox(request).world
    body = await json_body(request)
    first_name = field(body, "first_name", str, required=True)
    user_id = field(body, "id", int)
    extra: dict[str, Any] = {
        k: field(body, k, str) for k in ("last_name", "username", "language_code")
    }
    extra["is_premium"] = field(body, "is_premium", bool) or False
    if not first_name.strip():
        raise ControlError(400, "field 'first_name' must not be empty")
    if len(first_name) > NAME_LIMIT:
        raise ControlError(400, f"field 'first_name' is longer than {NAME_LIMIT} characters")
    if user_id is not None and (user_id <= 0 or user_id in world.users):
        raise ControlError(
            409 if user_id in world.users else 400,
            f"user id {user_id} is taken" if user_id in world.users else "user id must be positive",
        )
    user = world.add_user(first_name, user_id, **{k: v for k, v in extra.items() if v})
    return _ok(user.as_user())


async def list_users(request: web.Request) -> web.Response:
    """GET /sandbox/users → {"users": [User, …]}."""
    world = _sandbox(request).world
    return _ok({"users": [user.as_user() for user in world.users.values()]})


async def create_group(request: web.Request) -> web.Response:
    """POST /sandbox/groups {id?, title, member_ids, forum?} → Chat (a supergroup)."""
    world = _sandbox(request).world
    body = await json_body(request)
    title = field(body, "title", str, required=True)
    member_ids = int_list(body, "member_ids")
    group_id = field(body, "id", int)
    forum = field(body, "forum", bool) or False
    unknown = [uid for uid in member_ids if uid not in world.users]
    if unknown:
        raise ControlError(404, f"user {unknown[0]} not found")
    if group_id is not None and (group_id >= 0 or group_id in world.chats):
        raise ControlError(
            409 if group_id in world.chats else 400,
            f"chat id {group_id} is taken"
            if group_id in world.chats
            else "group id must be negative (e.g. -100…)",
        )
    return _ok(world.add_group(title, member_ids, group_id, forum).chat)


async def list_groups(request: web.Request) -> web.Response:
    """GET /sandbox/groups → {"groups": [Chat, …]}."""
    world = _sandbox(request).world
    return _ok({"groups": [group.chat for group in world.groups()]})


def _chat_of(world: World, user: UserRecord, chat_id: int | None) -> ChatRecord | None:
    """The chat a user acts in: a group they belong to, or their private chat (None if new)."""
    if chat_id is None or chat_id == user.id:
        return world.chats.get(user.id)
    chat = world.chats.get(chat_id)
    if chat is None or not chat.is_group:
        raise ControlError(404, f"chat {chat_id} not found")
    if user.id not in chat.member_ids:
        raise ControlError(403, f"user {user.id} is not a member of chat {chat_id}")
    return chat


@dataclass(frozen=True, slots=True)
class Media:
    """A file a user sends: one the sandbox knows, or bytes stored once every check has passed."""

    kind: str
    known: StoredFile | None = None
    data: bytes = b""
    filename: str = ""
    mime_type: str = ""
    duration: int | None = None  # voice only
    emoji: str = ""  # a new sticker only

    def store(self, world: World) -> dict[str, Any]:
        """Store the file if new; its message field, e.g. `{"voice": Voice}`."""
        stored = self.known or world.files.add(self.kind, self.data, self.filename, self.mime_type)
        if self.emoji:
            stored.emoji = self.emoji
        content = stored.as_content(self.kind)
        if self.duration is not None:
            content["voice"]["duration"] = self.duration
        return content


def _known_file(world: World, kind: str, file_id: str, *, same_kind: bool) -> StoredFile:
    """A file the sandbox stored earlier (`same_kind`: a voice must be a voice, as in Telegram)."""
    stored = world.files.get(file_id)
    if stored is None:
        raise ControlError(404, f"{kind}: file_id {file_id!r} not found")
    if same_kind and stored.kind != kind:
        raise ControlError(400, f"{kind}: file_id {file_id!r} is a {stored.kind}, not a {kind}")
    return stored


def _file(world: World, body: dict[str, Any], kind: str) -> Media:
    """A photo, document or voice: `{"data_base64", "filename"?}` or `{"file_id"}`."""
    spec = file_spec(body, kind)
    value = body[kind]
    duration = value.get("duration") if kind == "voice" and isinstance(value, dict) else None
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int) or duration < 0
    ):
        raise ControlError(400, "voice.duration must be a non-negative integer (seconds)")
    if isinstance(spec, str):
        known = _known_file(world, kind, spec, same_kind=kind == "voice")
        return Media(kind, known, duration=duration)
    data, filename = spec
    if not data:
        raise ControlError(400, f"{kind}: file must be non-empty")
    return Media(kind, None, data, filename, VOICE_MIME if kind == "voice" else "", duration)


def _sticker(world: World, body: dict[str, Any]) -> Media:
    """A sticker the sandbox knows (`{"file_id"}`) or a new one for an emoji (`{"emoji"}`)."""
    value = body["sticker"]
    value = {"file_id": value} if isinstance(value, str) else value
    if not isinstance(value, dict) or ("file_id" in value) == ("emoji" in value):
        raise ControlError(400, "field 'sticker' must be an object with file_id or emoji")
    if "file_id" in value:
        if not isinstance(value["file_id"], str):
            raise ControlError(400, "sticker.file_id must be a string")
        return Media("sticker", _known_file(world, "sticker", value["file_id"], same_kind=True))
    emoji = value["emoji"]
    if not isinstance(emoji, str) or not emoji or len(emoji) > EMOJI_MAX:
        raise ControlError(400, f"sticker.emoji must be one emoji (1-{EMOJI_MAX} characters)")
    if any(ch.isalnum() or ch.isspace() for ch in emoji):
        raise ControlError(400, "sticker.emoji must be an emoji, not letters, digits or spaces")
    # A placeholder WebP container: the sandbox never draws a sticker, it only passes it on.
    payload = emoji.encode()
    data = b"RIFF" + struct.pack("<I", 4 + len(payload)) + b"WEBP" + payload
    return Media("sticker", None, data, "", "image/webp", emoji=emoji)


def _location(body: dict[str, Any]) -> dict[str, float]:
    """`{"latitude", "longitude"}` in degrees, checked against sendLocation's ranges."""
    value = field(body, "location", dict)
    point: dict[str, float] = {}
    for name, bound in (("latitude", 90), ("longitude", 180)):
        degrees = value.get(name)
        if isinstance(degrees, bool) or not isinstance(degrees, int | float):
            raise ControlError(400, f"location.{name} must be a number")
        if not -bound <= degrees <= bound:  # NaN fails this too
            raise ControlError(400, f"location.{name} must be between -{bound} and {bound}")
        point[name] = float(degrees)
    return point


def _content(
    world: World, body: dict[str, Any], premium: bool = False
) -> tuple[dict[str, Any], Media | None]:
    """Message content from the body, and the file to store once every check has passed."""
    given = [kind for kind in CONTENT_KINDS if body.get(kind) is not None]
    if len(given) != 1:
        got = f" (got {' and '.join(given)})" if given else ""
        raise ControlError(400, f"give exactly one of {', '.join(CONTENT_KINDS)}{got}")
    kind = given[0]
    caption = field(body, "caption", str)
    if caption is not None and kind not in CAPTIONED:
        raise ControlError(400, f"a {kind} takes no caption (only {', '.join(CAPTIONED)} do)")
    if caption is not None and utf16_len(caption) > (
        PREMIUM_CAPTION_LIMIT if premium else CAPTION_LIMIT
    ):
        raise ControlError(400, "message caption is too long")
    content: dict[str, Any] = {}
    media: Media | None = None
    if kind == "text":
        text = field(body, "text", str)
        if utf16_len(text) > TEXT_LIMIT:
            raise ControlError(400, "message is too long")
        if not text.strip():
            raise ControlError(400, "message text is empty")
        content["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
    elif kind == "location":
        content["location"] = _location(body)
    elif kind == "sticker":
        media = _sticker(world, body)
    else:
        media = _file(world, body, kind)
    if caption:
        content["caption"] = caption
    return content, media


async def user_send(request: web.Request) -> web.Response:
    """POST /sandbox/users/{uid}/send → {"message": Message, "update_id": N}."""
    world = _sandbox(request).world
    user = _user(world, int_path(request, "uid"))
    body = await json_body(request)
    chat_id = field(body, "chat_id", int)
    reply_to = field(body, "reply_to_message_id", int)
    content, media = _content(world, body, user.is_premium)
    chat = _chat_of(world, user, chat_id)
    if reply_to is not None:
        replied = chat.messages.get(reply_to) if chat else None
        if replied is None:
            raise ControlError(404, f"message {reply_to} not found in chat {chat_id or user.id}")
        content["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
    # Every check has passed: from here on the call changes the world.
    chat = chat or world.private_chat(user)
    if media is not None:
        content = {**media.store(world), **content}
    message, update_id = world.user_message(user, chat, content)
    return _ok({"message": message, "update_id": update_id})


async def user_press(request: web.Request) -> web.Response:
    """POST /sandbox/users/{uid}/press {chat_id, message_id, data} → the callback_query."""
    world = _sandbox(request).world
    user = _user(world, int_path(request, "uid"))
    body = await json_body(request)
    chat_id = field(body, "chat_id", int, required=True)
    message_id = field(body, "message_id", int, required=True)
    data = field(body, "data", str, required=True)
    if chat_id != user.id and chat_id not in world.chats:
        raise ControlError(404, f"chat {chat_id} not found")
    chat = world.chats.get(chat_id)
    if chat is None:
        raise ControlError(404, f"message {message_id} not found in chat {chat_id}")
    if chat.is_group and user.id not in chat.member_ids:
        raise ControlError(403, f"user {user.id} is not a member of chat {chat_id}")
    query, update_id = world.press(user, chat, message_id, data)
    return _ok({"callback_query": query, "update_id": update_id})


async def callback_answer(request: web.Request) -> web.Response:
    """GET /sandbox/callbacks/{query_id} → {"answered": bool, "answer": {text?, show_alert?, …}}:
    what the pressing user saw (Telegram shows it as a toast)."""
    record = _sandbox(request).world.callbacks.get(request.match_info["query_id"])
    if record is None:
        raise ControlError(404, f"callback query {request.match_info['query_id']} not found")
    return _ok({"answered": record["answered"], "answer": record.get("answer")})


async def user_inline(request: web.Request) -> web.Response:
    """POST /sandbox/users/{uid}/inline {query, chat_id?, offset?} → {"inline_query_id",
    "inline_query", "update_id"}: the user types `@bot <query>` in a chat (their chat with the bot
    when chat_id is absent; another user's id: their chat with that user; or a group of theirs)."""
    world = _sandbox(request).world
    user = _user(world, int_path(request, "uid"))
    body = await json_body(request)
    text = field(body, "query", str, required=True)
    offset = field(body, "offset", str) or ""
    chat_id = field(body, "chat_id", int)
    if len(text) > inline.QUERY_LIMIT:
        raise ControlError(400, f"query is longer than {inline.QUERY_LIMIT} characters")
    if len(offset.encode()) > inline.OFFSET_LIMIT:
        raise ControlError(400, f"offset is longer than {inline.OFFSET_LIMIT} bytes")
    if chat_id is None:
        chat_id = user.id
    elif chat_id not in world.users:
        _chat_of(world, user, chat_id)  # a group the user is in, or 404 / 403
    record, update_id = inline.ask(world, user, chat_id, text, offset)
    return _ok({"inline_query_id": record.id, "inline_query": record.query, "update_id": update_id})


def _inline_query(world: World, query_id: str) -> inline.InlineQuery:
    record = world.inline_queries.get(query_id)
    if record is None:
        raise ControlError(404, f"inline query {query_id} not found")
    return record


async def inline_answer(request: web.Request) -> web.Response:
    """GET /sandbox/inline/{query_id} → {"answered": bool, "answer": {results, cache_time,
    is_personal, next_offset, button?}}: what the user's app lists under the input field."""
    record = _inline_query(_sandbox(request).world, request.match_info["query_id"])
    answer = record.answer.as_dict() if record.answer else None
    return _ok({"answered": answer is not None, "answer": answer})


async def user_choose(request: web.Request) -> web.Response:
    """POST /sandbox/users/{uid}/choose {inline_query_id, result_id} → {"message", "update_id",
    "chosen_inline_result", "chosen_update_id"}: the user picks a result of their query; it is
    posted from them `via_bot` (message: null in a chat with another user, which the sandbox
    does not keep)."""
    world = _sandbox(request).world
    user = _user(world, int_path(request, "uid"))
    body = await json_body(request)
    record = _inline_query(world, field(body, "inline_query_id", str, required=True))
    result_id = field(body, "result_id", str, required=True)
    message, update_id, chosen, chosen_update_id = inline.choose(world, user, record, result_id)
    return _ok(
        {
            "message": message,
            "update_id": update_id,
            "chosen_inline_result": chosen,
            "chosen_update_id": chosen_update_id,
        }
    )


async def user_block(request: web.Request) -> web.Response:
    """POST /sandbox/users/{uid}/block or /unblock → {"user", "update_id"}."""
    world = _sandbox(request).world
    user = _user(world, int_path(request, "uid"))
    blocked = request.match_info["action"] == "block"
    update_id = world.set_blocked(user, blocked)
    return _ok({"user": user.as_user(), "blocked": user.blocked, "update_id": update_id})


async def chat_messages(request: web.Request) -> web.Response:
    """GET /sandbox/chats/{chat_id}/messages → what the chat shows now, oldest first."""
    world = _sandbox(request).world
    chat_id = int_path(request, "chat_id")
    chat = world.chats.get(chat_id)
    if chat is None:
        if chat_id in world.users:
            return _ok({"messages": []})
        raise ControlError(404, f"chat {chat_id} not found")
    return _ok({"messages": list(chat.messages.values())})


async def put_limits(request: web.Request) -> web.Response:
    """PUT /sandbox/limits {enabled, per_chat_per_s, per_group_per_min, global_per_s}."""
    sandbox = _sandbox(request)
    body = await json_body(request)
    current = sandbox.limiter.settings.as_dict()
    for name, value in body.items():
        if name not in current:
            raise ControlError(400, f"unknown limit {name!r}")
        if name == "enabled":
            if not isinstance(value, bool):
                raise ControlError(400, "field 'enabled' must be a boolean")
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ControlError(400, f"field {name!r} must be a positive number")
    current.update(body)
    current["per_chat_burst"] = int(current["per_chat_burst"])
    sandbox.limiter.configure(LimitSettings(**current))
    return _ok(sandbox.limiter.settings.as_dict())


async def get_limits(request: web.Request) -> web.Response:
    """GET /sandbox/limits → the current rates, and `refused`: how many messages were answered
    429 since the server started (a bot that keeps the limits has none)."""
    limiter = _sandbox(request).limiter
    return _ok({**limiter.settings.as_dict(), "refused": limiter.refused})


async def add_fault(request: web.Request) -> web.Response:
    """POST /sandbox/faults {method, count?, error_code?, description?, retry_after?, delay?}:
    the next `count` calls of `method` wait `delay` seconds (a number, or [low, high] for a
    random wait: jitter; longer than the client's timeout: a hung call), then fail with
    `error_code` and `description`, or go through when no error_code is given."""
    body = await json_body(request)
    method = field(body, "method", str, required=True)
    code = field(body, "error_code", int)
    count = field(body, "count", int)
    count = 1 if count is None else count
    if count < 1:
        raise ControlError(400, "count must be at least 1")
    delay = _delay(body.get("delay"))
    if code is None and delay == (0.0, 0.0):
        raise ControlError(400, "give an error_code (400-599), a delay, or both")
    error = None
    if code is not None:
        description = field(body, "description", str, required=True)
        if not 400 <= code <= 599:
            raise ControlError(400, "error_code must be 400-599")
        error = ApiError(code, description, field(body, "retry_after", int))
    _sandbox(request).add_fault(method, Fault(error, count, delay))
    return _ok({"ok": True, "method": method, "count": count})


MAX_DELAY = 600.0  # seconds: longer than any client waits


def _delay(value: Any) -> tuple[float, float]:
    """`delay` as (low, high) seconds: a number, or a list of two; finite, 0 to MAX_DELAY."""
    if value is None:
        return 0.0, 0.0
    bounds = value if isinstance(value, list) else [value, value]
    numbers = all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
    if len(bounds) != 2 or not numbers:
        raise ControlError(400, "delay must be seconds: a number, or [low, high]")
    low, high = float(bounds[0]), float(bounds[1])
    if not (math.isfinite(low) and math.isfinite(high) and 0 <= low <= high <= MAX_DELAY):
        raise ControlError(400, f"delay must be within 0-{MAX_DELAY:g} seconds, low before high")
    return low, high


async def reset(request: web.Request) -> web.Response:
    """POST /sandbox/reset: forget everything."""
    await _sandbox(request).reset()
    return _ok({"ok": True})


def add_routes(app: web.Application) -> None:
    """Mount the control API under /sandbox/, as a sub-app of its own.

    Only the sub-app has the `control_errors` middleware: the Bot API calls (the benchmark's hot
    path) then skip it, and a 404 or 405 under /sandbox/ still answers as JSON.
    """
    control = web.Application(middlewares=[control_errors])
    r = control.router
    r.add_post("/users", create_user)
    r.add_get("/users", list_users)
    r.add_post("/groups", create_group)
    r.add_get("/groups", list_groups)
    r.add_post("/users/{uid}/send", user_send)
    r.add_post("/users/{uid}/press", user_press)
    r.add_get("/callbacks/{query_id}", callback_answer)
    r.add_post("/users/{uid}/inline", user_inline)
    r.add_get("/inline/{query_id}", inline_answer)
    r.add_post("/users/{uid}/choose", user_choose)
    r.add_post("/users/{uid}/{action:block|unblock}", user_block)
    r.add_get("/chats/{chat_id}/messages", chat_messages)
    r.add_get("/events", stream_events)
    r.add_put("/limits", put_limits)
    r.add_get("/limits", get_limits)
    r.add_post("/faults", add_fault)
    r.add_post("/reset", reset)
    app.add_subapp("/sandbox", control)
