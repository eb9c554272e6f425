"""Pytest plugin: a sandbox Bot API server per test and a small client for its control API.

Fixtures: `sandbox_server` (the base URL, e.g. "http://127.0.0.1:40123") and `sandbox` (a
`SandboxClient` on that server). End-to-end tests then read like a conversation:

    ani = await sandbox.add_user("Ani")
    await sandbox.send(ani["id"], "/start")
    reply = await sandbox.wait_for(ani["id"], lambda m: m["from"]["is_bot"])
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot

from sandbox.server import create_app

BOT_TOKEN = "123456789:sandbox-test-token"
Message = dict[str, Any]


class SandboxError(Exception):
    """The control API refused a call: its HTTP status and description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


@contextlib.asynccontextmanager
async def running_sandbox(**options: Any) -> AsyncIterator[tuple[str, web.Application]]:
    """Run a sandbox in this event loop on a free port; yields (base URL, app)."""
    options.setdefault("webhook_retry", (0.05, 0.2))
    app = create_app(**options)
    async with serving(app) as url:
        yield url, app


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve an aiohttp app in this event loop on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class EventStream:
    """Events read from GET /sandbox/events, one dict each."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def next(self, timeout: float = 2.0) -> dict[str, Any]:
        """The next event; TimeoutError when none comes in time."""
        async with asyncio.timeout(timeout):
            while True:
                line = (await self._response.content.readline()).decode()
                if not line:
                    raise ConnectionError("event stream closed")
                if line.startswith("data: "):
                    return json.loads(line[6:])

    async def next_of(self, kind: str, timeout: float = 2.0) -> dict[str, Any]:
        """The next event of this type, skipping others."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next(timeout)
                if event["type"] == kind:
                    return event


