"""The sandbox page (SPEC §7): customers, the agents group and each agent's chat side by side.

The page is plain HTML, CSS and JavaScript from `sandbox/ui/`, served by the bot's web server.
It reads `/ui/setup.json` first, then talks to the sandbox's control API (another port, so the
sandbox server must allow this page's origin: `create_app(cors_origins=...)`).

`setup.json` is the `setup` dict given to `ui_routes`:

    {
      "api": "http://127.0.0.1:8081",            # the sandbox server's root, no trailing slash
      "bot": {"id": int, "first_name": str, "username": str},
      "group": {"id": int, "title": str} | null,  # the agents group
      "agents": [{"id": int, "first_name": str, "username": str}, ...],
      "customers": [{"id": int, "first_name": str, "language_code": str}, ...],
      "dashboard": "/dashboard?token=..." | null,  # a link on the page's own server
      "timezone": "Asia/Jakarta" | null            # message times are shown in it
    }

Every sandbox user who is neither the bot nor an agent also gets a customer pane, so customers
added on the page survive a reload.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

UI_DIR = Path(__file__).parent / "ui"
NO_CACHE = {"Cache-Control": "no-cache"}
# Route → (file in UI_DIR, content type).
PAGE_FILES = {
    "/": ("index.html", "text/html"),
    "/ui/app.js": ("app.js", "text/javascript"),
    "/ui/style.css": ("style.css", "text/css"),
}


def _file_handler(name: str, content_type: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler that serves one file of the page, read on each request (edits show at once)."""

    async def serve(_: web.Request) -> web.Response:
        body = (UI_DIR / name).read_bytes()
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers=NO_CACHE)

    return serve


def ui_routes(setup: dict[str, Any]) -> Callable[[web.Application], None]:
    """A route adder for the page: `/`, `/ui/app.js`, `/ui/style.css` and `/ui/setup.json`."""

    async def setup_json(_: web.Request) -> web.Response:
        text = json.dumps(setup, ensure_ascii=False)  # at each request: the caller may amend it
        return web.Response(text=text, content_type="application/json", headers=NO_CACHE)

    def add_routes(app: web.Application) -> None:
        for path, (name, content_type) in PAGE_FILES.items():
            app.router.add_get(path, _file_handler(name, content_type))
        app.router.add_get("/ui/setup.json", setup_json)

    return add_routes
