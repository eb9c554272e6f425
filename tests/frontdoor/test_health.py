"""/healthz, /readyz and /metrics of the running bot, against the sandbox Bot API server; and the
Prometheus text rendering on its own."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

from frontdoor.bootstrap import Frontdoor
from frontdoor.web.prometheus import Family, Kind, render, summary
from handoff.db import create_engine
from tests.sandbox_support import BOT_TOKEN, SandboxClient
from tests.support.desk import agents_desk, text_of
from tests.support.frontdoor import running_frontdoor

SARI, AGUS = 1001, 1002  # support, morning shift
TEAMS = ("billing", "night", "sales", "support")

Scrape = dict[tuple[str, frozenset[tuple[str, str]]], float]
SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
ESCAPED = re.compile(r"\\[\\\"n]")
ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def parse(exposition: str) -> Scrape:
    """The samples of a scrape; fails on a line the format does not allow, a family declared
    twice, or a sample of no declared family."""
    assert exposition.endswith("\n")
    samples: Scrape = {}
    kinds: dict[str, str] = {}
    helped: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in helped, f"a second HELP for {name}"
            helped.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in kinds, f"a second TYPE for {name}"
            assert kind in ("counter", "gauge", "summary")
            kinds[name] = kind
        else:
            found = SAMPLE.fullmatch(line)
            assert found, f"not a sample line: {line!r}"
            name, labels, value = found.groups()
            family = re.sub(r"_(sum|count)$", "", name) if name not in kinds else name
            assert family in kinds and family in helped, f"{name} has no HELP or TYPE before it"
            samples[(name, _labels(labels or ""))] = float(value)
    return samples


def _labels(text: str) -> frozenset[tuple[str, str]]:
    pairs = LABEL.findall(text)
    assert "".join(f'{k}="{v}"{sep}' for k, v, sep in pairs) == text, f"bad labels {text!r}"
    return frozenset((k, ESCAPED.sub(lambda m: ESCAPES[m.group()], v)) for k, v, _ in pairs)


def value(scrape: Scrape, name: str, **labels: str) -> float:
    return scrape[(name, frozenset(labels.items()))]


async def get(bot: Frontdoor, path: str) -> tuple[int, str, Any]:
    """(status, Content-Type, body: JSON when it is JSON, else text) of a GET to the bot."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{bot.web.port}{path}") as response,
    ):
        body = await (
            response.json() if response.content_type == "application/json" else response.text()
        )
        return response.status, response.headers["Content-Type"], body


async def scrape(bot: Frontdoor) -> Scrape:
    status, content_type, body = await get(bot, "/metrics")
    assert status == 200
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    return parse(body)


