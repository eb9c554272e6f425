"""GET /sandbox/events: a server-sent event stream, one JSON object per thing that happens."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from sandbox.core import SANDBOX_KEY

HEARTBEAT_S = 15.0
STREAMS_KEY = web.AppKey("sse_streams", set)  # queues of open streams, ended at shutdown


async def stream_events(request: web.Request) -> web.StreamResponse:
    """Stream every event from now on until the client goes away."""
    sandbox = request.config_dict[SANDBOX_KEY]
    queue: asyncio.Queue[str | None] = asyncio.Queue()

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
    streams = request.config_dict[STREAMS_KEY]
    streams.add(queue)
    try:
        await response.write(b": connected\n\n")
        while True:
            try:
                chunk = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
            except TimeoutError:
                chunk = ": heartbeat\n\n"
            if chunk is None:
                break
            await response.write(chunk.encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        streams.discard(queue)
        with contextlib.suppress(ValueError):
            sandbox.listeners.remove(listener)
    return response


async def end_streams(app: web.Application) -> None:
    """On shutdown, end open streams so the server need not wait for their clients."""
    for queue in list(app[STREAMS_KEY]):
        queue.put_nowait(None)
