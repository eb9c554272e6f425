"""/metrics of the running bot, against the sandbox Bot API server, read with
prometheus_client's own parser; and the bot's registry on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from frontdoor.bootstrap import Frontdoor
from frontdoor.web.prometheus import WAIT_BUCKETS, Metrics, Snapshot, TeamQueue
from handoff.events import Assigned, FirstResponse
from telegram_io.outbox import OutboxStats
from tests.sandbox_support import SandboxClient
from tests.support.desk import agents_desk, text_of
from tests.support.frontdoor import running_frontdoor

SARI, AGUS = 1001, 1002  # support, morning shift
TEAMS = ("billing", "night", "sales", "support")
PLANS = "berapa harga paket internet, minta cs"  # Sales
# Monday 23 Nov 2026, 23:00 in Jakarta: Sales is closed until Tuesday 09:00.
MONDAY_23_WIB = datetime(2026, 11, 23, 23, tzinfo=ZoneInfo("Asia/Jakarta"))
# Families whose samples may only grow while the process runs.
GROWING = ("counter", "histogram")


class Scrape:
    """One scrape, parsed by prometheus_client: each family's type, and every sample's value."""

    def __init__(self, exposition: str) -> None:
        families = list(text_string_to_metric_families(exposition))
        names = [family.name for family in families]
        assert len(names) == len(set(names)), f"a family declared twice in {names}"
        self.types = {family.name: family.type for family in families}
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in families
            for sample in family.samples
        }
        self.growing = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in families
            if family.type in GROWING
            for sample in family.samples
            if not sample.name.endswith("_created")  # when the series began: not a count
        }

    def __call__(self, name: str, **labels: str) -> float:
        return self.samples[(name, frozenset(labels.items()))]

    def names(self) -> set[str]:
        return {name for name, _ in self.samples}


def never_fell(before: Scrape, after: Scrape) -> list[str]:
    """The counter and histogram samples of `before` that are lower, or gone, in `after`."""
    return [
        f"{name}{dict(labels)}: {value} → {after.growing.get((name, labels))}"
        for (name, labels), value in before.growing.items()
        if after.growing.get((name, labels), -1.0) < value
    ]


async def scrape(bot: Frontdoor) -> Scrape:
    assert bot.web is not None
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{bot.web.port}/metrics") as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
        return Scrape(await response.text())


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
            raise AssertionError(f"the metrics never showed it; last scrape: {found.samples}")
        await asyncio.sleep(0.02)


def bucket(scrape: Scrape, name: str, le: float, team: str) -> float:
    return scrape(f"{name}_bucket", le=str(float(le)), team=team)


# ---- the running bot ------------------------------------------------------------------------


async def test_metrics_of_an_idle_bot_show_every_team_empty_and_no_inbox_lag(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        found = await scrape_until(bot, lambda s: s("frontdoor_inbox_unprocessed") == 0)

        for team in TEAMS:
            assert found("frontdoor_queue_length", team=team) == 0
            assert found("frontdoor_waiting_oldest_seconds", team=team) == 0
            assert found("frontdoor_held_conversations", team=team) == 0
            assert found("frontdoor_wait_seconds_count", team=team) == 0
            assert found("frontdoor_first_response_seconds_count", team=team) == 0
        assert found("frontdoor_inbox_lag_seconds") == 0
        assert found("frontdoor_outbox_depth") >= 0
        assert found("frontdoor_telegram_429_total") == 0
        assert found("frontdoor_offers_total", outcome="accepted") == 0
        assert found("frontdoor_conversations", state="closed") == 0
        staff = [v for (name, _), v in found.samples.items() if name == "frontdoor_agents"]
        assert len(staff) == 6 and sum(staff) == len(bot.config.agents)  # 3 statuses × on/off
        assert found.types["frontdoor_wait_seconds"] == "histogram"
        assert found.types["frontdoor_outbox_sent"] == "counter"


async def test_metrics_show_the_process_and_the_python_runtime(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        found = await scrape(bot)

        assert found("process_resident_memory_bytes") > 0
        assert found("process_cpu_seconds_total") > 0
        assert found("process_open_fds") > 0
        assert {"python_info", "python_gc_collections_total"} <= found.names()


async def test_metrics_follow_a_handoff_from_queue_to_claim_and_first_response(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path) as desk:
        bot = desk.bot
        ani, conversation_id = await desk.handed_off("Ani", "internet saya mati, minta cs")
        card = await desk.card(conversation_id, "offered to @")
        offered = SARI if "@sari_nusanet" in text_of(card) else AGUS
        desk.advance(20)

        waiting = await scrape(bot)
        assert waiting("frontdoor_queue_length", team="support") == 1
        assert waiting("frontdoor_queue_length", team="sales") == 0
        assert waiting("frontdoor_waiting_oldest_seconds", team="support") == 20
        assert waiting("frontdoor_held_conversations", team="support") == 0
        assert waiting("frontdoor_offers_pending") == 1
        assert waiting("frontdoor_conversations", state="offered") == 1
        assert waiting("frontdoor_wait_seconds_count", team="support") == 0

        await desk.press_claim(offered, conversation_id)

        claimed = await scrape(bot)
        assert claimed("frontdoor_queue_length", team="support") == 0
        assert claimed("frontdoor_offers_total", outcome="accepted") == 1
        assert claimed("frontdoor_offers_pending") == 0
        assert claimed("frontdoor_conversations", state="assigned") == 1
        assert claimed("frontdoor_wait_seconds_count", team="support") == 1
        assert claimed("frontdoor_wait_seconds_sum", team="support") == 20
        assert bucket(claimed, "frontdoor_wait_seconds", 10, "support") == 0
        assert bucket(claimed, "frontdoor_wait_seconds", 20, "support") == 1  # le: 20 ≤ 20
        assert claimed("frontdoor_wait_seconds_bucket", le="+Inf", team="support") == 1
        assert claimed("frontdoor_wait_seconds_count", team="sales") == 0
        assert claimed("frontdoor_outbox_sent_total") > 0
        assert never_fell(waiting, claimed) == []

        desk.advance(40)
        agent = desk.agent(offered)
        await agent.says("Halo Ani, saya cek dulu ya")
        await ani.sees("Halo Ani, saya cek dulu ya")
        await agent.says("Sudah saya cek")
        await ani.sees("Sudah saya cek")

        answered = await scrape(bot)
        assert answered("frontdoor_first_response_seconds_count", team="support") == 1
        assert answered("frontdoor_first_response_seconds_sum", team="support") == 60
        assert bucket(answered, "frontdoor_first_response_seconds", 30, "support") == 0
        assert bucket(answered, "frontdoor_first_response_seconds", 60, "support") == 1
        assert answered("frontdoor_wait_seconds_count", team="support") == 1
        assert never_fell(claimed, answered) == []


async def test_a_chat_held_for_its_teams_opening_counts_as_held_until_it_opens(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with agents_desk(sandbox, tmp_path, start=MONDAY_23_WIB) as desk:
        bot = desk.bot
        _, conversation_id = await desk.handed_off("Budi", PLANS)
        await desk.card(conversation_id, "waits for Sales to open")
        desk.advance(3600)

        night = await scrape(bot)
        assert night("frontdoor_held_conversations", team="sales") == 1
        assert night("frontdoor_queue_length", team="sales") == 0
        assert night("frontdoor_waiting_oldest_seconds", team="sales") == 0
        assert night("frontdoor_conversations", state="queued") == 1

        desk.advance(9 * 3600 + 30)  # Tuesday 09:00:30: Sales has been open for 30 s
        opened = await scrape_until(
            bot, lambda s: s("frontdoor_held_conversations", team="sales") == 0
        )
        assert opened("frontdoor_queue_length", team="sales") == 1
        assert opened("frontdoor_waiting_oldest_seconds", team="sales") == 30  # from the opening
        assert never_fell(night, opened) == []


async def test_metrics_count_a_429_from_telegram_and_the_message_still_goes_out(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    async with running_frontdoor(sandbox.base_url, tmp_path) as bot:
        ani = await sandbox.add_user("Ani")
        await sandbox.fault("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

        await sandbox.send(ani["id"], "/start")

        found = await scrape_until(bot, lambda s: s("frontdoor_telegram_429_total") >= 1)
        assert "frontdoor_outbox_depth" in found.names()
        drained = await scrape_until(bot, lambda s: s("frontdoor_outbox_depth") == 0)
        assert never_fell(found, drained) == []


# ---- the registry ---------------------------------------------------------------------------


def snapshot(**teams: TeamQueue) -> Snapshot:
    return Snapshot(teams, {}, {}, {}, 0, OutboxStats(), 0, 0.0)


async def test_each_bot_has_its_own_registry_and_a_first_claim_is_one_wait() -> None:
    one, other = Metrics(), Metrics()

    await one.observe(
        [
            Assigned(1, 501, SARI, "support", "claim", waited=45.0),
            Assigned(1, 501, AGUS, "support", "transfer"),  # not a first claim: no wait
            FirstResponse(1, "support", 50.0),
        ]
    )

    found = Scrape(one.render(snapshot(support=TeamQueue())).decode())
    assert found("frontdoor_wait_seconds_count", team="support") == 1
    assert found("frontdoor_wait_seconds_sum", team="support") == 45
    assert bucket(found, "frontdoor_wait_seconds", 30, "support") == 0
    assert bucket(found, "frontdoor_wait_seconds", 60, "support") == 1
    assert found("frontdoor_first_response_seconds_sum", team="support") == 50
    bounds = [dict(labels)["le"] for name, labels in found.samples if name.endswith("_bucket")]
    assert bounds[: len(WAIT_BUCKETS) + 1] == [*(str(float(b)) for b in WAIT_BUCKETS), "+Inf"]
    untouched = Scrape(other.render(snapshot(support=TeamQueue())).decode())
    assert untouched("frontdoor_wait_seconds_count", team="support") == 0


def test_a_team_is_shown_with_its_waiting_and_held_chats_and_its_oldest_wait() -> None:
    found = Scrape(
        Metrics().render(snapshot(sales=TeamQueue(held=2), support=TeamQueue(3, 12.5))).decode()
    )

    assert found("frontdoor_queue_length", team="sales") == 0
    assert found("frontdoor_held_conversations", team="sales") == 2
    assert found("frontdoor_waiting_oldest_seconds", team="sales") == 0
    assert found("frontdoor_queue_length", team="support") == 3
    assert found("frontdoor_waiting_oldest_seconds", team="support") == 12.5
    assert found("frontdoor_held_conversations", team="support") == 0
    assert found("frontdoor_wait_seconds_count", team="sales") == 0  # present before any claim
