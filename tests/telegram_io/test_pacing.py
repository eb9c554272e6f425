"""The outbox's pacer keeps under Telegram's flood limits (SPEC §8): pure, time passed in."""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handoff.config import Pacing
from telegram_io.pacing import JITTER_MARGIN, OVERALL_SHARE, TICK, Pacer

CUSTOMER = 1001
OTHER_CUSTOMER = 1002
GROUP = -1001234567890

# Windows are counted to the microsecond: an interval such as 1/3 s added up in floating point can
# land a hair before the window's end, and no server counts that as one message too many.
CLOCK_SLACK = 1e-6
ONE_SECOND = 1.0 + JITTER_MARGIN  # one message a second, with the margin for arrival jitter
UNBOUND = math.inf  # no overall limit: a test of one chat's limit alone


def send_when_allowed(pacer: Pacer, chat_id: int, now: float) -> float:
    """Wait (advance `now`) until the pacer lets a message to `chat_id` go, book it; when it went."""
    while (wait := pacer.wait(chat_id, now)) > 0:
        now += wait
    pacer.take(chat_id, now)
    return now


def most_in_any_window(times: list[float], length: float) -> int:
    """The most of `times` that fall in one half-open window [t, t + length)."""
    times = sorted(times)
    return max(
        (bisect_left(times, start + length - CLOCK_SLACK) - i for i, start in enumerate(times)),
        default=0,
    )


def test_a_private_chat_gets_its_burst_at_once_then_one_per_interval() -> None:
    pacer = Pacer(Pacing(per_chat_per_s=1.0, per_chat_burst=3, global_per_s=UNBOUND))

    for _ in range(3):
        assert pacer.wait(CUSTOMER, 0.0) == 0
        pacer.take(CUSTOMER, 0.0)

    assert pacer.wait(CUSTOMER, 0.0) == pytest.approx(ONE_SECOND)
    assert pacer.wait(CUSTOMER, 0.5) == pytest.approx(ONE_SECOND - 0.5)
    pacer.take(CUSTOMER, ONE_SECOND)
    assert pacer.wait(CUSTOMER, ONE_SECOND) == pytest.approx(ONE_SECOND)
    pacer.take(CUSTOMER, 2 * ONE_SECOND)
    assert pacer.wait(CUSTOMER, 2 * ONE_SECOND) == pytest.approx(ONE_SECOND)


def test_a_private_chat_has_its_whole_burst_again_after_a_quiet_spell() -> None:
    pacer = Pacer(Pacing(per_chat_per_s=1.0, per_chat_burst=3, global_per_s=UNBOUND))
    for _ in range(3):
        pacer.take(CUSTOMER, 0.0)

    for _ in range(3):
        assert pacer.wait(CUSTOMER, 60.0) == 0
        pacer.take(CUSTOMER, 60.0)
    assert pacer.wait(CUSTOMER, 60.0) == pytest.approx(ONE_SECOND)


def test_a_group_gets_twenty_messages_a_minute_and_the_twenty_first_waits_three_seconds() -> None:
    pacer = Pacer(Pacing(per_group_per_min=20))

    sent = []
    now = 0.0
    for _ in range(20):
        now = send_when_allowed(pacer, GROUP, now)
        sent.append(now)

    assert sent[-1] < 60.0
    assert pacer.wait(GROUP, sent[-1]) == pytest.approx(3.0 + JITTER_MARGIN)
    assert send_when_allowed(pacer, GROUP, sent[-1]) >= 60.0 - CLOCK_SLACK


def test_a_group_limit_does_not_slow_private_chats() -> None:
    pacer = Pacer(Pacing(per_group_per_min=20, per_chat_burst=3, global_per_s=UNBOUND))
    pacer.take(GROUP, 0.0)

    assert pacer.wait(GROUP, 0.0) > 0
    assert pacer.wait(CUSTOMER, 0.0) == 0


def test_the_overall_limit_spreads_messages_evenly_below_thirty_a_second() -> None:
    pacer = Pacer(Pacing(global_per_s=30, per_chat_per_s=1.0, per_chat_burst=3))

    now = 0.0
    sent = []
    for chat_id in range(1, 91):  # a new customer each time: only the overall limit binds
        now = send_when_allowed(pacer, chat_id, now)
        sent.append(now)

    gap = 1 / (30 * OVERALL_SHARE)
    assert [b - a for a, b in itertools.pairwise(sent)] == pytest.approx([gap] * 89)
    assert most_in_any_window(sent, 1.0) == 26  # 85 % of thirty, rounded up


