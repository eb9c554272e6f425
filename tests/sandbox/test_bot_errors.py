"""Telegram's refusals, with its status codes and wording, as python-telegram-bot sees them."""

from __future__ import annotations

import time
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut

from tests.sandbox_support import SandboxClient

pytestmark = pytest.mark.filterwarnings("error::telegram.warnings.PTBUserWarning")


async def test_writing_to_a_user_who_never_started_the_bot_is_forbidden(
    bot: Bot, sandbox: SandboxClient
) -> None:
    stranger = await sandbox.add_user("Stranger")
    with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation with a user"):
        await bot.send_message(stranger["id"], "hello?")


async def test_blocked_user_is_forbidden_and_the_bot_hears_of_it(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    blocked = await sandbox.block(ani["id"])
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(ani["id"], "still there?")
    unblocked = await sandbox.unblock(ani["id"])
    updates = await bot.get_updates()
    members = {u.update_id: u.my_chat_member for u in updates if u.my_chat_member}
    assert members[blocked["update_id"]].new_chat_member.status == "kicked"
    assert members[unblocked["update_id"]].new_chat_member.status == "member"
    assert (await bot.send_message(ani["id"], "welcome back")).text == "welcome back"


@pytest.mark.parametrize(
    ("call", "wording"),
    [
        ({"chat_id": 424242, "text": "x"}, "Bad Request: chat not found"),
        ({"chat_id": "@nobody", "text": "x"}, "Bad Request: chat not found"),
        ({"text": "x"}, "Bad Request: chat_id is empty"),
        ({"chat_id": "ANI", "text": ""}, "Bad Request: message text is empty"),
        ({"chat_id": "ANI", "text": "x" * 4097}, "Bad Request: message is too long"),
        ({"chat_id": "ANI", "text": "x", "reply_markup": "{not json"},
         "Bad Request: can't parse reply keyboard markup JSON object"),
        ({"chat_id": "ANI", "text": "x", "disable_notification": "maybe"},
         "Bad Request: invalid disable_notification specified"),
        ({"chat_id": "ANI", "text": "x", "message_thread_id": "seven"},
         "Bad Request: invalid message_thread_id specified"),
    ],
)  # fmt: skip
async def test_send_message_refusals(
    sandbox: SandboxClient, ani: dict[str, Any], call: dict, wording: str
) -> None:
    body = {k: ani["id"] if v == "ANI" else v for k, v in call.items()}
    status, answer = await sandbox.request("POST", "/bot1:t/sendMessage", body)
    assert (status, answer) == (400, {"ok": False, "error_code": 400, "description": wording})


async def test_text_of_exactly_4096_characters_is_fine(bot: Bot, ani: dict[str, Any]) -> None:
    assert len((await bot.send_message(ani["id"], "é" * 4096)).text) == 4096


async def test_callback_data_over_64_bytes_is_refused(bot: Bot, ani: dict[str, Any]) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Claim", callback_data="c" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(ani["id"], "card", reply_markup=markup)


async def test_an_edit_that_changes_nothing_is_not_modified(bot: Bot, ani: dict[str, Any]) -> None:
    sent = await bot.send_message(ani["id"], "same")
    with pytest.raises(BadRequest) as refused:
        await bot.edit_message_text("same", ani["id"], sent.message_id)
    assert refused.value.message == (
        "Message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )  # PTB capitalises the part after "Bad Request: "


async def test_editing_or_deleting_what_is_not_there(bot: Bot, ani: dict[str, Any]) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", ani["id"], 999)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(ani["id"], 999)
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("x", ani["id"], 1)  # Ani's own /start


async def test_answering_an_unknown_callback_query(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await bot.answer_callback_query("nope")


async def test_unknown_file_id(bot: Bot, ani: dict[str, Any]) -> None:
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(ani["id"], "AgACnotafile")
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("AgACnotafile")


async def test_injected_faults_fail_the_next_calls_then_stop(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    await sandbox.fault("sendMessage", 502, "Bad Gateway", count=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
            await bot.send_message(ani["id"], "try")
    assert (await bot.send_message(ani["id"], "try")).text == "try"


async def test_a_delayed_call_waits_then_goes_through(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    await sandbox.fault("sendMessage", count=1, delay=[0.3, 0.4])
    started = time.monotonic()
    assert (await bot.send_message(ani["id"], "slow")).text == "slow"
    assert 0.3 <= time.monotonic() - started < 2
    started = time.monotonic()
    await bot.send_message(ani["id"], "quick again")
    assert time.monotonic() - started < 0.3


async def test_a_hung_call_times_out_for_the_client_and_still_takes_effect_later(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    await sandbox.fault("sendMessage", count=1, delay=1.0)
    with pytest.raises(TimedOut):
        await bot.send_message(ani["id"], "in flight", read_timeout=0.2)
    assert "in flight" not in [m.get("text") for m in await sandbox.messages(ani["id"])]
    await sandbox.wait_for(ani["id"], lambda m: m.get("text") == "in flight", timeout=3)


@pytest.mark.parametrize(
    "body",
    [
        {"method": "sendMessage"},
        {"method": "sendMessage", "delay": -1},
        {"method": "sendMessage", "delay": [2, 1]},
        {"method": "sendMessage", "delay": [0, 1e9]},
        {"method": "sendMessage", "delay": "soon"},
        {"method": "sendMessage", "delay": [1]},
        {"method": "sendMessage", "error_code": 302, "description": "Found"},
        {"method": "sendMessage", "delay": 1, "count": 0},
    ],
)
async def test_a_fault_that_makes_no_sense_is_refused(
    sandbox: SandboxClient, ani: dict[str, Any], body: dict[str, Any]
) -> None:
    status, answer = await sandbox.request("POST", "/sandbox/faults", body)
    assert status == 400 and answer["ok"] is False
    status, _ = await sandbox.request(
        "POST", "/bot1:t/sendMessage", {"chat_id": ani["id"], "text": "unharmed"}
    )
    assert status == 200


async def test_json_form_and_query_parameters_are_all_accepted(
    sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    form = await sandbox.session.post(
        f"{sandbox.base_url}/bot1:t/sendMessage",
        data={"chat_id": str(ani["id"]), "text": "form", "disable_notification": "true"},
    )
    query = await sandbox.session.get(
        f"{sandbox.base_url}/bot1:t/sendMessage", params={"chat_id": ani["id"], "text": "query"}
    )
    assert (await form.json())["result"]["text"] == "form"
    assert (await query.json())["result"]["text"] == "query"


async def test_a_second_bot_token_gets_a_world_of_its_own(sandbox: SandboxClient) -> None:
    status, first = await sandbox.request("GET", "/bot1:t/getMe")
    status2, second = await sandbox.request("GET", "/bot777:other/getMe")
    assert (status, status2) == (200, 200)
    assert (first["result"]["id"], second["result"]["id"]) == (1, 777)
