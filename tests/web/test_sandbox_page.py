"""The whole story on the sandbox page, in real headless Chromium: `frontdoor sandbox` as a
newcomer meets it, every click going through the page, the sandbox Bot API server and the bot."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from playwright.async_api import Browser, Locator, Page, expect

from frontdoor.sandbox_command import Playground
from handoff.clock import ManualClock
from tests.support.desk import desk_config
from tests.support.frontdoor import TUESDAY_10_WIB

TOKEN = "dashboard-test-token"
SEEN = 10_000  # ms a step may take to show on the page


@contextlib.asynccontextmanager
async def playground(directory: Path) -> AsyncIterator[Playground]:
    """`frontdoor sandbox` on free ports, Tuesday 10:00 in Jakarta, Telegram's limits off."""
    play = Playground(
        desk_config(),
        ManualClock(TUESDAY_10_WIB),
        f"sqlite+aiosqlite:///{directory / 'frontdoor.db'}",
        api_port=0,
        web_port=0,
        dashboard_token=TOKEN,
    )
    await play.start()
    try:
        async with aiohttp.ClientSession() as session:
            await session.put(f"{play.api_url}/sandbox/limits", json={"enabled": False})
        yield play
    finally:
        await play.stop()


async def write(pane: Locator, text: str) -> None:
    await pane.locator(".compose").fill(text)
    await pane.locator("button.send").click()


def last_from_bot(pane: Locator, text: str | re.Pattern[str]) -> Locator:
    return pane.locator(".message.from-bot", has_text=text).last


async def test_a_customer_goes_from_faq_to_an_agent_and_rates_the_chat(
    browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    async with playground(tmp_path) as play:
        clock = play.clock
        assert isinstance(clock, ManualClock)
        page = await browser.new_page(viewport={"width": 1600, "height": 1000})
        await page.goto(play.page_url)
        await expect(page.locator("#connection")).to_have_text("live", timeout=SEEN)
        budi_id = next(c["id"] for c in play.setup["customers"] if c["first_name"] == "Budi")
        budi = page.locator(f'[data-pane="customer-{budi_id}"]')
        group = page.locator('[data-pane="group"]')

        # An FAQ first: the answer, then "did it help?" with a button for a person.
        await write(budi, "gmn cara bayar tagihan?")
        await expect(last_from_bot(budi, "Virtual Account")).to_be_visible(timeout=SEEN)
        helpful = last_from_bot(budi, "Apakah jawaban ini membantu?")
        await helpful.locator("button.inline-button", has_text="Bicara dengan CS").click()
        await expect(last_from_bot(budi, "saya sambungkan ke tim")).to_be_visible(timeout=SEEN)

        # The card appears in the group, offered to one agent, who claims it there.
        card = last_from_bot(group, re.compile(r"#\d+ · Budi"))
        await expect(card).to_contain_text("offered to @", timeout=SEEN)
        username = re.search(r"offered to @(\w+)", await card.inner_text())
        assert username is not None
        agent = next(a for a in play.setup["agents"] if a.get("username") == username[1])
        clock.advance(45)  # Budi waits 45 s (the offer runs 60 s)
        await group.locator("select.as-agent").select_option(str(agent["id"]))
        await card.locator("button.inline-button", has_text="Claim").click()
        await expect(card).to_contain_text(f"claimed by @{username[1]}", timeout=SEEN)
        desk = page.locator(f'[data-pane="agent-{agent["id"]}"]')
        await expect(last_from_bot(desk, "gmn cara bayar tagihan?")).to_be_visible(timeout=SEEN)

        # They talk through the bot: a canned reply in Budi's language, then a suggested one.
        clock.advance(75)
        await write(desk, "!halo\nSaya bantu cek tagihannya ya.")
        await expect(last_from_bot(budi, "Halo Kak Budi, saya")).to_be_visible(timeout=SEEN)
        await write(budi, "Terima kasih. Oh iya, modem saya juga lampunya merah")
        relayed = last_from_bot(desk, "modem saya juga lampunya merah")
        await expect(relayed).to_be_visible(timeout=SEEN)
        await relayed.locator("button.inline-button", has_text="Modem restart steps").click()
        await expect(last_from_bot(budi, "Silakan coba langkah ini")).to_be_visible(timeout=SEEN)
        await page.screenshot(path=artifacts / "canned-replies.png")

        # The agent closes; the customer rates 5 and skips the comment.
        clock.advance(120)
        await write(desk, "/close")
        rating = last_from_bot(budi, "Seberapa puas Anda")
        await rating.locator("button.inline-button", has_text="5").click()
        await expect(last_from_bot(budi, "Ada saran atau komentar?")).to_be_visible(timeout=SEEN)
        await write(budi, "/skip")
        await expect(last_from_bot(budi, "Terima kasih atas penilaian Anda")).to_be_visible(
            timeout=SEEN
        )
        await expect(card).to_contain_text("closed", timeout=SEEN)
        await page.screenshot(path=artifacts / "sandbox.png", full_page=True)

        await show_dashboard(page, play, artifacts)


async def show_dashboard(page: Page, play: Playground, artifacts: Path) -> None:
    """The dashboard the page links to shows the story: a 45 s wait, solved at once, rated 5."""
    assert play.dashboard_url is not None
    await page.goto(play.dashboard_url)
    assert "token=" not in page.url  # the token moved to a cookie
    kpis = page.locator("#kpis")
    await expect(kpis.locator('[data-kpi="csat"]')).to_have_text("5.0", timeout=SEEN)
    await expect(kpis.locator('[data-kpi="wait_p50"]')).to_have_text("45s")
    await expect(kpis.locator('[data-kpi="fcr"]')).to_have_text("100%")
    await expect(page.locator("#charts svg").first).to_be_visible()
    await page.screenshot(path=artifacts / "dashboard.png", full_page=True)


async def test_the_page_shows_what_the_sandbox_refuses_and_changes_nothing(
    browser: Browser, tmp_path: Path
) -> None:
    async with playground(tmp_path) as play:
        page = await browser.new_page(viewport={"width": 1600, "height": 1000})
        await page.goto(play.page_url)
        await expect(page.locator("#connection")).to_have_text("live", timeout=SEEN)
        alice_id = next(c["id"] for c in play.setup["customers"] if c["first_name"] == "Alice")
        alice = page.locator(f'[data-pane="customer-{alice_id}"]')

        # Longer than Telegram's 4096 characters: refused, said so, and the text is kept.
        await write(alice, "x" * 4097)
        await expect(alice.locator(".toast.error")).to_contain_text("message is too long")
        await expect(alice.locator(".compose")).to_have_value("x" * 4097)
        assert await alice.locator(".message").count() == 0

        # A name longer than Telegram allows: no new customer, and the reason beside the form.
        panes = await page.locator('[data-pane^="customer-"]').count()
        await page.locator("#new-customer-name").fill("N" * 65)
        await page.locator("#add-customer").click()
        await expect(page.locator("#new-customer-status")).to_contain_text("longer than 64")
        assert await page.locator('[data-pane^="customer-"]').count() == panes

        # A proper one gets a pane, and its first message is answered there.
        await page.locator("#new-customer-name").fill("Citra")
        await page.locator("#add-customer").click()
        citra = page.locator('[data-pane^="customer-"]', has_text="Citra")
        await expect(citra).to_have_count(1)
        await write(citra, "/start")
        await expect(last_from_bot(citra, "Nusantara Net")).to_be_visible(timeout=SEEN)
