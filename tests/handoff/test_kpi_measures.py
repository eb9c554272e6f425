"""KPIs of SPEC §4.4 on small hand-computed examples, plus properties that hold for any input."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handoff.kpis.measures import (
    ConversationRecord,
    OfferRecord,
    Percentiles,
    ShiftRecord,
    compute_kpis,
    gini,
    interval_union_seconds,
    percentiles,
    reopened_conversations,
)

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, midnight
DAY_END = T0 + timedelta(days=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def conversation(
    id: int,
    *,
    customer_id: int | None = None,
    team: str = "support",
    agent_id: int | None = 7,
    created: float = 0,
    queued: float | None = 0,
    assigned: float | None = None,
    first_response: float | None = None,
    closed: float | None = None,
    transfers: int = 0,
    csat: int | None = None,
    held_until: float | None = None,
) -> ConversationRecord:
    def moment(minutes: float | None) -> datetime | None:
        return None if minutes is None else at(minutes)

    return ConversationRecord(
        id=id,
        customer_id=id if customer_id is None else customer_id,
        team=team,
        agent_id=agent_id,
        created_at=at(created),
        queued_at=moment(queued),
        assigned_at=moment(assigned),
        first_response_at=moment(first_response),
        closed_at=moment(closed),
        transfers=transfers,
        csat=csat,
        not_before=moment(held_until),
    )


def kpis_of(conversations=(), offers=(), shifts=(), start=T0, end=DAY_END, teams=None):
    return compute_kpis(conversations, offers, shifts, start, end, teams or {7: ["support"]})


# --- percentiles, gini, interval union -------------------------------------------------------


def test_percentiles_of_no_values_are_none():
    assert percentiles([]) == Percentiles(None, None, None, 0)


def test_percentiles_pick_the_nearest_rank():
    assert percentiles(range(10, 0, -1)) == Percentiles(5.0, 9.0, 10.0, 10)
    assert percentiles([42]) == Percentiles(42.0, 42.0, 42.0, 1)
    assert percentiles(range(1, 101)) == Percentiles(50.0, 90.0, 99.0, 100)


def test_gini_of_equal_shares_is_zero():
    assert gini([1, 1, 1]) == 0.0


def test_gini_of_one_agent_taking_all_three_claims_among_three_is_two_thirds():
    assert gini([0, 0, 3]) == pytest.approx(2 / 3)


def test_gini_of_nothing_or_all_zeros_is_zero():
    assert gini([]) == 0.0
    assert gini([0, 0, 0]) == 0.0


def test_gini_refuses_negative_values():
    with pytest.raises(ValueError, match="non-negative"):
        gini([1, -1])


def test_interval_union_counts_overlaps_once_and_clips_to_the_window():
    intervals = [(at(0), at(30)), (at(10), at(20)), (at(25), at(40)), (at(60), at(90))]
    assert interval_union_seconds(intervals, at(0), at(24 * 60)) == (40 + 30) * 60
    assert interval_union_seconds(intervals, at(35), at(70)) == (5 + 10) * 60
    assert interval_union_seconds([], at(0), at(10)) == 0


# --- conversation KPIs --------------------------------------------------------------------------


def test_waits_run_from_queue_entry_to_claim_for_conversations_claimed_in_the_period():
    kpis = kpis_of(
        [
            conversation(1, queued=10, assigned=11),
            conversation(2, queued=10, assigned=13),
            conversation(3, queued=-30, assigned=-20),  # claimed the day before
            conversation(4, queued=10),  # still waiting
        ]
    )
    assert kpis.overall.waits == Percentiles(60.0, 180.0, 180.0, 2)


def test_first_response_time_runs_from_queue_entry_to_the_first_agent_message():
    kpis = kpis_of(
        [
            conversation(1, queued=0, assigned=1, first_response=2),
            conversation(2, queued=0, assigned=1, first_response=5),
            conversation(3, queued=0, assigned=1),  # no reply yet
        ]
    )
    assert kpis.overall.first_response == Percentiles(120.0, 300.0, 300.0, 2)


def test_a_chat_held_for_the_opening_waits_from_the_opening_and_a_requeued_one_not_at_all():
    kpis = kpis_of(
        [
            # Asked at 00:10 while closed; the team opened at 08:00 and answered 1 min later.
            conversation(1, queued=10, held_until=480, assigned=481, first_response=482),
            # Claimed at 00:20, released at 00:30 (queued anew), claimed again at 00:40.
            conversation(2, queued=30, assigned=20, first_response=21),
        ]
    )
    assert kpis.overall.waits == Percentiles(60.0, 60.0, 60.0, 1)
    assert kpis.overall.first_response == Percentiles(120.0, 120.0, 120.0, 1)


def test_handle_time_runs_from_claim_to_close_and_aht_is_its_mean():
    kpis = kpis_of(
        [
            conversation(1, assigned=0, closed=10),
            conversation(2, assigned=0, closed=20),
            conversation(3, assigned=0, closed=60),
        ]
    )
    assert kpis.overall.handle_time == Percentiles(1200.0, 3600.0, 3600.0, 3)
    assert kpis.overall.mean_handle_seconds == 1800.0
    assert kpis.overall.closed == 3


def test_a_conversation_reopened_within_24_hours_is_not_first_contact_resolved():
    records = [
        conversation(1, customer_id=100, assigned=1, closed=60),
        conversation(2, customer_id=100, created=120, assigned=121, closed=180),
        conversation(3, customer_id=200, assigned=1, closed=60),
    ]
    kpis = kpis_of(records)
    assert reopened_conversations(records) == {1}
    assert kpis.overall.reopens == 1
    assert kpis.overall.fcr == pytest.approx(2 / 3)


def test_a_return_more_than_24_hours_after_the_close_is_not_a_reopen():
    records = [
        conversation(1, customer_id=100, assigned=1, closed=60),
        conversation(2, customer_id=100, created=60 + 24 * 60 + 1),
    ]
    assert reopened_conversations(records) == set()


def test_a_transferred_conversation_is_not_first_contact_resolved():
    kpis = kpis_of(
        [
            conversation(1, assigned=1, closed=60, transfers=1),
            conversation(2, assigned=1, closed=60),
        ]
    )
    assert kpis.overall.fcr == 0.5
    assert kpis.overall.transfers == 1


def test_conversations_the_bot_closed_alone_do_not_count_toward_fcr():
    kpis = kpis_of(
        [conversation(1, agent_id=None, closed=5), conversation(2, assigned=1, closed=9)]
    )
    assert kpis.overall.closed == 2
    assert kpis.overall.fcr == 1.0


def test_csat_is_the_mean_score_and_the_share_of_fours_and_fives():
    scores = [5, 4, 3, 1, None]
    kpis = kpis_of(
        [conversation(i, assigned=0, closed=10, csat=s) for i, s in enumerate(scores, 1)]
    )
    assert kpis.overall.csat_mean == pytest.approx(13 / 4)
    assert kpis.overall.csat_share == 0.5
    assert kpis.overall.csat_count == 4


def test_kpis_without_any_data_are_none_rather_than_errors():
    kpis = kpis_of()
    assert kpis.overall.waits == Percentiles(None, None, None, 0)
    assert kpis.overall.mean_handle_seconds is None
    assert kpis.overall.fcr is None
    assert kpis.overall.csat_mean is None
    assert kpis.overall.csat_share is None
    assert kpis.by_agent[7].utilization is None
    assert kpis.by_agent[7].mean_handle_seconds is None
    assert kpis.fairness == {}


def test_open_conversations_are_not_counted_as_handled_or_closed():
    kpis = kpis_of([conversation(1, assigned=5), conversation(2, assigned=5, closed=15)])
    assert kpis.overall.created == 2
    assert kpis.overall.closed == 1
    assert kpis.overall.handle_time.count == 1
    assert kpis.by_agent[7].handled == 1
    assert kpis.by_agent[7].mean_handle_seconds == 600.0


def test_kpis_are_split_by_the_conversations_team():
    kpis = kpis_of(
        [
            conversation(1, team="sales", assigned=0, closed=10),
            conversation(2, team="billing", assigned=0, closed=30),
        ],
        teams={7: ["support"]},
    )
    assert set(kpis.by_team) == {"billing", "sales", "support"}
    assert kpis.by_team["sales"].mean_handle_seconds == 600.0
    assert kpis.by_team["billing"].mean_handle_seconds == 1800.0
    assert kpis.by_team["support"].closed == 0
    assert kpis.overall.closed == 2


# --- agent KPIs ---------------------------------------------------------------------------------


def test_offer_counts_follow_each_offers_state_for_offers_made_in_the_period():
    states = ["accepted", "timed_out", "timed_out", "declined", "rescinded", "pending"]
    offers = [OfferRecord(i, 7, state, at(i), None) for i, state in enumerate(states)]
    offers.append(OfferRecord(99, 7, "accepted", at(-5), at(-4)))  # the day before
    agent = kpis_of(offers=offers).by_agent[7]
    assert agent.offers == 6
    assert (agent.accepts, agent.timeouts, agent.declines, agent.rescinds) == (1, 2, 1, 1)


def test_utilization_counts_overlapping_conversations_once_and_only_time_on_shift():
    # On shift 09:00–11:00 and 13:00–14:00 (3 h). Handling 08:30–09:30 and 09:15–10:00 overlap
    # (09:00–10:00 on shift = 1 h) and 13:30–15:00 runs past the shift (30 min on shift).
    shifts = [ShiftRecord(7, at(9 * 60), at(11 * 60)), ShiftRecord(7, at(13 * 60), at(14 * 60))]
    conversations = [
        conversation(1, assigned=8 * 60 + 30, closed=9 * 60 + 30),
        conversation(2, assigned=9 * 60 + 15, closed=10 * 60),
        conversation(3, assigned=13 * 60 + 30, closed=15 * 60),
    ]
    agent = kpis_of(conversations, shifts=shifts).by_agent[7]
    assert agent.on_shift_seconds == 3 * 3600
    assert agent.handling_seconds == 1.5 * 3600
    assert agent.utilization == 0.5


def test_utilization_clips_shifts_and_open_conversations_to_the_period():
    # Shift from 22:00 the day before to 02:00; an open conversation claimed at 01:00.
    shifts = [ShiftRecord(7, at(-120), at(120))]
    agent = kpis_of([conversation(1, assigned=60)], shifts=shifts, end=at(90)).by_agent[7]
    assert agent.on_shift_seconds == 90 * 60
    assert agent.handling_seconds == 30 * 60
    assert agent.utilization == pytest.approx(1 / 3)


# --- fairness ---------------------------------------------------------------------------------


def test_fairness_is_the_mean_daily_gini_among_the_teams_agents_on_shift_that_day():
    teams = {1: ["support"], 2: ["support"], 3: ["support"]}
    shifts = [ShiftRecord(agent, at(8 * 60), at(16 * 60)) for agent in teams]
    shifts += [ShiftRecord(agent, at(32 * 60), at(40 * 60)) for agent in teams]
    # Day one: agent 1 takes all three claims while 2 and 3 sit idle on shift → 2/3.
    # Day two: one claim each → 0.
    claims = [(1, 9), (1, 10), (1, 11), (1, 33), (2, 34), (3, 35)]
    conversations = [
        conversation(i, agent_id=agent, queued=hour * 60, assigned=hour * 60)
        for i, (agent, hour) in enumerate(claims)
    ]
    kpis = kpis_of(conversations, shifts=shifts, end=T0 + timedelta(days=2), teams=teams)
    assert kpis.fairness == {"support": pytest.approx(1 / 3)}


def test_fairness_leaves_out_agents_off_shift_and_days_without_claims():
    teams = {1: ["support"], 2: ["support"], 3: ["sales"]}
    # Agent 2 works only on day two; agent 3 is on shift but in another team.
    shifts = [ShiftRecord(1, at(8 * 60), at(16 * 60)), ShiftRecord(2, at(32 * 60), at(40 * 60))]
    shifts.append(ShiftRecord(3, at(8 * 60), at(16 * 60)))
    conversations = [conversation(1, agent_id=1, assigned=9 * 60)]
    kpis = kpis_of(conversations, shifts=shifts, end=T0 + timedelta(days=2), teams=teams)
    assert kpis.fairness == {"support": 0.0}


# --- properties ---------------------------------------------------------------------------------

counts = st.lists(st.integers(min_value=0, max_value=1000), max_size=30)


@given(counts)
def test_gini_lies_between_zero_and_one(values):
    assert 0.0 <= gini(values) < 1.0


@given(counts, st.randoms())
def test_gini_ignores_the_order_of_agents(values, random):
    shuffled = list(values)
    random.shuffle(shuffled)
    assert gini(shuffled) == gini(values)


@given(counts, st.integers(min_value=1, max_value=1000))
def test_gini_ignores_the_scale_of_the_counts(values, factor):
    assert gini([v * factor for v in values]) == pytest.approx(gini(values))


@given(st.lists(st.floats(min_value=0, max_value=1e6), max_size=50))
def test_percentiles_never_decrease_from_p50_to_p99(values):
    result = percentiles(values)
    assert result.count == len(values)
    if values:
        assert min(values) <= result.p50 <= result.p90 <= result.p99 <= max(values)


spans = st.tuples(st.integers(-600, 2000), st.integers(0, 600))


@given(
    st.lists(st.tuples(spans, st.booleans()), max_size=8),
    st.lists(spans, max_size=4),
    st.integers(0, 1440),
)
def test_utilization_lies_between_zero_and_one(handling, shift_spans, end_minute):
    conversations = [
        conversation(i, assigned=begin, closed=begin + length if closed else None)
        for i, ((begin, length), closed) in enumerate(handling)
    ]
    shifts = [ShiftRecord(7, at(begin), at(begin + length)) for begin, length in shift_spans]
    agent = kpis_of(conversations, shifts=shifts, end=at(end_minute)).by_agent[7]
    assert agent.handling_seconds <= agent.on_shift_seconds
    if agent.utilization is not None:
        assert 0.0 <= agent.utilization <= 1.0


def test_fairness_days_follow_the_timezone_of_the_period_start():
    jakarta = ZoneInfo("Asia/Jakarta")
    start = datetime(2026, 3, 2, tzinfo=jakarta)
    teams = {1: ["support"], 2: ["support"]}
    shifts = [ShiftRecord(agent, start, start + timedelta(days=2)) for agent in teams]
    # 06:30 and 08:00 on 3 March in Jakarta are 23:30 on 2 March and 01:00 on 3 March in UTC:
    # one Jakarta day with a claim each (0), not two UTC days with one claim each (0.5).
    claims = [(1, datetime(2026, 3, 2, 23, 30, tzinfo=UTC)), (2, start + timedelta(hours=32))]
    conversations = [
        ConversationRecord(i, i, "support", agent, moment, moment, moment, None, None, 0, None)
        for i, (agent, moment) in enumerate(claims)
    ]
    kpis = compute_kpis(conversations, [], shifts, start, start + timedelta(days=2), teams)
    assert kpis.fairness == {"support": 0.0}
