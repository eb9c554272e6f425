"""The managers' dashboard on the running bot: who gets in, and what it shows after a real chat
(customer → card → claim → chat → close → rating) through the sandbox; its report equals what
`frontdoor report --format json` prints for the same database and period."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from frontdoor.bootstrap import Frontdoor
from frontdoor.cli import EXIT_OK, main
from frontdoor.web.dashboard import COOKIE
from tests.sandbox_support import SandboxClient
from tests.support.desk import agents_desk, card_section, text_of
from tests.support.frontdoor import EXAMPLE, running_frontdoor

TOKEN = "dashboard-test-token"
SARI, AGUS = 1001, 1002  # support, morning shift
OVERVIEW = "/dashboard/api/overview"


@contextlib.asynccontextmanager
async def browser(bot: Frontdoor, **headers: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A client of the bot's web server that keeps cookies (127.0.0.1 included) and shows
    redirects instead of following them."""
    assert bot.web is not None
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{bot.web.port}",
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        headers=headers,
    ) as session:
        yield session


async def fetch(session: aiohttp.ClientSession, path: str, **options: Any) -> tuple[int, Any]:
    """(status, JSON or text) of a GET."""
    async with session.get(path, allow_redirects=False, **options) as response:
        is_json = response.content_type == "application/json"
        return response.status, await (response.json() if is_json else response.text())


async def fetch_as_manager(bot: Frontdoor, path: str, **params: str) -> tuple[int, Any]:
    async with browser(bot, Authorization=f"Bearer {TOKEN}") as session:
        return await fetch(session, path, params=params)


async def api(bot: Frontdoor, path: str, **params: str) -> Any:
    """The JSON of a dashboard API call that succeeds."""
    status, body = await fetch_as_manager(bot, path, **params)
    assert status == 200, body
    return body


# ---- who gets in ------------------------------------------------------------------------------


async def test_the_dashboard_is_refused_without_the_right_token(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path, dashboard_token=TOKEN) as bot:
        async with browser(bot) as anyone:
            status, page = await fetch(anyone, "/dashboard")
            assert status == 401 and '<form method="post"' in page and TOKEN not in page
            assert (await fetch(anyone, OVERVIEW))[0] == 401
            assert (await fetch(anyone, "/dashboard/static/dashboard.js"))[0] == 401

            status, page = await fetch(anyone, "/dashboard?token=guess")
            assert status == 401 and "Wrong token." in page
            assert len(anyone.cookie_jar) == 0

        async with browser(bot, **{"Sec-Fetch-Site": "cross-site"}) as linked:
            status, page = await fetch(linked, "/dashboard")  # a link in a chat, say
            assert status == 200 and 'http-equiv="refresh"' in page and "<form" not in page

        async with browser(bot, Cookie=f"{COOKIE}={TOKEN}") as forger:
            assert (await fetch(forger, OVERVIEW))[0] == 401
        async with browser(bot, Authorization="Bearer guess") as guesser:
            status, body = await fetch(guesser, OVERVIEW)
            assert status == 401 and body["ok"] is False


async def test_a_token_in_the_link_becomes_a_cookie_and_leaves_the_address(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path, dashboard_token=TOKEN) as bot:
        async with browser(bot) as manager:
            async with manager.get(f"/dashboard?token={TOKEN}", allow_redirects=False) as sent:
                assert (sent.status, sent.headers["Location"]) == (303, "/dashboard")
                cookie = sent.cookies[COOKIE]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            assert cookie["path"] == "/dashboard" and TOKEN not in cookie.value

            status, page = await fetch(manager, "/dashboard")
            assert status == 200 and 'id="queue"' in page and TOKEN not in page
            assert (await fetch(manager, OVERVIEW))[0] == 200
            assert (await fetch(manager, "/dashboard/static/dashboard.css"))[0] == 200
            assert (await fetch(manager, "/dashboard/static/secrets.txt"))[0] == 404

        async with browser(bot) as typist:  # the login form posts the token instead
            async with typist.post("/dashboard", data={"token": "guess"}) as refused:
                assert refused.status == 401
            for form in ({}, {"token": ""}, {"token": TOKEN * 100}):  # missing, empty, oversize
                async with typist.post("/dashboard", data=form) as refused:
                    assert refused.status == 401, form
            elsewhere = {"Origin": "http://evil.example"}  # another site's form, forged
            async with typist.post(
                "/dashboard", data={"token": TOKEN}, headers=elsewhere, allow_redirects=False
            ) as refused:
                assert refused.status == 403 and COOKIE not in refused.cookies
            async with typist.post(
                "/dashboard", data={"token": TOKEN}, allow_redirects=False
            ) as accepted:
                assert accepted.status == 303
            assert (await fetch(typist, OVERVIEW))[0] == 200

        assert (await api(bot, OVERVIEW))["queue"] == []  # a script sends the bearer token


