"""Routing done while the bot starts up reaches people like any other (SPEC §8): a chat held for
an opening that passed while the bot was down is offered as the bot starts, and the agent it is
offered to hears of it and its deadline is armed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from handoff import store
from tests.sandbox_support import SandboxClient
from tests.support.desk import Chat
from tests.support.frontdoor import running_frontdoor
from tests.support.routing import conversation

# Sunday 29 Nov 2026, 23:00 in Jakarta: Billing (08:00-17:00 on weekdays) is closed.
SUNDAY_23_WIB = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
# Monday 30 Nov 2026, 08:30 in Jakarta: Billing opened half an hour ago.
MONDAY_0830_WIB = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)


async def test_a_chat_held_for_an_opening_that_passed_while_the_bot_was_down_is_offered_and_heard(
    sandbox: SandboxClient, tmp_path: Path
) -> None:
    await sandbox.set_limits(enabled=False)
    async with running_frontdoor(sandbox.base_url, tmp_path, start=SUNDAY_23_WIB) as bot:
        for agent in bot.config.agents:  # every agent has pressed Start
            await sandbox.add_user(agent.name.split()[0], id=agent.id)
            await sandbox.send(agent.id, "/start")
        ani = Chat(sandbox, await sandbox.add_user("Ani", language_code="id"))
        await ani.says("tagihan saya salah, mau bicara dengan cs")
        await ani.sees("besok pukul 08:00 WIB")
        _, held = await bot.router.customer_status(ani.id)
        assert held is not None and held.not_before is not None

    async with running_frontdoor(sandbox.base_url, tmp_path, start=MONDAY_0830_WIB) as bot:
        async with bot.engine.connect() as conn:
            offer = await conn.run_sync(store.pending_offer, held.id)
        assert offer is not None, "the held chat was not offered at start-up"
        await sandbox.wait_for(  # the offer's private notice
            offer.agent_id, lambda m: (m.get("text") or "").startswith(f"🔔 #{held.id}"), timeout=5
        )
        assert bot.scheduler.timers.scheduler.get_job(f"offer-{offer.id}") is not None
        assert (await conversation(bot.router, held.id)).state == "offered"
