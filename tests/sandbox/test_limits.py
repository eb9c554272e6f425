"""Telegram's flood limits: per chat, per group, overall; 429 with a retry_after to honour."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Bot
from telegram.error import RetryAfter

from sandbox.limits import LimitSettings, RateLimiter
from tests.sandbox_support import BOT_TOKEN, SandboxClient

# PTB itself warns when it builds RetryAfter (retry_after becomes a timedelta in v23).
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_message_a_second_per_chat_after_a_small_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(LimitSettings(per_chat_burst=3), clock)
    assert [limiter.retry_after(1, is_group=False) for _ in range(4)] == [0, 0, 0, 1]
    assert limiter.retry_after(2, is_group=False) == 0  # other chats are not affected
    clock.now = 1.0
    assert limiter.retry_after(1, is_group=False) == 0


def test_twenty_messages_a_minute_per_group() -> None:
    clock = FakeClock()
    limiter = RateLimiter(LimitSettings(per_chat_per_s=1000, per_chat_burst=1000), clock)
    assert all(limiter.retry_after(-100, is_group=True) == 0 for _ in range(20))
    assert limiter.retry_after(-100, is_group=True) == 3  # one slot refills every 60/20 s
    clock.now = 3.0
    assert limiter.retry_after(-100, is_group=True) == 0


def test_thirty_messages_a_second_overall() -> None:
    clock = FakeClock()
    limiter = RateLimiter(LimitSettings(), clock)
    assert all(limiter.retry_after(chat, is_group=False) == 0 for chat in range(30))
    assert limiter.retry_after(31, is_group=False) == 1
    limiter.configure(LimitSettings(enabled=False))
    assert all(limiter.retry_after(7, is_group=False) == 0 for _ in range(100))


async def test_a_burst_to_one_chat_gets_429_and_honouring_retry_after_succeeds(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    await sandbox.set_limits(per_chat_per_s=4, per_chat_burst=2)
    await bot.send_message(ani["id"], "1")
    await bot.send_message(ani["id"], "2")
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(ani["id"], "3")
    status, answer = await sandbox.request(
        "POST", f"/bot{BOT_TOKEN}/sendMessage", {"chat_id": ani["id"], "text": "raw"}
    )
    assert status == 429 and answer == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert "Retry in 1 seconds" in flood.value.message  # PTB read parameters.retry_after
    await asyncio.sleep(1)  # retry_after is whole seconds, as on Telegram
    assert (await bot.send_message(ani["id"], "3")).text == "3"


async def test_the_twenty_first_message_to_a_group_within_a_minute_gets_429(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    await sandbox.set_limits(per_chat_per_s=100, per_chat_burst=100, global_per_s=100)
    group = await sandbox.add_group("Agents", [ani["id"]])
    for n in range(20):
        await bot.send_message(group["id"], f"card {n}")
    with pytest.raises(RetryAfter):
        await bot.send_message(group["id"], "card 20")
    assert (await bot.send_message(ani["id"], "private chats are not held back")).text


async def test_limits_can_be_read_and_bad_values_are_refused(sandbox: SandboxClient) -> None:
    settings = await sandbox.set_limits(enabled=False)
    assert settings["enabled"] is False and settings["per_group_per_min"] == 20
    status, answer = await sandbox.request("PUT", "/sandbox/limits", {"global_per_s": -1})
    assert status == 400 and answer["ok"] is False
    status, _ = await sandbox.request("PUT", "/sandbox/limits", {"per_hour": 5})
    assert status == 400
    assert (await sandbox.request("GET", "/sandbox/limits"))[1]["enabled"] is False


@pytest.mark.parametrize(
    "raw",
    [b'{"global_per_s": NaN}', b'{"per_chat_per_s": Infinity}', b'{"per_group_per_min": -Infinity}',
     b'{"global_per_s": 1e999}'],
    ids=["nan", "infinity", "minus-infinity", "overflows-to-infinity"],
)  # fmt: skip
async def test_limits_that_are_not_finite_numbers_are_refused(
    sandbox: SandboxClient, raw: bytes
) -> None:
    before = (await sandbox.request("GET", "/sandbox/limits"))[1]
    status, answer = await sandbox.request("PUT", "/sandbox/limits", raw=raw)
    assert status == 400 and answer["ok"] is False
    assert (
        "not a JSON number" in answer["description"] or "positive number" in answer["description"]
    )
    assert (await sandbox.request("GET", "/sandbox/limits"))[1] == before
