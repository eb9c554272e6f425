"""KPIs read back from the database after a real conversation through the router."""

from __future__ import annotations

from datetime import timedelta

from handoff.kpis.loading import load_report
from handoff.router import ActionResult
from handoff.store import SentMessage
from tests.support.configs import make_config
from tests.support.routing import MONDAY_10_WIB, new_chat, running_router, served_chat


async def test_a_served_and_rated_conversation_shows_in_the_kpis(tmp_path):
    config = make_config(agents=[{"id": 1}, {"id": 2}])
    async with running_router(tmp_path, config) as router:
        chat = await served_chat(router)
        assert await router.record_csat(chat, 100, 5, "mantap") is ActionResult.DONE
        assert await router.record_csat(chat, 100, 4) is ActionResult.ALREADY_DONE
        assert await router.record_csat(chat, 101, 4) is ActionResult.NOT_FOUND
        assert await router.record_csat(chat, 100, 9) is ActionResult.NOT_ALLOWED

        end = MONDAY_10_WIB + timedelta(hours=1)
        report = await load_report(router.database, config, MONDAY_10_WIB, end, end)
        rows = {row.key: row for row in report.rows}
        team, agent = rows["support"], rows["1"]
        assert (team.wait_p50_s, team.first_response_p50_s, team.handle_p50_s) == (30, 60, 270)
        assert (team.csat_mean, team.fcr_pct, team.closed) == (5, 100.0, 1)
        assert (agent.handled, agent.accepts) == (1, 1)
        assert agent.utilization_pct == 7.5  # 270 s of the hour on shift


async def test_rating_an_open_conversation_is_refused(tmp_path):
    config = make_config(agents=[{"id": 1}])
    async with running_router(tmp_path, config) as router:
        chat = await new_chat(router, 100)
        assert await router.record_csat(chat, 100, 5) is ActionResult.NOT_ALLOWED


async def test_a_chat_claimed_in_the_period_counts_though_it_began_before_and_ended_after(tmp_path):
    config = make_config(agents=[{"id": 1}])
    async with running_router(tmp_path, config) as router:
        chat = await new_chat(router, 100)  # 10:00
        router.clock.advance(3600)
        await router.claim(chat, 1)  # 11:00
        router.clock.advance(3600)
        await router.close(chat, by_agent_id=1)  # 12:00

        start = MONDAY_10_WIB + timedelta(minutes=30)
        report = await load_report(
            router.database, config, start, start + timedelta(hours=1), router.clock.now()
        )

    overall, support, agent = report.rows
    assert (overall.created, overall.closed, overall.wait_p50_s) == (0, 0, 3600.0)
    assert (support.name, support.wait_p50_s) == ("Support", 3600.0)
    assert (agent.name, agent.utilization_pct) == ("Agent1", 50.0)  # busy 11:00-11:30


async def test_a_shift_still_running_counts_up_to_now_not_to_the_end_of_the_period(tmp_path):
    config = make_config(agents=[{"id": 1}])
    async with running_router(tmp_path, config) as router:
        chat = await new_chat(router, 100)
        await router.claim(chat, 1)
        router.clock.advance(1800)
        await router.close(chat, by_agent_id=1)
        router.clock.advance(1800)  # 11:00, the shift runs on

        report = await load_report(
            router.database, config, MONDAY_10_WIB, MONDAY_10_WIB + timedelta(hours=8),
            router.clock.now(),
        )  # fmt: skip

    assert report.rows[-1].utilization_pct == 50.0  # 30 of 60 minutes, not of 8 hours


async def test_canned_and_suggested_messages_are_counted_with_handle_times_with_and_without(
    tmp_path,
):
    config = make_config(agents=[{"id": 1}])
    async with running_router(tmp_path, config) as router:
        assisted, own = await new_chat(router, 100), await new_chat(router, 101)
        await router.claim(assisted, 1)
        await router.claim(own, 1)
        agent = {"sender": "agent", "agent_id": 1}
        await router.record_messages(
            100,
            assisted,
            [
                SentMessage(**agent, text="Halo", reply_refs=("r:halo",), reply_how="canned"),
                SentMessage(**agent, text="Cara bayar", reply_refs=("f:x",), reply_how="suggested"),
                SentMessage(**agent, text="Sebentar ya"),
                SentMessage("customer", text="ok"),
            ],
        )
        await router.record_messages(101, own, [SentMessage(**agent, text="Halo juga")])
        router.clock.advance(600)
        await router.close(assisted, by_agent_id=1)
        router.clock.advance(600)
        await router.close(own, by_agent_id=1)

        end = MONDAY_10_WIB + timedelta(hours=1)
        report = await load_report(router.database, config, MONDAY_10_WIB, end, end)

    for row in report.rows:  # overall, the team, the agent: the same two chats
        assert row.assisted_pct == 50.0  # 2 of the 4 agent messages
        assert (row.aht_assisted_s, row.aht_unassisted_s) == (600.0, 1200.0)


async def test_a_transferred_chat_counts_only_its_holders_own_messages(tmp_path):
    config = make_config(agents=[{"id": 1}, {"id": 2}])
    async with running_router(tmp_path, config) as router:
        chat = await new_chat(router, 100)
        await router.claim(chat, 1, how="force")
        canned = SentMessage(
            "agent", text="Halo", agent_id=1, reply_refs=("r:halo",), reply_how="canned"
        )
        await router.record_messages(100, chat, [canned])
        await router.transfer(chat, 1, to_agent_id=2)
        if (await router.customer_status(100))[1].agent_id != 2:
            await router.claim(chat, 2, how="force")
        await router.record_messages(100, chat, [SentMessage("agent", text="Saya", agent_id=2)])
        router.clock.advance(600)
        await router.close(chat, by_agent_id=2)

        end = MONDAY_10_WIB + timedelta(hours=1)
        report = await load_report(router.database, config, MONDAY_10_WIB, end, end)

    rows = {row.key: row for row in report.rows}
    assert rows["2"].assisted_pct == 0.0  # agent 2 wrote one message, their own
    assert (rows["2"].aht_assisted_s, rows["2"].aht_unassisted_s) == (None, 600.0)
    assert rows["1"].assisted_pct is None  # agent 1 closed no chat in the period
