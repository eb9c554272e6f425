"""HTTP side of the Bot API: `/bot<token>/<method>` calls and `/file/bot<token>/<path>` downloads.

Kept lean because it is the benchmark's hot path (tests/benchmarks/sandbox_api.py): no per-request
logging, one JSON parse, one JSON dump by a reused encoder, and most handlers are plain functions
(only getUpdates waits).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import re
from typing import Any

from aiohttp import web

from sandbox.core import SANDBOX_KEY
from sandbox.errors import NOT_FOUND, UNAUTHORIZED, ApiError, bad_request
from sandbox.methods import HANDLERS
from sandbox.methods.common import Call
from sandbox.params import Upload, canonical_method, coerce_params

TOKEN = re.compile(r"(\d{1,20}):[A-Za-z0-9_-]{1,100}")
_ASYNC = frozenset(name for name, fn in HANDLERS.items() if inspect.iscoroutinefunction(fn))
_JSON = "application/json"
# One encoder for every answer: json.dumps with any option builds a new JSONEncoder per call.
# Compact, as Telegram answers; answers are trees (no cycles), so the cycle check is skipped.
_ENCODE = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":")).encode


@functools.lru_cache(maxsize=256)  # a test run uses a handful of tokens, each on every call
def bot_id_of(token: str) -> int | None:
    """The bot's user id from a token `<digits>:<secret>`; None when malformed."""
    match = TOKEN.fullmatch(token)
    return int(match.group(1)) if match else None


def _answer(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(text=_ENCODE(body), status=status, content_type=_JSON)


def _error(error: ApiError) -> web.Response:
    return _answer(error.answer(), error.error_code)


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parameters from the query string and a JSON, form or multipart body."""
    raw: dict[str, Any] = dict(request.query) if request.query_string else {}
    uploads: dict[str, Upload] = {}
    if not request.can_read_body:
        return raw, uploads
    content_type = request.content_type
    if content_type == _JSON:
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse JSON object")
        raw.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if part.name is None or not hasattr(part, "read"):
                continue
            if part.filename is not None:
                data = bytes(await part.read())
                content = part.headers.get("Content-Type", "")
                uploads[part.name] = Upload(data, part.filename, content)
            else:
                raw[part.name] = await part.text()
    else:
        raw.update(await request.post())
    return raw, uploads


async def handle_method(request: web.Request) -> web.Response:
    """One Bot API call: token, method, injected fault, parameters, handler, `{ok, result}`."""
    sandbox = request.app[SANDBOX_KEY]
    bot_id = bot_id_of(request.match_info["token"])
    if bot_id is None:
        return _error(UNAUTHORIZED)
    method = canonical_method(request.match_info["method"])
    handler = HANDLERS.get(method) if method else None
    if handler is None or method is None:
        return _error(NOT_FOUND)
    world = sandbox.world_for(bot_id)
    try:
        fault = sandbox.take_fault(method)
        raw, uploads = await read_params(request)  # the call has arrived whole
        if fault is not None:
            if pause := fault.pause():
                await asyncio.sleep(pause)  # counted against the limits when it is done
            if fault.error is not None:
                raise fault.error
        params = coerce_params(method, raw, uploads)
        call = Call(sandbox, world)
        result = await handler(call, params) if method in _ASYNC else handler(call, params)
    except ApiError as error:
        return _error(error)
    return _answer({"ok": True, "result": result})


async def handle_file(request: web.Request) -> web.StreamResponse:
    """Download a file by the file_path getFile gave."""
    sandbox = request.app[SANDBOX_KEY]
    bot_id = bot_id_of(request.match_info["token"])
    if bot_id is None:
        return _error(UNAUTHORIZED)
    stored = sandbox.world_for(bot_id).files.by_path(request.match_info["path"])
    if stored is None:
        return _error(NOT_FOUND)
    return web.Response(body=stored.data, content_type=stored.mime_type)


def add_routes(app: web.Application) -> None:
    """Mount the Bot API and the file downloads."""
    app.router.add_route("*", "/bot{token}/{method}", handle_method)
    app.router.add_get("/file/bot{token}/{path:.+}", handle_file)
