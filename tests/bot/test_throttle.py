"""A customer sending too fast is warned once and their messages wait their turn: pure, time passed in."""

from __future__ import annotations

import pytest

from bot.throttle import Throttle, ThrottleVerdict
from handoff.config import Spam

ANI = 1001
BUDI = 1002
NOW = ThrottleVerdict(wait=0.0, warn=False)


def throttle() -> Throttle:
    """Three messages per ten seconds pass untouched."""
    return Throttle(Spam(messages=3, per=10.0))


def test_messages_under_the_rate_never_wait() -> None:
    spam = throttle()

    verdicts = [spam.check(ANI, now) for now in (0.0, 4.0, 8.0, 12.0, 16.0, 20.0)]

    assert verdicts == [NOW] * 6


def test_the_message_over_the_rate_waits_until_the_window_frees_and_is_warned() -> None:
    spam = throttle()
    for now in (0.0, 1.0, 2.0):
        assert spam.check(ANI, now) == NOW

    verdict = spam.check(ANI, 3.0)

    assert verdict.warn
    assert verdict.wait == pytest.approx(7.0)  # the message of 0.0 leaves the window at 10.0


def test_further_messages_of_the_same_burst_wait_longer_and_are_not_warned_again() -> None:
    spam = throttle()
    for now in (0.0, 1.0, 2.0):
        spam.check(ANI, now)

    verdicts = [spam.check(ANI, 3.0) for _ in range(4)]

    assert [v.warn for v in verdicts] == [True, False, False, False]
    # Handled at 10, 11 and 12 as the first three leave the window, then at 20 behind those.
    assert [v.wait for v in verdicts] == pytest.approx([7.0, 8.0, 9.0, 17.0])


def test_messages_that_waited_are_still_no_more_than_the_rate_in_any_window() -> None:
    spam = throttle()

    handled_at = [now + spam.check(ANI, now).wait for now in [0.0] * 10]

    assert handled_at == [0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 20.0, 20.0, 20.0, 30.0]


def test_a_new_burst_after_a_quiet_window_is_warned_again() -> None:
    spam = throttle()
    for _ in range(4):
        spam.check(ANI, 0.0)  # the fourth was warned, handled at 10.0

    calm = [spam.check(ANI, now) for now in (30.0, 30.0, 30.0)]
    again = spam.check(ANI, 30.0)

    assert calm == [NOW] * 3
    assert again.warn
    assert again.wait == pytest.approx(10.0)


def test_one_customer_spamming_does_not_hold_up_another() -> None:
    spam = throttle()
    for _ in range(5):
        spam.check(ANI, 0.0)

    assert spam.check(BUDI, 0.0) == NOW


def test_forget_idle_drops_customers_quiet_for_a_whole_window_and_keeps_the_others() -> None:
    spam = throttle()
    for _ in range(4):
        spam.check(ANI, 0.0)  # warned; the fourth is handled at 10.0
    spam.check(BUDI, 12.0)

    spam.forget_idle(now=20.0)

    # Memory is what forget_idle is for, so look at who is still tracked.
    assert set(spam._seen) == {BUDI}
    assert spam.check(ANI, 20.0) == NOW
    assert spam.check(BUDI, 20.0) == NOW


def test_forget_idle_keeps_a_customer_whose_messages_still_wait() -> None:
    spam = throttle()
    for _ in range(6):
        spam.check(ANI, 0.0)  # the last three are handled at 10.0

    spam.forget_idle(now=15.0)

    later = spam.check(ANI, 15.0)
    assert later.wait == pytest.approx(5.0)  # still in the same burst: waits, not warned again
    assert not later.warn