def test_at_a_limit_of_thousands_a_second_one_ticks_worth_goes_back_to_back() -> None:
    """A sender pauses at least a `TICK` between turns: what falls due within it may go at once
    (one message per tick would cap 100,000 a second at a thousand), and never more."""
    per_s = 100_000
    pacer = Pacer(Pacing(global_per_s=per_s, per_chat_per_s=1.0, per_chat_burst=3))
    one_tick = int(TICK * per_s * OVERALL_SHARE)

    at_once = 0
    while pacer.overall_wait(0.0) == 0:  # a new customer each time: only the overall limit binds
        pacer.take(at_once + 1, 0.0)
        at_once += 1

    assert at_once == one_tick
    assert pacer.overall_wait(TICK) == 0  # a tick later the next tick's worth is due
    assert Pacer(Pacing(global_per_s=30)).overall_wait(0.0) == 0  # Telegram's: one at a time
    thirty = Pacer(Pacing(global_per_s=30))
    thirty.take(CUSTOMER, 0.0)
    assert thirty.overall_wait(0.0) > TICK


@given(
    st.lists(st.floats(min_value=0, max_value=0.15), min_size=120, max_size=120),
    st.integers(min_value=1, max_value=40),
)
def test_arrivals_bunched_by_network_jitter_stay_within_the_overall_limit(
    delays: list[float], per_s: int
) -> None:
    """Telegram counts a message when it arrives: up to 0.15 s late, unevenly."""
    pacer = Pacer(Pacing(global_per_s=per_s, per_chat_per_s=1.0, per_chat_burst=3))
    now, arrivals = 0.0, []
    for chat_id, delay in enumerate(delays, start=1):
        now = send_when_allowed(pacer, chat_id, now)
        arrivals.append(now + delay)
    assert most_in_any_window(arrivals, 1.0) <= per_s


def test_a_pause_after_429_holds_only_that_chat() -> None:
    pacer = Pacer()

    pacer.pause(CUSTOMER, 5.0, now=10.0)

    assert pacer.wait(CUSTOMER, 10.0) == pytest.approx(5.0)
    assert pacer.wait(CUSTOMER, 14.0) == pytest.approx(1.0)
    assert pacer.wait(OTHER_CUSTOMER, 10.0) == 0
    assert pacer.wait(GROUP, 10.0) == 0
    assert pacer.wait(CUSTOMER, 15.0) == 0


def test_a_shorter_pause_does_not_cut_a_longer_one_short() -> None:
    pacer = Pacer()

    pacer.pause(CUSTOMER, 5.0, now=0.0)
    pacer.pause(CUSTOMER, 1.0, now=1.0)

    assert pacer.wait(CUSTOMER, 2.0) == pytest.approx(3.0)


def test_waits_are_never_negative() -> None:
    pacer = Pacer()
    pacer.pause(CUSTOMER, 1.0, now=0.0)
    pacer.take(GROUP, 0.0)

    assert pacer.wait(CUSTOMER, 100.0) == 0.0
    assert pacer.wait(GROUP, 100.0) == 0.0
    assert pacer.wait(OTHER_CUSTOMER, 1.0) == 0.0


limits = st.builds(
    Pacing,
    per_chat_per_s=st.floats(min_value=0.2, max_value=50),
    per_chat_burst=st.integers(min_value=1, max_value=10),
    per_group_per_min=st.integers(min_value=1, max_value=120),
    global_per_s=st.integers(min_value=1, max_value=40),
)
step = st.tuples(
    st.sampled_from([CUSTOMER, OTHER_CUSTOMER, 1003, GROUP, -1002]),
    st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=5.0)),  # time since the last step
    st.booleans(),  # wait for the pacer (True) or give up when it says wait (False)
)


@given(limits=limits, steps=st.lists(step, max_size=300))
def test_messages_sent_only_when_the_pacer_allows_never_break_telegrams_limits(
    limits: Pacing, steps: list[tuple[int, float, bool]]
) -> None:
    pacer = Pacer(limits)
    sent: dict[int, list[float]] = {}
    now = 0.0

    for chat_id, gap, patient in steps:
        now += gap
        while (wait := pacer.wait(chat_id, now)) > 0 and patient:
            now += wait
        assert wait >= 0
        if wait == 0:
            pacer.take(chat_id, now)
            sent.setdefault(chat_id, []).append(now)

    everything = [moment for moments in sent.values() for moment in moments]
    assert most_in_any_window(everything, 1.0) <= limits.global_per_s
    for chat_id, moments in sent.items():
        if chat_id < 0:
            assert most_in_any_window(moments, 60.0) <= limits.per_group_per_min
        else:
            # The burst at once, then one per interval for the rest of the second.
            most = limits.per_chat_burst + math.ceil(limits.per_chat_per_s) - 1
            assert most_in_any_window(moments, 1.0) <= most
