"""The pure decisions of the routing pipeline: no database, no event loop, `now` passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff.policies import (
    AgentSnapshot,
    ConversationSnapshot,
    TeamHours,
    Verdict,
    classify,
    decide_offer,
    estimated_wait,
    queue_key,
    team_hours,
)
from handoff.states import AgentStatus, ConversationState, IllegalMove, check_move
from tests.support.configs import make_config

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10:00 WIB, 11:00 WITA, 12:00 WIT
ROUTING = make_config().routing


def agent(agent_id=1, **changes) -> AgentSnapshot:
    values = dict(
        id=agent_id,
        name=f"Agent{agent_id}",
        capacity=3,
        status=AgentStatus.AVAILABLE,
        on_shift=True,
        load=0,
        pending_offers=0,
        last_routed_at=None,
    )
    values.update(changes)
    return AgentSnapshot(**values)


def chat(**changes) -> ConversationSnapshot:
    values = dict(
        id=7,
        team="support",
        priority=0,
        queued_at=NOW,
        attempts=0,
        sticky_agent_id=None,
        sticky_tried=False,
        open_to_anyone=False,
    )
    values.update(changes)
    return ConversationSnapshot(**values)


def test_the_sticky_agent_gets_the_offer_alone_for_the_sticky_timeout():
    decision = decide_offer(
        chat(sticky_agent_id=3),
        sticky_agent=agent(3, load=1),
        candidate=agent(1),
        routing=ROUTING,
        now=NOW,
    )
    assert (decision.verdict, decision.agent_id, decision.sticky) == (Verdict.OFFER, 3, True)
    assert decision.timeout == 45
    assert decision.reason == "sticky: last agent Agent3 on shift, load 1/3 → offered 45 s"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"status": AgentStatus.AWAY}, "away"),
        ({"status": AgentStatus.OFFLINE}, "offline"),
        ({"on_shift": False}, "off shift"),
        ({"load": 3}, "at capacity (3/3)"),
        ({"load": 2, "pending_offers": 1}, "at capacity (2/3)"),
    ],
)
def test_an_unavailable_sticky_agent_is_skipped_with_the_reason(change, why):
    decision = decide_offer(
        chat(sticky_agent_id=3),
        sticky_agent=agent(3, **change),
        candidate=agent(1),
        routing=ROUTING,
        now=NOW,
    )
    assert decision.agent_id == 1 and not decision.sticky
    assert decision.reason.startswith(f"sticky: last agent Agent3 {why}, skipped; round robin")


def test_a_tried_sticky_agent_is_not_offered_again():
    decision = decide_offer(
        chat(sticky_agent_id=3, sticky_tried=True),
        sticky_agent=agent(3),
        candidate=agent(1),
        routing=ROUTING,
        now=NOW,
    )
    assert decision.agent_id == 1


def test_round_robin_reports_how_long_the_candidate_was_idle():
    idle = agent(2, last_routed_at=NOW - timedelta(seconds=90))
    decision = decide_offer(chat(), sticky_agent=None, candidate=idle, routing=ROUTING, now=NOW)
    assert (
        decision.reason == "round robin: Agent2 longest idle (idle 90 s), load 0/3 → offered 60 s"
    )


def test_with_no_candidate_the_conversation_waits():
    decision = decide_offer(chat(), sticky_agent=None, candidate=None, routing=ROUTING, now=NOW)
    assert decision.verdict is Verdict.WAIT and not decision.open_to_anyone


def test_max_attempts_opens_the_conversation_to_anyone_once():
    at_limit = chat(attempts=ROUTING.max_attempts)
    decision = decide_offer(at_limit, sticky_agent=None, candidate=None, routing=ROUTING, now=NOW)
    assert decision.open_to_anyone and "open to anyone after 3 attempts" in decision.reason
    already = chat(attempts=5, open_to_anyone=True)
    assert not decide_offer(
        already, sticky_agent=None, candidate=None, routing=ROUTING, now=NOW
    ).open_to_anyone


def test_priority_counts_as_minutes_of_waiting_and_the_key_never_changes_with_time():
    vip_now = queue_key(NOW, priority=5, aging=60)
    plain_six_minutes_ago = queue_key(NOW - timedelta(minutes=6), priority=0, aging=60)
    plain_four_minutes_ago = queue_key(NOW - timedelta(minutes=4), priority=0, aging=60)
    assert plain_six_minutes_ago < vip_now < plain_four_minutes_ago


CONFIG = make_config(
    teams={"sales": {}, "support": {}, "billing": {}},
    intents={
        "invoice": {"keywords": {"id": ["tagihan"]}, "team": "billing", "priority_boost": 2},
        "pricing": {"keywords": {"id": ["harga"]}, "team": "support", "sales": True},
    },
    sales_team="sales",
    base_priority=1,
    vip={"customers": [9], "boost": 5},
    urgent={"keywords": ["darurat", "urgent"], "boost": 3},
)


def test_classify_adds_base_intent_vip_and_urgent_priority():
    result = classify(
        CONFIG,
        intent="invoice",
        text="Tagihan DARURAT",
        first_chat=False,
        is_vip=True,
        usual_team=None,
    )
    assert result.team == "billing"
    assert result.priority == 1 + 2 + 5 + 3
    assert result.reasons[-1] == "priority 11, existing customer"


def test_a_lead_with_a_sales_intent_goes_to_sales_and_an_existing_customer_to_the_intent_team():
    assert (
        classify(
            CONFIG, intent="pricing", text="", first_chat=True, is_vip=False, usual_team=None
        ).team
        == "sales"
    )
    assert (
        classify(
            CONFIG, intent="pricing", text="", first_chat=False, is_vip=False, usual_team=None
        ).team
        == "support"
    )


def test_without_an_intent_an_existing_customer_goes_to_their_usual_team():
    assert (
        classify(
            CONFIG, intent=None, text="", first_chat=False, is_vip=False, usual_team="billing"
        ).team
        == "billing"
    )
    assert (
        classify(CONFIG, intent=None, text="", first_chat=True, is_vip=False, usual_team=None).team
        == "sales"
    )


ZONES = make_config(
    teams={
        "wib": {"schedule": "jakarta"},
        "wita": {"schedule": "makassar"},
        "wit": {"schedule": "jayapura"},
        "nyc": {"schedule": "new_york"},
    },
    schedules={
        "jakarta": {"timezone": "Asia/Jakarta", "hours": {"mon": ["08:00-11:00"]}},
        "makassar": {"timezone": "Asia/Makassar", "hours": {"mon": ["08:00-11:00"]}},
        "jayapura": {"timezone": "Asia/Jayapura", "hours": {"mon": ["08:00-11:00"]}},
        "new_york": {
            "timezone": "America/New_York",
            "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        },
    },
)


def test_teams_in_wib_wita_and_wit_differ_at_the_same_instant():
    outcomes = {team: team_hours(ZONES, team, NOW).outcome for team in ("wib", "wita", "wit")}
    assert outcomes == {"wib": TeamHours.OPEN, "wita": TeamHours.HOLD, "wit": TeamHours.HOLD}
    # 10:00 WIB = 12:00 WIT: the WIT team closed at 11:00 local and reopens next Monday 08:00 WIT.
    assert team_hours(ZONES, "wit", NOW).opening == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)


def test_a_team_across_daylight_saving_opens_at_nine_local_on_both_sides():
    before = datetime(2026, 10, 30, 13, 0, tzinfo=UTC)  # Fri 09:00 EDT (UTC-4)
    after = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # Mon 09:00 EST (UTC-5)
    assert team_hours(ZONES, "nyc", before).outcome is TeamHours.OPEN
    assert team_hours(ZONES, "nyc", before - timedelta(minutes=1)).outcome is TeamHours.HOLD
    assert team_hours(ZONES, "nyc", after).outcome is TeamHours.OPEN
    assert team_hours(ZONES, "nyc", after - timedelta(minutes=1)).outcome is TeamHours.HOLD
    friday_evening = datetime(2026, 10, 30, 22, 0, tzinfo=UTC)
    assert team_hours(ZONES, "nyc", friday_evening).opening == after


def test_after_hours_chains_stop_at_a_team_already_visited():
    config = make_config(
        teams={
            "a": {"schedule": "office", "after_hours": "team:b"},
            "b": {"schedule": "office", "after_hours": "team:a"},
        },
    )
    saturday = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    decision = team_hours(config, "a", saturday)
    assert decision.outcome is TeamHours.REDIRECT and decision.visited == ("a", "b")
    assert decision.policy == "queue" and decision.opening is not None


def test_estimated_wait_scales_with_position_and_agents():
    assert estimated_wait(3, 2, 300) == 450
    assert estimated_wait(1, 0, 300) is None


def test_the_state_machine_refuses_illegal_moves():
    check_move(ConversationState.OFFERED, ConversationState.ASSIGNED)
    with pytest.raises(IllegalMove):
        check_move(ConversationState.CLOSED, ConversationState.QUEUED)
    with pytest.raises(IllegalMove):
        check_move(ConversationState.BOT, ConversationState.ASSIGNED)


def test_a_first_chat_about_a_bill_is_a_customer_not_a_lead():
    billing = classify(
        CONFIG, intent="invoice", text="", first_chat=True, is_vip=False, usual_team=None
    )
    buying = classify(
        CONFIG, intent="pricing", text="", first_chat=True, is_vip=False, usual_team=None
    )
    unknown = classify(CONFIG, intent=None, text="", first_chat=True, is_vip=False, usual_team=None)
    assert (billing.is_lead, buying.is_lead, unknown.is_lead) == (False, True, True)
    assert billing.reasons[-1].endswith("existing customer")
