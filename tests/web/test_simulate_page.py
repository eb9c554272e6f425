"""`frontdoor simulate --format html`: the page opens in a real browser on its own (no script, no
request beside it) and shows each scenario's table and, per team, the hourly charts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml
from playwright.async_api import Browser, expect

from frontdoor.cli import EXIT_OK, main
from tests.support.frontdoor import EXAMPLE


async def test_the_what_if_page_shows_both_scenarios_per_team(
    browser: Browser, tmp_path: Path, artifacts: Path
) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["agents"] = [a for a in data["agents"] if a["id"] not in (1002, 1004)]
    fewer = tmp_path / "fewer.yaml"
    fewer.write_text(yaml.safe_dump(data, allow_unicode=True))
    out = tmp_path / "what-if.html"
    arguments = ["simulate", "--config", str(EXAMPLE), "--compare", str(fewer)]
    options = ["--start", "2026-11-23", "--days", "0.5", "--format", "html", "--out", str(out)]
    assert await asyncio.to_thread(main, [*arguments, *options]) == EXIT_OK
    html = out.read_text()
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org", "")

    page = await browser.new_page(viewport={"width": 1360, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    await page.goto(out.as_uri())
    await expect(
        page.get_by_role("heading", name="What if: 0.5 days from Mon 23 Nov")
    ).to_be_visible()
    await expect(page.locator("table")).to_have_count(2)
    await expect(page.locator("section h3").first).to_have_text("billing")
    charts = page.get_by_role("img", name="mean wait by hour of arrival")
    assert await charts.count() == await page.locator("section").count() >= 4
    assert await page.locator("polyline").count() > 0
    assert requests == [out.as_uri()]  # the page alone
    await page.screenshot(path=artifacts / "what-if.png")
