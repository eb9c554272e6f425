"""The control API of SPEC §7: tests, the sandbox page and outside checks act as Telegram users.

Every call checks its whole input before changing anything, so a refused call changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.core import SANDBOX_KEY, Sandbox
from sandbox.errors import ApiError
from sandbox.events import stream_events
from sandbox.formatting import CAPTION_LIMIT, TEXT_LIMIT, utf16_len
from sandbox.limits import LimitSettings
from sandbox.state import ChatRecord, UserRecord, World
from sandbox.validation import ControlError, field, file_spec, int_list, int_path, json_body

Handler = Callable[[web.Request], Awaitable[web.Response]]
FILE_KINDS = ("photo", "document", "voice", "sticker")


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
    """POST /sandbox/users {id?, first_name, last_name?, username?, language_code?} → User."""
    world = _sandbox(request).world
    body = await json_body(request)
    first_name = field(body, "first_name", str, required=True)
    user_id = field(body, "id", int)
    extra = {k: field(body, k, str) for k in ("last_name", "username", "language_code")}
    if not first_name.strip():
        raise ControlError(400, "field 'first_name' must not be empty")
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


def _content(world: World, body: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """Message content from the body, and the files to store once every check has passed."""
    text = field(body, "text", str)
    caption = field(body, "caption", str)
    location = field(body, "location", dict)
    files = [(kind, file_spec(body, kind)) for kind in FILE_KINDS]
    files = [(kind, spec) for kind, spec in files if spec is not None]
    if text is not None and utf16_len(text) > TEXT_LIMIT:
        raise ControlError(400, "message is too long")
    if caption is not None and utf16_len(caption) > CAPTION_LIMIT:
        raise ControlError(400, "message caption is too long")
    kinds = (text is not None) + (location is not None) + len(files)
    if kinds != 1:
        raise ControlError(
            400, "give exactly one of text, photo, document, voice, sticker, location"
        )
    if text is not None and not text.strip():
        raise ControlError(400, "message text is empty")
    for kind, spec in files:
        if isinstance(spec, str) and world.files.get(spec) is None:
            raise ControlError(404, f"{kind}: file_id {spec!r} not found")
    content: dict[str, Any] = {}
    if text is not None:
        content["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
    if location is not None:
        lat, lon = location.get("latitude"), location.get("longitude")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
            raise ControlError(400, "location needs numeric latitude and longitude")
        content["location"] = {"latitude": lat, "longitude": lon}
    if caption and files:
        content["caption"] = caption
    return content, files


async def user_send(request: web.Request) -> web.Response:
    """POST /sandbox/users/{uid}/send → {"message": Message, "update_id": N}."""
    world = _sandbox(request).world
    user = _user(world, int_path(request, "uid"))
    body = await json_body(request)
    chat_id = field(body, "chat_id", int)
    reply_to = field(body, "reply_to_message_id", int)
    content, files = _content(world, body)
    chat = _chat_of(world, user, chat_id)
    if reply_to is not None:
        replied = chat.messages.get(reply_to) if chat else None
        if replied is None:
            raise ControlError(404, f"message {reply_to} not found in chat {chat_id or user.id}")
        content["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
    # Every check has passed: from here on the call changes the world.
    chat = chat or world.private_chat(user)
    for kind, spec in files:
        stored = (
            world.files.get(spec)
            if isinstance(spec, str)
            else world.files.add(kind, spec[0], spec[1])
        )
        content.update(stored.as_content(kind))
    if not chat.is_group and user.blocked:
        world.set_blocked(user, False)  # writing to a blocked bot restarts it, as in Telegram
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
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ControlError(400, f"field {name!r} must be a positive number")
    current.update(body)
    current["per_chat_burst"] = int(current["per_chat_burst"])
    sandbox.limiter.configure(LimitSettings(**current))
    return _ok(sandbox.limiter.settings.as_dict())


async def get_limits(request: web.Request) -> web.Response:
    """GET /sandbox/limits → the current rates."""
    return _ok(_sandbox(request).limiter.settings.as_dict())


async def add_fault(request: web.Request) -> web.Response:
    """POST /sandbox/faults {method, error_code, description, count, retry_after?}."""
    body = await json_body(request)
    method = field(body, "method", str, required=True)
    code = field(body, "error_code", int, required=True)
    description = field(body, "description", str, required=True)
    count = field(body, "count", int)
    retry_after = field(body, "retry_after", int)
    count = 1 if count is None else count
    if not 400 <= code <= 599 or count < 1:
        raise ControlError(400, "error_code must be 400-599 and count at least 1")
    _sandbox(request).add_fault(method, ApiError(code, description, retry_after), count)
    return _ok({"ok": True, "method": method, "count": count})


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
    r.add_post("/users/{uid}/{action:block|unblock}", user_block)
    r.add_get("/chats/{chat_id}/messages", chat_messages)
    r.add_get("/events", stream_events)
    r.add_put("/limits", put_limits)
    r.add_get("/limits", get_limits)
    r.add_post("/faults", add_fault)
    r.add_post("/reset", reset)
    app.add_subapp("/sandbox", control)
