"""Inline mode: a user's `@bot words` query, the bot's answer, and the result the user picks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InlineQueryResultsButton,
    InputTextMessageContent,
)

from sandbox.inline import ANSWER_TIMEOUT_S
from tests.sandbox_support import BOT_TOKEN, SandboxClient, SandboxError, running_sandbox

# PTB warns (PTBUserWarning / PTBDeprecationWarning) on responses it cannot map; any warning fails.
pytestmark = pytest.mark.filterwarnings("error")
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
HOURS = InlineQueryResultArticle("hours", "Jam buka", InputTextMessageContent("08-17"))
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03"


def article(result_id: str = "hours", text: str = "Kami buka 08-17", **extra: Any) -> dict:
    """An InlineQueryResultArticle as JSON."""
    return {
        "type": "article",
        "id": result_id,
        "title": result_id.title(),
        "input_message_content": {"message_text": text},
        **extra,
    }


async def answer(sandbox: SandboxClient, query_id: str, results: Any, **extra: Any) -> tuple:
    """answerInlineQuery as raw JSON: (status, Telegram's answer)."""
    body = {"inline_query_id": query_id, "results": results, **extra}
    return await sandbox.request("POST", f"/bot{BOT_TOKEN}/answerInlineQuery", body)


async def answered(sandbox: SandboxClient, query_id: str) -> dict[str, Any]:
    return (await sandbox.request("GET", f"/sandbox/inline/{query_id}"))[1]


class FakeClock:
    """The sandbox's wall clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_get_me_says_the_bot_supports_inline_queries(bot: Bot) -> None:
    assert (await bot.get_me()).supports_inline_queries is True


async def test_an_inline_query_reaches_the_bot_with_the_chat_it_was_typed_in(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    sari = await sandbox.add_user("Sari")
    group = await sandbox.add_group("Agents", [ani["id"], sari["id"]])
    await bot.get_updates(offset=-1)  # past the /start
    status, asked = await sandbox.request(
        "POST", f"/sandbox/users/{ani['id']}/inline", {"query": "jam buka"}
    )
    assert status == 200 and asked["inline_query"] == {
        "id": asked["inline_query_id"],
        "from": ani,
        "query": "jam buka",
        "offset": "",
        "chat_type": "sender",
    }
    in_group = await sandbox.inline_query(ani["id"], "refund", chat_id=group["id"], offset="10")
    with_sari = await sandbox.inline_query(ani["id"], "", chat_id=sari["id"])

    updates = (await bot.get_updates())[1:]
    queries = [update.inline_query for update in updates]
    assert [(q.id, q.query, q.offset, q.chat_type) for q in queries] == [
        (asked["inline_query_id"], "jam buka", "", "sender"),
        (in_group, "refund", "10", "supergroup"),
        (with_sari, "", "", "private"),
    ]
    assert len({q.id for q in queries}) == 3 and queries[0].from_user.id == ani["id"]


async def test_the_control_api_refuses_a_query_that_could_not_be_typed(
    sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    outsider = await sandbox.add_user("Citra")
    group = await sandbox.add_group("Agents", [ani["id"]])
    refusals = [
        (ani["id"], {"query": "x" * 257}, 400, "query is longer than 256 characters"),
        (ani["id"], {}, 400, "field 'query' is required"),
        (ani["id"], {"query": "a", "offset": "o" * 65}, 400, "offset is longer than 64 bytes"),
        (ani["id"], {"query": "a", "chat_id": -100999}, 404, "chat -100999 not found"),
        (outsider["id"], {"query": "a", "chat_id": group["id"]}, 403, "not a member"),
        (424242, {"query": "a"}, 404, "user 424242 not found"),
    ]
    for user_id, body, status, words in refusals:
        got, refused = await sandbox.request("POST", f"/sandbox/users/{user_id}/inline", body)
        assert (got, refused["ok"]) == (status, False) and words in refused["description"]
    assert (await sandbox.inline_query(ani["id"], "x" * 256)) == "1"  # nothing was asked before


async def test_the_answer_is_readable_through_the_control_api(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    query_id = await sandbox.inline_query(ani["id"], "jam")
    assert await answered(sandbox, query_id) == {"answered": False, "answer": None}
    status, unknown = await sandbox.request("GET", "/sandbox/inline/999")
    assert (status, unknown["description"]) == (404, "inline query 999 not found")

    result = InlineQueryResultArticle("hours", "Jam buka", InputTextMessageContent("08-17"))
    button = InlineQueryResultsButton("Tanya agen", start_parameter="agent")
    assert await bot.answer_inline_query(
        query_id, [result], cache_time=5, is_personal=True, next_offset="20", button=button
    )

    assert await sandbox.inline_answer(query_id) == {
        "results": [
            {
                "type": "article",
                "id": "hours",
                "title": "Jam buka",
                "input_message_content": {"message_text": "08-17"},
            }
        ],
        "cache_time": 5,
        "is_personal": True,
        "next_offset": "20",
        "button": {"text": "Tanya agen", "start_parameter": "agent"},
    }
    bare = await sandbox.inline_query(ani["id"], "kosong")
    assert await bot.answer_inline_query(bare, [])
    assert await sandbox.inline_answer(bare) == {
        "results": [],
        "cache_time": 300,
        "is_personal": False,
        "next_offset": "",
    }


async def test_a_query_is_answered_once_and_only_if_the_sandbox_sent_it(
    sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    query_id = await sandbox.inline_query(ani["id"], "jam")
    assert await answer(sandbox, "999", [article()]) == (
        400,
        {"ok": False, "error_code": 400, "description": QUERY_INVALID},
    )
    assert await answer(sandbox, query_id, [article()]) == (200, {"ok": True, "result": True})
    status, again = await answer(sandbox, query_id, [article("other")])
    assert (status, again["description"]) == (400, QUERY_INVALID)
    assert (await sandbox.inline_answer(query_id))["results"] == [article()]


@pytest.fixture
async def clocked() -> AsyncIterator[tuple[SandboxClient, FakeClock]]:
    """A sandbox whose clock the test moves, and its control client."""
    clock = FakeClock()
    async with running_sandbox(clock=clock) as (url, _app), aiohttp.ClientSession() as session:
        yield SandboxClient(url, session), clock


async def test_an_answer_after_telegrams_time_limit_is_refused(
    clocked: tuple[SandboxClient, FakeClock],
) -> None:
    sandbox, clock = clocked
    ani = await sandbox.add_user("Ani")
    late, in_time = [await sandbox.inline_query(ani["id"], words) for words in ("a", "b")]
    clock.now += ANSWER_TIMEOUT_S
    assert (await answer(sandbox, in_time, [article()]))[0] == 200
    clock.now += 0.5
    status, refused = await answer(sandbox, late, [article()])
    assert (status, refused["description"]) == (400, QUERY_INVALID)
    assert (await answered(sandbox, late))["answered"] is False


PARSE = "can't parse inline query result: "
REFUSED_ANSWERS = [
    pytest.param(
        [article(str(n)) for n in range(51)], {}, "too many inline query results specified",
        id="51 results",
    ),
    pytest.param([article("a"), article("a")], {}, "RESULT_ID_DUPLICATE", id="duplicate ids"),
    pytest.param([article("x" * 65)], {}, "RESULT_ID_INVALID", id="65-byte id"),
    pytest.param([article("a", text="   ")], {}, "MESSAGE_EMPTY", id="blank message_text"),
    pytest.param([article("a", text="x" * 4097)], {}, "MESSAGE_TOO_LONG", id="4097 characters"),
    pytest.param(
        [article("a", text="")], {}, PARSE + "Input message content is not specified",
        id="empty message_text",
    ),
    pytest.param(
        [{**article("a"), "type": "poll"}], {},
        PARSE + 'type "poll" is unsupported for the inline query result', id="unknown type",
    ),
    pytest.param(
        [{"type": "article", "id": "a", "input_message_content": {"message_text": "x"}}], {},
        PARSE + 'Can\'t find field "title"', id="article without title",
    ),
    pytest.param(
        [{"type": "article", "id": "a", "title": "A"}], {},
        PARSE + 'Can\'t find field "message_text"', id="article without content",
    ),
    pytest.param(
        [{"type": "photo", "id": "p", "photo_file_id": "AgACnothing"}], {},
        "wrong file identifier/HTTP URL specified", id="unknown photo",
    ),
    pytest.param(
        [article("a", reply_markup={"inline_keyboard": [[{"text": "Go"}]]})], {},
        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        id="keyboard button without action",
    ),
    pytest.param([article()], {"next_offset": "o" * 65}, "NEXT_OFFSET_INVALID", id="long offset"),
    pytest.param(
        [article()], {"button": {"text": "Go", "start_parameter": "a b"}}, "START_PARAM_INVALID",
        id="bad start_parameter",
    ),
    pytest.param(
        [article()], {"button": {"text": "Go"}},
        "can't parse inline query results button: "
        "InlineQueryResultsButton must have exactly one optional field",
        id="results button without action",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("results", "extra", "description"), REFUSED_ANSWERS)
async def test_answers_telegram_refuses_are_refused_and_leave_the_query_open(
    sandbox: SandboxClient,
    ani: dict[str, Any],
    results: list[dict[str, Any]],
    extra: dict[str, Any],
    description: str,
) -> None:
    query_id = await sandbox.inline_query(ani["id"], "jam")
    status, refused = await answer(sandbox, query_id, results, **extra)
    assert (status, refused["description"]) == (400, f"Bad Request: {description}")
    assert await answered(sandbox, query_id) == {"answered": False, "answer": None}
    assert (await answer(sandbox, query_id, [article()]))[0] == 200


async def test_a_cached_result_must_name_a_file_of_its_type(
    sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    sent = await sandbox.send(ani["id"], document=b"%PDF-1.4", filename="menu.pdf")
    document_id = sent["message"]["document"]["file_id"]
    query_id = await sandbox.inline_query(ani["id"], "menu")
    as_photo = {"type": "photo", "id": "p", "photo_file_id": document_id}
    status, refused = await answer(sandbox, query_id, [as_photo])
    assert (status, refused["description"]) == (400, "Bad Request: RESULT_TYPE_INVALID")
    by_url = {"type": "document", "id": "d", "title": "Menu", "document_url": "https://x.test/m"}
    status, refused = await answer(sandbox, query_id, [by_url])
    assert (status, refused["description"]) == (400, "Bad Request: failed to get HTTP URL content")


async def test_choosing_a_result_posts_it_from_the_user_via_the_bot(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    await bot.get_updates(offset=-1)  # past the /start
    query_id = await sandbox.inline_query(ani["id"], "jam")
    await bot.get_updates(offset=-1)  # past the inline query
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Agen", callback_data="agent")]])
    hours = InlineQueryResultArticle(
        "hours",
        "Jam buka",
        InputTextMessageContent("Buka <b>08-17</b>", parse_mode="HTML"),
        reply_markup=keyboard,
    )
    other = InlineQueryResultArticle("other", "Lain", InputTextMessageContent("Lain"))
    assert await bot.answer_inline_query(query_id, [hours, other])

    chosen = await sandbox.choose_inline(ani["id"], query_id, "hours")

    message = chosen["message"]
    me = await bot.get_me()
    assert message["from"] == ani and message["via_bot"] == {
        "id": me.id,
        "is_bot": True,
        "first_name": me.first_name,
        "username": me.username,
    }
    assert (message["text"], message["entities"]) == (
        "Buka 08-17",
        [{"type": "bold", "offset": 5, "length": 5}],
    )
    assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "agent"
    assert (await sandbox.messages(ani["id"]))[-1] == message
    assert chosen["chosen_inline_result"] == {
        "result_id": "hours",
        "from": ani,
        "query": "jam",
        "inline_message_id": chosen["chosen_inline_result"]["inline_message_id"],
    }
    posted, picked = (await bot.get_updates())[1:]
    assert (
        posted.update_id == chosen["update_id"] and picked.update_id == chosen["chosen_update_id"]
    )
    assert posted.message.via_bot.id == bot.id and posted.message.from_user.id == ani["id"]
    assert picked.chosen_inline_result.result_id == "hours"
    assert picked.chosen_inline_result.inline_message_id

    # Its buttons answer by inline_message_id, as Telegram's do for a message sent inline.
    pressed = await sandbox.press(ani["id"], ani["id"], message["message_id"], "agent")
    query = pressed["callback_query"]
    assert "message" not in query
    assert query["inline_message_id"] == chosen["chosen_inline_result"]["inline_message_id"]


async def test_a_cached_photo_chosen_in_a_group_reaches_the_bot_there(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    sari = await sandbox.add_user("Sari")
    group = await sandbox.add_group("Agents", [ani["id"], sari["id"]])
    photo = (await sandbox.send(ani["id"], photo=PNG))["message"]["photo"][0]
    query_id = await sandbox.inline_query(sari["id"], "denah", chat_id=group["id"])
    result = InlineQueryResultCachedPhoto("map", photo["file_id"], caption="Denah kantor")
    assert await bot.answer_inline_query(query_id, [result])
    await bot.get_updates(offset=-1)

    chosen = await sandbox.choose_inline(sari["id"], query_id, "map")

    message = chosen["message"]
    assert message["chat"]["id"] == group["id"] and message["from"] == sari
    assert (message["photo"][0]["file_id"], message["caption"]) == (
        photo["file_id"],
        "Denah kantor",
    )
    assert message["via_bot"]["id"] == bot.id
    assert "inline_message_id" not in chosen["chosen_inline_result"]  # no keyboard, no id
    posted, picked = (await bot.get_updates())[1:]
    assert posted.message.chat.id == group["id"] and posted.message.caption == "Denah kantor"
    assert picked.chosen_inline_result.query == "denah"


async def test_a_result_chosen_in_a_group_the_bot_left_reaches_it_only_as_the_choice(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    group = await sandbox.add_group("Pelanggan", [ani["id"]])
    assert await bot.leave_chat(group["id"])
    query_id = await sandbox.inline_query(ani["id"], "jam", chat_id=group["id"])
    assert await bot.answer_inline_query(query_id, [HOURS])
    await bot.get_updates(offset=-1)

    chosen = await sandbox.choose_inline(ani["id"], query_id, "hours")

    assert chosen["message"]["chat"]["id"] == group["id"] and chosen["update_id"] is None
    assert [m["text"] for m in await sandbox.messages(group["id"])] == ["08-17"]
    updates = (await bot.get_updates())[1:]
    assert [u.chosen_inline_result.result_id for u in updates] == ["hours"]


async def test_a_result_chosen_in_a_chat_with_another_user_reaches_the_bot_only_as_the_choice(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    sari = await sandbox.add_user("Sari")
    query_id = await sandbox.inline_query(ani["id"], "jam", chat_id=sari["id"])
    assert await bot.answer_inline_query(query_id, [HOURS])
    await bot.get_updates(offset=-1)

    chosen = await sandbox.choose_inline(ani["id"], query_id, "hours")

    assert chosen["message"] is None and chosen["update_id"] is None
    updates = (await bot.get_updates())[1:]
    assert [u.chosen_inline_result.result_id for u in updates] == ["hours"]
    assert await sandbox.messages(sari["id"]) == []


async def test_a_choice_the_user_could_not_make_is_refused_and_posts_nothing(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    budi = await sandbox.add_user("Budi")
    unanswered = await sandbox.inline_query(ani["id"], "belum")
    query_id = await sandbox.inline_query(ani["id"], "jam")
    assert await bot.answer_inline_query(query_id, [HOURS])
    await bot.get_updates(offset=-1)
    before = await sandbox.messages(ani["id"])
    refusals = [
        (budi["id"], query_id, "hours", 403, f"inline query {query_id} was sent by another user"),
        (ani["id"], query_id, "nope", 400, f"inline query {query_id} has no result with id 'nope'"),
        (ani["id"], unanswered, "hours", 400, f"inline query {unanswered} is not answered yet"),
        (ani["id"], "999", "hours", 404, "inline query 999 not found"),
    ]
    for user_id, inline_query_id, result_id, status, description in refusals:
        with pytest.raises(SandboxError) as refused:
            await sandbox.choose_inline(user_id, inline_query_id, result_id)
        assert (refused.value.status, refused.value.description) == (status, description)
    assert await sandbox.messages(ani["id"]) == before
    assert await sandbox.messages(budi["id"]) == []
    assert len(await bot.get_updates()) == 1  # only the update confirmed above


async def test_the_event_stream_shows_the_query_the_answer_and_the_choice(
    sandbox: SandboxClient, bot: Bot, ani: dict[str, Any]
) -> None:
    async with sandbox.events() as events:
        query_id = await sandbox.inline_query(ani["id"], "jam")
        await answer(sandbox, query_id, [article()])
        await sandbox.choose_inline(ani["id"], query_id, "hours")
        seen = [await events.next() for _ in range(4)]
    assert [event["type"] for event in seen] == [
        "inline_query",
        "inline_answered",
        "message",
        "inline_chosen",
    ]
    assert seen[0]["inline_query"]["query"] == "jam" and seen[0]["chat_id"] == ani["id"]
    assert seen[1]["inline_query_id"] == query_id and seen[1]["results"] == [article()]
    assert seen[2]["message"]["via_bot"]["id"] == bot.id
    assert seen[3]["chosen_inline_result"]["result_id"] == "hours"


async def test_a_result_the_sandbox_cannot_post_is_accepted_but_not_chosen(
    sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    query_id = await sandbox.inline_query(ani["id"], "lucu")
    gif = {"type": "gif", "id": "g", "gif_url": "https://x.test/a.gif", "thumbnail_url": "t"}
    assert (await answer(sandbox, query_id, [gif]))[0] == 200
    with pytest.raises(SandboxError) as refused:
        await sandbox.choose_inline(ani["id"], query_id, "g")
    assert refused.value.status == 400 and "cannot post this gif result" in str(refused.value)
