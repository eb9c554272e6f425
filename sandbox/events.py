"""GET /sandbox/events: a server-sent event stream, one JSON object per thing that happens."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from sandbox.core import SANDBOX_KEY

HEARTBEAT_S = 15.0


async def stream_events(request: web.Request) -> web.StreamResponse:
    """Stream every event from now on until the client goes away."""
    sandbox = request.app[SANDBOX_KEY]
    queue: asyncio.Queue[str] = asyncio.Queue()

    def listener(event: dict[str, Any]) -> None:
        # Serialise now: messages are live objects and may be edited before they are written.
        queue.put_nowait(
            f"event: {event['type']}\nid: {event['id']}\n"
            f"data: {json.dumps(event, ensure_ascii=False)}\n\n"
        )

    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    sandbox.listeners.append(listener)
    try:
        await response.write(b": connected\n\n")
        while True:
            try:
                chunk = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
            except TimeoutError:
                chunk = ": heartbeat\n\n"
            await response.write(chunk.encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(ValueError):
            sandbox.listeners.remove(listener)
    return response