async def test_without_a_configured_token_the_dashboard_is_disabled_for_everyone(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        status, page = await fetch_as_manager(bot, "/dashboard?token=anything")
        api_status, body = await fetch_as_manager(bot, OVERVIEW)

    expected = "dashboard disabled: set FRONTDOOR_DASHBOARD_TOKEN (config.web.dashboard_token_env)"
    assert (status, page) == (403, expected)
    assert (api_status, body["error"]) == (403, expected)


# ---- what it shows ----------------------------------------------------------------------------


async def test_the_dashboard_follows_a_chat_and_its_report_equals_the_commands(
    sandbox: SandboxClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with agents_desk(sandbox, tmp_path, dashboard_token=TOKEN) as desk:
        bot = desk.bot
        ani, conversation_id = await desk.handed_off(
            "Ani", "internet saya mati dari pagi, minta cs"
        )
        card = await desk.card(conversation_id, "offered to @")
        offered = SARI if "@sari_nusanet" in card_section(text_of(card), conversation_id) else AGUS
        desk.advance(20)

        waiting = await api(bot, OVERVIEW)
        (entry,) = waiting["queue"]
        assert (entry["id"], entry["customer"], entry["team_name"], entry["state"]) == (
            conversation_id,
            "Ani",
            "Support",
            "offered",
        )
        assert entry["offered_to"]["id"] == offered and entry["waiting_seconds"] == 20.0
        agents = {agent["id"]: agent for agent in waiting["agents"]}
        assert agents[offered]["pending_offers"] == 1
        assert agents[offered]["shift"]["today"] == ["07:00-15:00"]

        await desk.press_claim(offered, conversation_id)
        agent = desk.agent(offered)
        await agent.sees(f"#{conversation_id} · Ani is yours now")
        await agent.says("Halo Ani, saya cek dulu ya")
        await ani.sees("Halo Ani, saya cek dulu ya")
        await ani.says("baik terima kasih")
        await agent.sees(f"#{conversation_id} · Ani\nbaik terima kasih")

        chatting = await api(bot, OVERVIEW)
        agents = {agent["id"]: agent for agent in chatting["agents"]}
        assert chatting["queue"] == [] and chatting["queue_total"] == 0
        assert (agents[offered]["load"], agents[offered]["status"]) == (1, "available")

        desk.advance(240)
        await agent.says("/close")
        prompt = await ani.sees("Seberapa puas Anda")
        await ani.press(prompt, f"csat:{conversation_id}:5")
        await ani.sees("Ada saran atau komentar?")
        desk.advance(1)  # a period runs up to its end, not including it: end after the close

        done = await api(bot, OVERVIEW)
        overall = done["today"]["rows"][0]
        assert (overall["created"], overall["closed"], overall["csat_mean"]) == (1, 1, 5.0)
        assert (overall["wait_p50_s"], overall["first_response_p50_s"], overall["aht_s"]) == (
            20.0,
            20.0,
            240.0,
        )
        assert overall["fcr_pct"] == 100.0
        assert {agent["id"]: agent["load"] for agent in done["agents"]}[offered] == 0
        ten = next(hour for hour in done["day"] if hour["label"] == "10:00")
        assert (ten["created"], ten["closed"], ten["wait_p50_s"], ten["waiting"]) == (1, 1, 20.0, 0)

        # The period ends at the bot's clock, which is behind the wall clock the command reads,
        # so the two see the same running shifts.
        period = {"from": "2026-11-24", "to": bot.clock.now().isoformat()}
        served = await api(bot, "/dashboard/api/report", **period)
        url = f"sqlite+aiosqlite:///{tmp_path / 'frontdoor.db'}"
        capsys.readouterr()
        code = await asyncio.to_thread(
            main,
            ["report", "--from", period["from"], "--to", period["to"], "--format", "json",
             "--config", str(EXAMPLE), "--database-url", url],
        )  # fmt: skip
        assert code == EXIT_OK
        assert json.loads(capsys.readouterr().out) == served
        assert served["rows"][0] == overall  # today so far, the same numbers

        shown = await api(bot, f"/dashboard/api/conversations/{conversation_id}")
        assert (shown["state"], shown["agent"]["id"], shown["customer"]["name"]) == (
            "closed",
            offered,
            "Ani",
        )
        assert shown["times"]["closed_at"] is not None
        assert [step["kind"] for step in shown["trail"]] == [
            "classify",
            "time",
            "offer",
            "assign",
            "close",
        ]
        assert shown["trail"][3]["reason"].startswith("claimed by ")
        assert [(line["sender"], line["text"]) for line in shown["transcript"]] == [
            ("customer", "internet saya mati dari pagi, minta cs"),
            ("agent", "Halo Ani, saya cek dulu ya"),
            ("customer", "baik terima kasih"),
        ]


async def test_a_conversation_id_must_be_a_number_of_a_conversation(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path, dashboard_token=TOKEN) as bot:
        letters = await fetch_as_manager(bot, "/dashboard/api/conversations/abc")
        too_long = await fetch_as_manager(bot, "/dashboard/api/conversations/" + "9" * 20)
        unknown = await fetch_as_manager(bot, "/dashboard/api/conversations/4242")
        no_date = await fetch_as_manager(bot, "/dashboard/api/report?from=someday")

    assert letters[0] == 400 and "a conversation id is a number" in letters[1]["error"]
    assert too_long[0] == 400
    assert unknown == (404, {"ok": False, "error": "no conversation #4242"})
    assert no_date[0] == 400 and "'someday' is neither an ISO date" in no_date[1]["error"]