async def scrape_until(
    bot: Frontdoor, holds: Callable[[Scrape], bool], timeout: float = 5.0
) -> Scrape:
    """Scrape every 20 ms until `holds` does; the last scrape."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await scrape(bot)
        if holds(found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the metrics never showed it; last scrape: {found}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def database_unreachable(bot: Frontdoor, directory: Path) -> AsyncIterator[None]:
    """The web server's engine swapped for one whose file cannot be opened, then put back (the
    rest of the bot keeps its own reference to the working engine)."""
    working = bot.engine
    bot.engine = create_engine(f"sqlite+aiosqlite:///{directory / 'no-such-dir' / 'x.db'}")
    try:
        yield
    finally:
        await bot.engine.dispose()
        bot.engine = working


# ---- the running bot ------------------------------------------------------------------------


async def test_healthz_and_readyz_answer_ok_while_the_database_and_telegram_answer(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        assert await get(bot, "/healthz") == (200, "application/json; charset=utf-8", {"ok": True})
        status, _, body = await get(bot, "/readyz")
        assert (status, body) == (200, {"ok": True, "checks": {"database": "ok", "telegram": "ok"}})


async def test_readyz_names_telegram_while_it_fails_get_me_and_recovers_after(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        # The error quotes the token, as a URL in an error might: the answer must not.
        await sandbox.fault("getMe", 502, f"Bad Gateway at /bot{BOT_TOKEN}/getMe")

        status, _, body = await get(bot, "/readyz")

        assert status == 503
        assert body["ok"] is False
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["telegram"].startswith("unreachable: Bad Gateway")
        assert BOT_TOKEN not in str(body) and BOT_TOKEN.split(":")[1] not in str(body)
        status, _, body = await get(bot, "/readyz")
        assert (status, body["checks"]["telegram"]) == (200, "ok")


async def test_readyz_and_metrics_name_the_database_while_it_cannot_be_opened(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        async with database_unreachable(bot, tmp_path):
            status, _, body = await get(bot, "/readyz")
            assert status == 503 and body["ok"] is False
            assert body["checks"]["database"] == "unreachable: unable to open database file"
            assert body["checks"]["telegram"] == "ok"
            assert (await get(bot, "/metrics"))[0] == 503
            assert (await get(bot, "/healthz"))[0] == 200

        assert (await get(bot, "/readyz"))[0] == 200
        await scrape(bot)


async def test_metrics_of_an_idle_bot_show_every_team_empty_and_no_inbox_lag(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        found = await scrape_until(bot, lambda s: value(s, "frontdoor_inbox_unprocessed") == 0)

        for team in TEAMS:
            assert value(found, "frontdoor_queue_length", team=team) == 0
            assert value(found, "frontdoor_waiting_oldest_seconds", team=team) == 0
        assert value(found, "frontdoor_inbox_lag_seconds") == 0
        assert value(found, "frontdoor_outbox_depth") >= 0
        assert value(found, "frontdoor_telegram_429_total") == 0
        assert value(found, "frontdoor_offers_total", outcome="accepted") == 0
        assert value(found, "frontdoor_conversations", state="closed") == 0
        assert value(found, "frontdoor_wait_seconds_count") == 0
        assert math.isnan(value(found, "frontdoor_wait_seconds", quantile="0.5"))
        staff = [v for (name, _), v in found.items() if name == "frontdoor_agents"]
        assert len(staff) == 6 and sum(staff) == len(bot.config.agents)  # 3 statuses × on/off


async def test_metrics_follow_a_handoff_from_queue_to_claim(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        bot = desk.bot
        _, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        card = await desk.card(conversation_id, "offered to @")
        offered = SARI if "@sari_nusanet" in text_of(card) else AGUS
        desk.advance(20)

        waiting = await scrape(bot)
        assert value(waiting, "frontdoor_queue_length", team="support") == 1
        assert value(waiting, "frontdoor_queue_length", team="sales") == 0
        assert value(waiting, "frontdoor_waiting_oldest_seconds", team="support") == 20
        assert value(waiting, "frontdoor_offers_pending") == 1
        assert value(waiting, "frontdoor_conversations", state="offered") == 1

        await desk.press_claim(offered, conversation_id)

        claimed = await scrape(bot)
        assert value(claimed, "frontdoor_queue_length", team="support") == 0
        assert value(claimed, "frontdoor_offers_total", outcome="accepted") == 1
        assert value(claimed, "frontdoor_offers_pending") == 0
        assert value(claimed, "frontdoor_conversations", state="assigned") == 1
        assert value(claimed, "frontdoor_wait_seconds_count") == 1
        assert value(claimed, "frontdoor_wait_seconds_sum") == 20
        assert value(claimed, "frontdoor_wait_seconds", quantile="0.99") == 20
        assert value(claimed, "frontdoor_outbox_sent_total") > 0


async def test_metrics_count_a_429_from_telegram_and_the_message_still_goes_out(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        ani = await sandbox.add_user("Ani")
        await sandbox.fault("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

        await sandbox.send(ani["id"], "/start")

        found = await scrape_until(bot, lambda s: value(s, "frontdoor_telegram_429_total") >= 1)
        assert "frontdoor_outbox_depth" in {name for name, _ in found}
        await scrape_until(bot, lambda s: value(s, "frontdoor_outbox_depth") == 0)


# ---- the text format ------------------------------------------------------------------------


def test_label_values_escape_backslash_quote_and_newline_and_help_escapes_its_own() -> None:
    family = Family("x_total", Kind.COUNTER, 'Line one\nback\\slash "quoted"')
    family.add(3, team='a\\b "c"\nd')

    assert render([family]) == (
        '# HELP x_total Line one\\nback\\\\slash "quoted"\n'
        "# TYPE x_total counter\n"
        'x_total{team="a\\\\b \\"c\\"\\nd"} 3\n'
    )
    assert parse(render([family])) == {("x_total", frozenset({("team", 'a\\b "c"\nd')})): 3}


def test_each_family_has_one_help_and_type_line_before_all_its_samples() -> None:
    queue = Family("q", Kind.GAUGE, "Waiting.")
    queue.add(1, team="sales")
    queue.add(0.25, team="support")
    waits = summary("w_seconds", "Waits.", {0.5: 1.5, 0.99: None}, total=3.0, count=2)

    assert render([queue, waits]).splitlines() == [
        "# HELP q Waiting.",
        "# TYPE q gauge",
        'q{team="sales"} 1',
        'q{team="support"} 0.25',
        "# HELP w_seconds Waits.",
        "# TYPE w_seconds summary",
        'w_seconds{quantile="0.5"} 1.5',
        'w_seconds{quantile="0.99"} NaN',
        "w_seconds_sum 3",
        "w_seconds_count 2",
    ]
