"""The routing service on a real SQLite file, one behaviour of SPEC §4 per test."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from handoff import store
from handoff.events import (
    AgentStatusChanged,
    Assigned,
    Closed,
    Event,
    FirstResponse,
    HeldAfterHours,
    OfferMade,
    OpenedToAnyone,
    Queued,
    RoutedAfterHours,
    SlaBreached,
)
from handoff.router import ActionResult, ClaimResult
from handoff.states import AgentStatus, ConversationState
from tests.support.configs import make_config
from tests.support.routing import (
    DATABASES,
    agent,
    conversation,
    new_chat,
    pending_offer_agent,
    running_router,
    trail,
)


@pytest.fixture(params=DATABASES)
def database(request) -> str:
    """Every scenario runs on SQLite, and on PostgreSQL when the test database is configured."""
    return request.param


SATURDAY_22_WIB = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
CHRISTMAS_10_WIB = datetime(2026, 12, 25, 3, 0, tzinfo=UTC)


async def expire(router, conversation_id: int, seconds: float = 61) -> None:
    router.clock.advance(seconds)
    await router.sweep()


async def test_a_new_chat_is_offered_to_the_longest_idle_agent_and_only_they_may_claim(
    tmp_path, database
):
    config = make_config(agents=[{"id": 1}, {"id": 2}])
    async with running_router(tmp_path, config, database=database) as router:
        first = await new_chat(router, 100)
        assert await pending_offer_agent(router, first) == 1  # never routed, lowest id
        second = await new_chat(router, 101)
        assert await pending_offer_agent(router, second) == 2  # agent 1 was just routed

        refused = await router.claim(first, 2)
        assert refused.result is ClaimResult.NOT_OFFERED_TO_YOU and refused.holder_id == 1
        won = await router.claim(first, 1)
        assert won.result is ClaimResult.CLAIMED
        again = await router.claim(first, 1)
        assert again.result is ClaimResult.ALREADY_CLAIMED and again.holder_id == 1
        assert (await conversation(router, first)).state == ConversationState.ASSIGNED
        assert (await agent(router, 1)).load == 1


async def test_an_unclaimed_offer_times_out_and_goes_to_the_next_agent(tmp_path, database):
    config = make_config(agents=[{"id": 1}, {"id": 2}], claim_timeout="60s")
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) == 1
        router.clock.advance(59)
        await router.sweep()
        assert await pending_offer_agent(router, chat) == 1  # not yet
        await expire(router, chat, 2)
        assert await pending_offer_agent(router, chat) == 2
        assert any("timed out after 61 s" in line for line in await trail(router, chat))
        assert (await agent(router, 1)).pending_offers == 0


async def test_offers_that_fall_due_together_are_routed_again_in_queue_order(tmp_path, database):
    """Found by the property test: expired one by one, the first expiry freed Agent1, who took the
    later billing chat while the earlier support chat was still in its own overdue offer."""
    config = make_config(
        teams={"support": {}, "billing": {}},
        agents=[
            {"id": 1, "teams": ["support", "billing"], "capacity": 1},
            {"id": 2, "teams": ["support"], "capacity": 2},
        ],
        intents={"invoice": {"keywords": {"id": ["tagihan"]}, "team": "billing"}},
        claim_timeout="60s",
    )
    async with running_router(tmp_path, config, database=database) as router:
        first = await new_chat(router, 100)
        second = await new_chat(router, 101)
        assert [await pending_offer_agent(router, c) for c in (first, second)] == [1, 2]
        router.clock.advance(1)
        billing = await new_chat(router, 102, intent="invoice")
        assert await pending_offer_agent(router, billing) is None  # Agent1 is full

        router.clock.advance(60)
        assert (await router.expire_overdue()).result is ActionResult.DONE

        assert await pending_offer_agent(router, first) == 2
        assert await pending_offer_agent(router, second) == 1  # not the later billing chat
        assert (await conversation(router, billing)).state == ConversationState.QUEUED


async def test_when_every_candidate_timed_out_the_chat_waits_open_to_anyone(tmp_path, database):
    config = make_config(agents=[{"id": 1}, {"id": 2}], max_attempts=2, max_missed_offers=5)
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        await expire(router, chat)
        opened = await router.sweep()
        await expire(router, chat)
        row = await conversation(router, chat)
        assert row.state == ConversationState.QUEUED
        assert row.open_to_anyone
        assert await pending_offer_agent(router, chat) is None
        assert "no eligible agent" in (await trail(router, chat))[-1]
        assert not any(isinstance(e, OfferMade) for e in opened)
        # Open to anyone: either agent may take it now.
        assert (await router.claim(chat, 1, how="take")).result is ClaimResult.CLAIMED


async def test_max_attempts_opens_the_card_and_alerts(tmp_path, database):
    config = make_config(
        agents=[{"id": 1}, {"id": 2}, {"id": 3}], max_attempts=2, max_missed_offers=5
    )
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        router.clock.advance(61)
        events = await router.sweep()
        assert not any(isinstance(e, OpenedToAnyone) for e in events)
        router.clock.advance(61)
        events = await router.sweep()
        assert any(isinstance(e, OpenedToAnyone) for e in events)
        assert await pending_offer_agent(router, chat) == 3  # still offered to the last candidate
        assert (await router.claim(chat, 1)).result is ClaimResult.CLAIMED  # but anyone may claim


async def test_missed_offers_in_a_row_set_the_agent_away(tmp_path, database):
    config = make_config(agents=[{"id": 1}, {"id": 2}], max_missed_offers=2)
    async with running_router(tmp_path, config, database=database) as router:
        await router.set_agent_status(2, AgentStatus.AWAY)
        first = await new_chat(router, 100)
        router.clock.advance(61)
        await router.sweep()
        assert (await agent(router, 1)).missed_offers == 1
        second = await new_chat(router, 101)
        assert await pending_offer_agent(router, second) == 1
        router.clock.advance(61)
        events = await router.sweep()
        assert (await agent(router, 1)).status == AgentStatus.AWAY
        assert AgentStatusChanged(None, 1, AgentStatus.AWAY, "missed_offers") in events
        assert await pending_offer_agent(router, first) is None


async def test_a_claim_resets_the_missed_offer_count(tmp_path, database):
    config = make_config(agents=[{"id": 1}], max_missed_offers=2)
    async with running_router(tmp_path, config, database=database) as router:
        await new_chat(router, 100)
        await expire(router, 0)
        assert (await agent(router, 1)).missed_offers == 1
        second = await new_chat(router, 101)
        await router.claim(second, 1)
        assert (await agent(router, 1)).missed_offers == 0


async def sticky_world(tmp_path, database, **agent_one):
    config = make_config(agents=[{"id": 1, **agent_one}, {"id": 2}, {"id": 3}])
    return running_router(tmp_path, config, database=database)


async def serve_and_close(router, customer_id: int, agent_id: int) -> None:
    chat = await new_chat(router, customer_id)
    offered = await pending_offer_agent(router, chat)
    if offered == agent_id:
        await router.claim(chat, agent_id)
    else:
        await router.assign(chat, agent_id)
    await router.close(chat, by_agent_id=agent_id)


async def test_a_returning_customer_is_offered_to_their_last_agent(tmp_path, database):
    async with await sticky_world(tmp_path, database) as router:
        await serve_and_close(router, 100, 3)
        router.clock.advance(3600)
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) == 3
        assert any(
            line.startswith("sticky: last agent Agent3 on shift, load 0/3 → offered 45 s")
            for line in await trail(router, chat)
        )


async def test_sticky_is_skipped_when_the_last_agent_is_away(tmp_path, database):
    async with await sticky_world(tmp_path, database) as router:
        await serve_and_close(router, 100, 3)
        await router.set_agent_status(3, AgentStatus.AWAY)
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) in (1, 2)
        assert any(
            "sticky: last agent Agent3 away, skipped" in line for line in await trail(router, chat)
        )


async def test_sticky_is_skipped_when_the_last_agent_is_at_capacity(tmp_path, database):
    config = make_config(agents=[{"id": 1}, {"id": 3, "capacity": 1}])
    async with running_router(tmp_path, config, database=database) as router:
        await serve_and_close(router, 100, 3)
        busy = await new_chat(router, 200)
        await router.assign(busy, 3)
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) == 1
        assert any("at capacity (1/1)" in line for line in await trail(router, chat))


async def test_sticky_is_skipped_when_the_last_agent_is_off_shift(tmp_path, database):
    config = make_config(
        agents=[{"id": 1}, {"id": 3, "shift": "office"}],
    )
    async with running_router(tmp_path, config, database=database) as router:
        await serve_and_close(router, 100, 3)
        router.clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))  # 19:00 WIB, office closed
        await router.sync_shifts()
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) == 1
        assert any("off shift" in line for line in await trail(router, chat))


async def test_sticky_falls_back_to_round_robin_after_its_timeout(tmp_path, database):
    async with await sticky_world(tmp_path, database) as router:
        await serve_and_close(router, 100, 3)
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) == 3
        router.clock.advance(46)
        await router.sweep()
        assert await pending_offer_agent(router, chat) in (1, 2)


async def test_sticky_expires_after_the_window(tmp_path, database):
    async with await sticky_world(tmp_path, database) as router:
        await serve_and_close(router, 100, 3)
        router.clock.advance(73 * 3600)
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) in (1, 2)
        assert not any("sticky" in line for line in await trail(router, chat))


async def test_billing_words_reach_billing_and_leads_go_to_sales(tmp_path, database):
    config = make_config(
        teams={"sales": {}, "support": {}, "billing": {}},
        agents=[
            {"id": 1, "teams": ["sales"]},
            {"id": 2, "teams": ["support"]},
            {"id": 3, "teams": ["billing"]},
        ],
        intents={
            "invoice": {"keywords": {"id": ["tagihan"]}, "team": "billing"},
            "pricing": {"keywords": {"id": ["harga"]}, "team": "support", "sales": True},
        },
        sales_team="sales",
    )
    async with running_router(tmp_path, config, database=database) as router:
        bill = await new_chat(router, 100, intent="invoice")
        assert await pending_offer_agent(router, bill) == 3
        lead = await new_chat(router, 101, intent="pricing")
        assert await pending_offer_agent(router, lead) == 1


async def test_a_vip_overtakes_and_an_old_low_priority_chat_is_still_served_first(
    tmp_path, database
):
    config = make_config(
        agents=[{"id": 1, "capacity": 1}], aging="60s", vip={"customers": [900], "boost": 5}
    )
    async with running_router(tmp_path, config, database=database) as router:
        blocker = await new_chat(router, 1)
        await router.claim(blocker, 1)
        old = await new_chat(router, 100)  # priority 0 at t0
        router.clock.advance(60)
        newer = await new_chat(router, 101)  # priority 0 at t0+60
        vip = await new_chat(router, 900)  # priority 5 at t0+60: worth 300 s of waiting
        await router.close(blocker, by_agent_id=1)
        assert await pending_offer_agent(router, vip) == 1
        await router.claim(vip, 1)
        router.clock.advance(600)
        late_vip = await new_chat(router, 900 + 1)  # not VIP: plain arrival much later
        await router.close(vip, by_agent_id=1)
        assert await pending_offer_agent(router, old) == 1  # aging: the oldest goes first
        assert await pending_offer_agent(router, newer) is None
        assert await pending_offer_agent(router, late_vip) is None


async def test_an_agent_is_never_offered_beyond_capacity_but_a_manager_may_force(
    tmp_path, database
):
    config = make_config(agents=[{"id": 1, "capacity": 1}, {"id": 9, "manager": True}])
    async with running_router(tmp_path, config, database=database) as router:
        await router.set_agent_status(9, AgentStatus.AWAY)
        first = await new_chat(router, 100)
        await router.claim(first, 1)
        second = await new_chat(router, 101)
        assert await pending_offer_agent(router, second) is None
        forced = await router.assign(second, 1)
        assert forced.result is ClaimResult.CLAIMED
        assert forced.events[0].over_capacity
        assert (await agent(router, 1)).load == 2
        assert "over capacity (2/1)" in (await trail(router, second))[-1]


async def test_overflow_brings_in_the_secondary_team_after_the_wait(tmp_path, database):
    config = make_config(
        teams={"billing": {"secondary": ["support"]}, "support": {}},
        agents=[{"id": 1, "teams": ["billing"], "capacity": 1}, {"id": 2, "teams": ["support"]}],
        overflow_after="5m",
        intents={"invoice": {"keywords": {"id": ["tagihan"]}, "team": "billing"}},
    )
    async with running_router(tmp_path, config, database=database) as router:
        busy = await new_chat(router, 1, intent="invoice")
        await router.claim(busy, 1)
        chat = await new_chat(router, 100, intent="invoice")
        assert await pending_offer_agent(router, chat) is None
        router.clock.advance(299)
        await router.sweep()
        assert await pending_offer_agent(router, chat) is None
        router.clock.advance(2)
        await router.sweep()
        assert await pending_offer_agent(router, chat) == 2


async def test_a_team_that_opens_while_chats_wait_drains_its_queue(tmp_path, database):
    config = make_config(
        teams={"support": {"schedule": "office"}},
        agents=[{"id": 1, "shift": "office"}, {"id": 2, "shift": "office"}],
    )
    async with running_router(tmp_path, config, start=SATURDAY_22_WIB, database=database) as router:
        await router.ensure_customer(100, name="Budi")
        outcome = await router.request_handoff(100, intent=None, text="halo")
        held = [e for e in outcome.events if isinstance(e, HeldAfterHours)]
        assert held and held[0].opening == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Mon 08:00 WIB
        assert held[0].policy == "queue"
        chat = outcome.conversation_id
        router.clock.set(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))
        await router.sweep()
        assert await pending_offer_agent(router, chat) == 1


async def test_a_public_holiday_keeps_the_team_closed_until_the_next_working_day(
    tmp_path, database
):
    config = make_config(teams={"support": {"schedule": "office"}}, agents=[{"id": 1}])
    async with running_router(
        tmp_path, config, start=CHRISTMAS_10_WIB, database=database
    ) as router:
        await router.ensure_customer(100)
        outcome = await router.request_handoff(100, intent=None)
        held = next(e for e in outcome.events if isinstance(e, HeldAfterHours))
        assert held.opening == datetime(2026, 12, 28, 1, 0, tzinfo=UTC)  # Monday 08:00 WIB
        assert "closed" in (await trail(router, outcome.conversation_id))[1]


async def test_after_hours_team_policy_routes_to_the_night_team(tmp_path, database):
    config = make_config(
        teams={"support": {"schedule": "office", "after_hours": "team:night"}, "night": {}},
        agents=[{"id": 1, "teams": ["support"], "shift": "office"}, {"id": 2, "teams": ["night"]}],
    )
    async with running_router(tmp_path, config, start=SATURDAY_22_WIB, database=database) as router:
        await router.ensure_customer(100)
        outcome = await router.request_handoff(100, intent=None)
        assert RoutedAfterHours(outcome.conversation_id, 100, "support", "night") in outcome.events
        assert await pending_offer_agent(router, outcome.conversation_id) == 2


async def test_bot_only_policy_holds_the_message_for_the_opening(tmp_path, database):
    config = make_config(
        teams={"support": {"schedule": "office", "after_hours": "bot_only"}},
        agents=[{"id": 1, "shift": "office"}],
    )
    async with running_router(tmp_path, config, start=SATURDAY_22_WIB, database=database) as router:
        await router.ensure_customer(100)
        outcome = await router.request_handoff(100, intent=None, text="tolong hubungi saya")
        held = next(e for e in outcome.events if isinstance(e, HeldAfterHours))
        assert held.policy == "bot_only"
        row = await conversation(router, outcome.conversation_id)
        assert row.first_message == "tolong hubungi saya"


async def test_cherry_pick_lets_any_on_shift_agent_take_a_waiting_chat(tmp_path, database):
    config = make_config(agents=[{"id": 1}, {"id": 2}], claim="anyone")
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) == 1
        taken = await router.claim(chat, 2, how="take")
        assert taken.result is ClaimResult.CLAIMED
        assert (await agent(router, 1)).pending_offers == 0


async def test_taking_is_refused_without_cherry_pick(tmp_path, database):
    config = make_config(agents=[{"id": 1}, {"id": 2}])
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        assert (await router.claim(chat, 2, how="take")).result is ClaimResult.NOT_OFFERED_TO_YOU


async def test_a_transfer_while_an_offer_is_pending_rescinds_it(tmp_path, database):
    config = make_config(
        teams={"support": {}, "billing": {}},
        agents=[
            {"id": 1, "teams": ["support"]},
            {"id": 2, "teams": ["billing"]},
            {"id": 9, "teams": ["support"], "manager": True},
        ],
    )
    async with running_router(tmp_path, config, database=database) as router:
        await router.set_agent_status(9, AgentStatus.AWAY)
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) == 1
        result = await router.transfer(chat, 9, to_team="billing")
        assert result.result is ActionResult.DONE
        assert await pending_offer_agent(router, chat) == 2
        assert (await agent(router, 1)).pending_offers == 0
        assert (await router.claim(chat, 1)).result is ClaimResult.NOT_OFFERED_TO_YOU
        router.clock.advance(61)
        assert (await router.expire_overdue()).result is ActionResult.DONE  # billing's offer
        assert any("offer to Agent2 timed out" in line for line in await trail(router, chat))
        assert not any("offer to Agent1 timed out" in line for line in await trail(router, chat))
        assert (await agent(router, 1)).missed_offers == 0  # a rescinded offer was not missed
        assert (await router.expire_overdue()).result is ActionResult.ALREADY_DONE


async def test_transfer_to_an_agent_and_to_a_team(tmp_path, database):
    config = make_config(
        teams={"support": {}, "billing": {}},
        agents=[
            {"id": 1, "teams": ["support"]},
            {"id": 2, "teams": ["support"]},
            {"id": 3, "teams": ["billing"]},
        ],
    )
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        await router.claim(chat, 1)
        assert (await router.transfer(chat, 2, to_agent_id=3)).result is ActionResult.NOT_YOURS
        assert (await router.transfer(chat, 1, to_agent_id=2)).result is ActionResult.DONE
        row = await conversation(router, chat)
        assert (row.agent_id, row.transfers) == (2, 1)
        assert (await agent(router, 1)).load == 0 and (await agent(router, 2)).load == 1
        assert (
            await router.transfer(chat, 2, to_team="nowhere")
        ).result is ActionResult.UNKNOWN_TARGET
        assert (await router.transfer(chat, 2, to_team="billing")).result is ActionResult.DONE
        assert await pending_offer_agent(router, chat) == 3
        assert (await agent(router, 2)).load == 0


async def test_release_requeues_to_another_agent(tmp_path, database):
    config = make_config(agents=[{"id": 1}, {"id": 2}])
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        await router.claim(chat, 1)
        assert (await router.release(chat, 2)).result is ActionResult.NOT_YOURS
        released = await router.release(chat, 1)
        assert released.result is ActionResult.DONE
        assert await pending_offer_agent(router, chat) == 2


async def test_closing_frees_capacity_for_the_next_waiting_chat(tmp_path, database):
    config = make_config(agents=[{"id": 1, "capacity": 1}])
    async with running_router(tmp_path, config, database=database) as router:
        first = await new_chat(router, 100)
        await router.claim(first, 1)
        outcome = await router.request_handoff(101, intent=None)
        queued = next(e for e in outcome.events if isinstance(e, Queued))
        assert queued.position == 1
        closed = await router.close(first, by_agent_id=1)
        assert isinstance(closed.events[0], Closed)
        assert await pending_offer_agent(router, outcome.conversation_id) == 1


async def test_past_the_counted_many_a_place_in_line_is_a_lower_bound(
    tmp_path, database, monkeypatch
):
    monkeypatch.setattr(store, "COUNTED_AHEAD", 2)  # counting stops at 2 ahead, not 99
    config = make_config(agents=[{"id": 1, "capacity": 1}])
    async with running_router(tmp_path, config, database=database) as router:
        await router.claim(await new_chat(router, 100), 1)
        told = []
        for customer in range(101, 105):
            outcome = await router.request_handoff(customer, intent=None)
            queued = next(e for e in outcome.events if isinstance(e, Queued))
            told.append((queued.position, queued.at_least))
        assert told == [(1, False), (2, False), (3, True), (3, True)]


async def test_going_away_rescinds_pending_offers_and_reroutes(tmp_path, database):
    config = make_config(agents=[{"id": 1}, {"id": 2}])
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        await router.set_agent_status(1, AgentStatus.AWAY)
        assert await pending_offer_agent(router, chat) == 2
        await router.set_agent_status(2, AgentStatus.OFFLINE)
        assert await pending_offer_agent(router, chat) is None
        await router.set_agent_status(1, AgentStatus.AVAILABLE)
        assert await pending_offer_agent(router, chat) == 1


async def test_an_unreachable_agent_gets_no_offers(tmp_path, database):
    config = make_config(agents=[{"id": 1}, {"id": 2}])
    async with running_router(tmp_path, config, database=database) as router:
        await router.set_reachable(1, False)
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) == 2


async def test_customer_cancel_and_block_end_the_conversation(tmp_path, database):
    config = make_config(agents=[{"id": 1}])
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        assert (await router.cancel(100)).result is ActionResult.DONE
        assert (await conversation(router, chat)).close_reason == "customer_cancel"
        assert (await agent(router, 1)).pending_offers == 0
        assert (await router.cancel(100)).result is ActionResult.NOT_FOUND
        other = await new_chat(router, 101)
        await router.claim(other, 1)
        blocked = await router.customer_blocked(101)
        assert Closed(other, 101, 1, "blocked") in blocked.events
        assert (await agent(router, 1)).load == 0


async def test_idle_chats_close_and_sla_breaches_alert_once(tmp_path, database):
    config = make_config(
        teams={"support": {"sla": {"first_response": "2m"}}},
        agents=[{"id": 1}],
        idle_close_after="30m",
    )
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        await router.claim(chat, 1)
        router.clock.advance(121)
        events = await router.sweep()
        assert next(e for e in events if isinstance(e, SlaBreached)).conversation_id == chat
        assert not any(isinstance(e, SlaBreached) for e in await router.sweep())
        router.clock.advance(30 * 60)
        events = await router.sweep()
        assert Closed(chat, 100, 1, "idle") in events


async def test_an_agent_reply_sets_the_first_response_time(tmp_path, database):
    config = make_config(agents=[{"id": 1}])
    async with running_router(tmp_path, config, database=database) as router:
        heard: list[Event] = []

        async def hear(events: Sequence[Event]) -> None:
            heard.extend(events)

        router.listeners.append(hear)
        chat = await new_chat(router, 100)
        await router.claim(chat, 1)
        router.clock.advance(30)
        await router.record_message(chat, sender="agent", customer_id=100, agent_id=1, text="Halo!")
        router.clock.advance(30)
        await router.record_message(chat, sender="agent", customer_id=100, agent_id=1, text="Ok")
        row = await conversation(router, chat)
        assert (row.first_response_at - row.queued_at).total_seconds() == 30
        assert [e for e in heard if isinstance(e, FirstResponse)] == [
            FirstResponse(chat, row.team, 30.0)
        ]


async def test_a_first_claim_tells_how_long_the_chat_waited_and_a_transfer_does_not(
    tmp_path, database
):
    config = make_config(agents=[{"id": 1}, {"id": 2}])
    async with running_router(tmp_path, config, database=database) as router:
        chat = await new_chat(router, 100)
        router.clock.advance(20)
        claimed = (await router.claim(chat, 1)).events
        router.clock.advance(20)
        transferred = (await router.transfer(chat, 1, to_agent_id=2)).events
        team = (await conversation(router, chat)).team
        assert [e for e in claimed if isinstance(e, Assigned)] == [
            Assigned(chat, 100, 1, team, "claim", waited=20.0)
        ]
        assert [e for e in transferred if isinstance(e, Assigned)] == [
            Assigned(chat, 100, 2, team, "transfer")
        ]


async def test_bad_claims_are_refused_and_change_nothing(tmp_path, database):
    config = make_config(agents=[{"id": 1}])
    async with running_router(tmp_path, config, database=database) as router:
        assert (await router.claim(999, 1)).result is ClaimResult.NOT_FOUND
        chat = await new_chat(router, 100)
        assert (await router.claim(chat, 555)).result is ClaimResult.NOT_AN_AGENT
        before = await conversation(router, chat)
        await router.close(chat, by_agent_id=555)
        assert (await conversation(router, chat)).version == before.version
        assert (await router.close(chat, by_agent_id=1)).result is ActionResult.NOT_YOURS
        await router.claim(chat, 1)
        assert (await router.close(chat, by_agent_id=1)).result is ActionResult.DONE
        assert (await router.claim(chat, 1)).result is ClaimResult.CLOSED


async def test_removed_agents_are_deactivated_on_sync(tmp_path, database):
    config = make_config(agents=[{"id": 1}, {"id": 2}])
    async with running_router(tmp_path, config, database=database) as router:
        await router.sync_agents(make_config(agents=[{"id": 2}]))
        assert not (await agent(router, 1)).active
        chat = await new_chat(router, 100)
        assert await pending_offer_agent(router, chat) == 2
        assert (await router.claim(chat, 1)).result is ClaimResult.NOT_AN_AGENT


async def test_a_shift_start_makes_the_agent_available_and_its_end_offline(tmp_path, database):
    config = make_config(agents=[{"id": 1, "shift": "office"}])
    async with running_router(tmp_path, config, start=SATURDAY_22_WIB, database=database) as router:
        assert (await agent(router, 1)).status == AgentStatus.OFFLINE
        router.clock.set(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))
        events = (await router.sync_shifts()).events
        assert AgentStatusChanged(None, 1, AgentStatus.AVAILABLE, "shift_start") in events
        router.clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
        events = (await router.sync_shifts()).events
        assert AgentStatusChanged(None, 1, AgentStatus.OFFLINE, "shift_end") in events


async def test_a_chat_held_after_hours_starts_its_sla_clock_at_the_opening(tmp_path, database):
    config = make_config(
        teams={"support": {"schedule": "office", "sla": {"first_response": "2m"}}},
        agents=[{"id": 1, "shift": "always"}],
    )
    async with running_router(tmp_path, config, start=SATURDAY_22_WIB, database=database) as router:
        chat = await new_chat(router, 100)
        router.clock.set(datetime(2026, 11, 30, 1, 1, tzinfo=UTC))  # Monday 08:01 WIB
        assert not any(isinstance(e, SlaBreached) for e in await router.sweep())
        router.clock.advance(60)
        breached = [e for e in await router.sweep() if isinstance(e, SlaBreached)]
        assert [(e.conversation_id, e.waited) for e in breached] == [(chat, 120.0)]