class SandboxClient:
    """The control API as methods; Bot API objects come back as plain dicts."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.session = session

    def bot(self, token: str = BOT_TOKEN) -> Bot:
        """A python-telegram-bot `Bot` pointed at this sandbox (use `async with`)."""
        return Bot(
            token, base_url=f"{self.base_url}/bot", base_file_url=f"{self.base_url}/file/bot"
        )

    async def request(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None
    ) -> tuple[int, Any]:
        """Any call: (status, decoded JSON); for tests of bad input."""
        kwargs: dict[str, Any] = {"json": body} if raw is None else {"data": raw}
        async with self.session.request(method, self.base_url + path, **kwargs) as response:
            return response.status, await response.json()

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = await self.request(method, path, body)
        if status >= 400:
            raise SandboxError(status, answer.get("description", ""))
        return answer

    async def add_user(self, first_name: str, **fields: Any) -> dict[str, Any]:
        """Create a user (fields: id, last_name, username, language_code) → User."""
        return await self._call("POST", "/sandbox/users", {"first_name": first_name, **fields})

    async def add_group(self, title: str, member_ids: list[int], **fields: Any) -> dict[str, Any]:
        """Create a supergroup with these members and the bot → Chat."""
        body = {"title": title, "member_ids": member_ids, **fields}
        return await self._call("POST", "/sandbox/groups", body)

    async def send(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat_id: int | None = None,
        photo: bytes | str | None = None,
        document: bytes | str | None = None,
        voice: bytes | str | None = None,
        sticker: str | dict[str, str] | None = None,
        location: tuple[float, float] | dict[str, Any] | None = None,
        filename: str | None = None,
        duration: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """The user sends a message (private chat unless chat_id) → {message, update_id}.

        Files are bytes (uploaded, named `filename`) or a file_id; `duration` goes with a voice;
        a sticker is a file_id or `{"emoji": "😀"}` for a new one; a location is (lat, lon).
        """
        body: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        if text is not None:
            body["text"] = text
        if chat_id is not None:
            body["chat_id"] = chat_id
        for kind, value in (("photo", photo), ("document", document), ("voice", voice)):
            if isinstance(value, bytes):
                body[kind] = {"data_base64": base64.b64encode(value).decode()}
                if filename:
                    body[kind]["filename"] = filename
            elif value is not None:
                body[kind] = {"file_id": value}
        if voice is not None and duration is not None:
            body["voice"]["duration"] = duration
        if sticker is not None:
            body["sticker"] = {"file_id": sticker} if isinstance(sticker, str) else sticker
        if isinstance(location, tuple):
            body["location"] = {"latitude": location[0], "longitude": location[1]}
        elif location is not None:
            body["location"] = location
        return await self._call("POST", f"/sandbox/users/{user_id}/send", body)

    async def press(self, user_id: int, chat_id: int, message_id: int, data: str) -> dict:
        """The user presses the inline button with this callback_data → {callback_query, …}."""
        body = {"chat_id": chat_id, "message_id": message_id, "data": data}
        return await self._call("POST", f"/sandbox/users/{user_id}/press", body)

    async def callback_answer(self, query_id: str, timeout: float = 3.0) -> dict[str, Any]:
        """What the bot answered to a button press (waits for the answer): {text?, …}."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = await self._call("GET", f"/sandbox/callbacks/{query_id}")
            if found["answered"]:
                return found["answer"]
            if loop.time() > deadline:
                raise AssertionError(f"callback query {query_id} was not answered")
            await asyncio.sleep(0.02)

    async def inline_query(
        self, user_id: int, query: str, chat_id: int | None = None, offset: str = ""
    ) -> str:
        """The user types `@bot <query>` in a chat (their chat with the bot unless chat_id: a
        group, or another user's id for their chat with that user) → the inline_query_id."""
        body: dict[str, Any] = {"query": query, "offset": offset}
        if chat_id is not None:
            body["chat_id"] = chat_id
        answer = await self._call("POST", f"/sandbox/users/{user_id}/inline", body)
        return answer["inline_query_id"]

    async def inline_answer(self, query_id: str, timeout: float = 3.0) -> dict[str, Any]:
        """What the bot answered to an inline query (waits for the answer): {results,
        cache_time, is_personal, next_offset, button?}."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = await self._call("GET", f"/sandbox/inline/{query_id}")
            if found["answered"]:
                return found["answer"]
            if loop.time() > deadline:
                raise AssertionError(f"inline query {query_id} was not answered")
            await asyncio.sleep(0.02)

    async def choose_inline(self, user_id: int, query_id: str, result_id: str) -> dict[str, Any]:
        """The user picks a result of their answered inline query → {message (None in a chat
        with another user), update_id, chosen_inline_result, chosen_update_id}."""
        body = {"inline_query_id": query_id, "result_id": result_id}
        return await self._call("POST", f"/sandbox/users/{user_id}/choose", body)

    async def block(self, user_id: int) -> dict[str, Any]:
        """The user blocks the bot."""
        return await self._call("POST", f"/sandbox/users/{user_id}/block")

    async def unblock(self, user_id: int) -> dict[str, Any]:
        """The user unblocks the bot."""
        return await self._call("POST", f"/sandbox/users/{user_id}/unblock")

    async def messages(self, chat_id: int) -> list[Message]:
        """What the chat shows now, oldest first."""
        answer = await self._call("GET", f"/sandbox/chats/{chat_id}/messages")
        return answer["messages"]

    async def users(self) -> list[dict[str, Any]]:
        """Every user."""
        return (await self._call("GET", "/sandbox/users"))["users"]

    async def groups(self) -> list[dict[str, Any]]:
        """Every group."""
        return (await self._call("GET", "/sandbox/groups"))["groups"]

    async def wait_for(
        self, chat_id: int, predicate: Callable[[Message], bool], timeout: float = 3.0
    ) -> Message:
        """The first message in the chat that satisfies `predicate`, polling until `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            shown = await self.messages(chat_id)
            for message in shown:
                if predicate(message):
                    return message
            if loop.time() > deadline:
                texts = [m.get("text") or m.get("caption") for m in shown]
                raise AssertionError(f"no matching message in chat {chat_id}; it shows {texts}")
            await asyncio.sleep(0.02)

    async def set_limits(self, **limits: Any) -> dict[str, Any]:
        """Change flood limits (enabled, per_chat_per_s, per_chat_burst, per_group_per_min,
        global_per_s)."""
        return await self._call("PUT", "/sandbox/limits", limits)

    async def fault(
        self,
        method: str,
        error_code: int | None = None,
        description: str | None = None,
        count: int = 1,
        **extra: Any,
    ) -> dict[str, Any]:
        """Make the next `count` calls of a Bot API method wait and/or fail (extra:
        retry_after, delay: seconds or [low, high])."""
        body = {"method": method, "count": count, **extra}
        if error_code is not None:
            body |= {"error_code": error_code, "description": description}
        return await self._call("POST", "/sandbox/faults", body)

    async def reset(self) -> None:
        """Forget everything."""
        await self._call("POST", "/sandbox/reset")

    @contextlib.asynccontextmanager
    async def events(self) -> AsyncIterator[EventStream]:
        """Listen to the event stream (subscribed once the context is entered)."""
        async with self.session.get(f"{self.base_url}/sandbox/events") as response:
            await response.content.readline()  # ": connected" — the listener is in place
            await response.content.readline()
            yield EventStream(response)


@pytest.fixture
async def sandbox_server() -> AsyncIterator[str]:
    """A fresh sandbox Bot API server for this test; its base URL."""
    async with running_sandbox() as (url, _app):
        yield url


@pytest.fixture
async def sandbox(sandbox_server: str) -> AsyncIterator[SandboxClient]:
    """A control API client for `sandbox_server`."""
    async with aiohttp.ClientSession() as session:
        yield SandboxClient(sandbox_server, session)
