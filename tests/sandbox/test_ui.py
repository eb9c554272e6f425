"""The sandbox page: its files and setup are served, and the control API lets only its origin in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sandbox.ui import ui_routes
from tests.sandbox_support import running_sandbox, serving

PAGE_ORIGIN = "http://127.0.0.1:8080"
SETUP: dict[str, Any] = {
    "api": "http://127.0.0.1:8081",
    "bot": {"id": 1000000001, "first_name": "Frontdoor", "username": "frontdoor_bot"},
    "group": {"id": -1001000000002, "title": "Agents"},
    "agents": [{"id": 1000001, "first_name": "Sari", "username": "sari"}],
    "customers": [{"id": 1000002, "first_name": "Ani", "language_code": "id"}],
    "dashboard": None,
}


@pytest.fixture
async def api() -> AsyncIterator[str]:
    """A sandbox server that lets the page's origin in; its base URL."""
    async with running_sandbox(cors_origins=[PAGE_ORIGIN]) as (url, _app):
        yield url


@pytest.fixture
async def page() -> AsyncIterator[str]:
    """A web server with only the page's routes; its base URL."""
    app = web.Application()
    ui_routes(SETUP)(app)
    async with serving(app) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_the_page_origin_may_read_control_api_answers(
    api: str, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{api}/sandbox/users", headers={"Origin": PAGE_ORIGIN}) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
        assert "Origin" in response.headers.getall("Vary")


async def test_a_refusal_also_carries_the_header_so_the_page_can_show_it(
    api: str, http: aiohttp.ClientSession
) -> None:
    body = {"text": "hi"}
    headers = {"Origin": PAGE_ORIGIN}
    async with http.post(f"{api}/sandbox/users/42/send", json=body, headers=headers) as response:
        assert response.status == 404
        assert response.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
        assert (await response.json())["description"] == "user 42 not found"


async def test_plain_clients_get_no_cors_headers(api: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api}/sandbox/users") as response:
        assert response.status == 200
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_another_web_page_is_refused_even_a_simple_post_and_nothing_changes(
    api: str, http: aiohttp.ClientSession
) -> None:
    evil = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    async with http.post(
        f"{api}/sandbox/users", data='{"first_name": "X"}', headers=evil
    ) as answer:
        assert answer.status == 403
        assert "origin http://evil.example may not use the control API" in await answer.text()
        assert "Access-Control-Allow-Origin" not in answer.headers
    async with http.post(f"{api}/sandbox/reset", headers=evil) as answer:
        assert answer.status == 403
    async with http.get(f"{api}/sandbox/users") as response:
        assert not any(u["first_name"] == "X" for u in (await response.json())["users"])


async def test_bot_api_calls_get_no_cors_headers(api: str, http: aiohttp.ClientSession) -> None:
    url = f"{api}/bot1:t/getMe"
    async with http.get(url, headers={"Origin": PAGE_ORIGIN}) as response:
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_a_preflight_from_the_page_origin_is_answered(
    api: str, http: aiohttp.ClientSession
) -> None:
    headers = {
        "Origin": PAGE_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    async with http.options(f"{api}/sandbox/users/1/send", headers=headers) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
        methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
        assert {"GET", "POST", "PUT"} <= methods
        assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


async def test_a_preflight_from_another_origin_is_not_answered(
    api: str, http: aiohttp.ClientSession
) -> None:
    headers = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    async with http.options(f"{api}/sandbox/users", headers=headers) as response:
        assert response.status != 204
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Methods" not in response.headers


async def test_the_event_stream_carries_the_header(api: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api}/sandbox/events", headers={"Origin": PAGE_ORIGIN}) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
        assert (await response.content.readline()) == b": connected\n"


async def test_without_cors_origins_no_origin_is_let_in(
    sandbox_server: str, http: aiohttp.ClientSession
) -> None:
    async with http.get(
        f"{sandbox_server}/sandbox/users", headers={"Origin": PAGE_ORIGIN}
    ) as response:
        assert response.status == 403
        assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("path", "content_type", "marker"),
    [
        ("/", "text/html", b'<script src="/ui/app.js"'),
        ("/ui/app.js", "text/javascript", b'"use strict";'),
        ("/ui/style.css", "text/css", b".message"),
    ],
)
async def test_the_page_files_are_served_uncached(
    page: str, http: aiohttp.ClientSession, path: str, content_type: str, marker: bytes
) -> None:
    async with http.get(page + path) as response:
        assert response.status == 200
        assert response.content_type == content_type
        assert response.charset == "utf-8"
        assert response.headers["Cache-Control"] == "no-cache"
        assert marker in await response.read()


async def test_setup_json_is_the_setup_given(page: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{page}/ui/setup.json") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        assert response.headers["Cache-Control"] == "no-cache"
        assert await response.json() == SETUP


async def test_an_unknown_page_path_is_not_found(page: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{page}/ui/missing.js") as response:
        assert response.status == 404
