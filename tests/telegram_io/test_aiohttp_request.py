"""AiohttpRequest end to end: a real python-telegram-bot `Bot` over it, against the sandbox.

Where the sandbox cannot misbehave as needed (a slow answer, an upload never read, a server that
is gone, connections to watch), a few lines of asyncio or aiohttp stand in for the Bot API.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from telegram_io.aiohttp_request import AiohttpRequest, client_timeout, make_request
from tests.sandbox.test_files import png
from tests.sandbox_support import BOT_TOKEN, SandboxClient, serving

pytestmark = pytest.mark.filterwarnings("error::telegram.warnings.PTBUserWarning")


def bot_on(url: str, **options: Any) -> Bot:
    """A PTB `Bot` speaking to the Bot API at `url` through AiohttpRequest, polling included."""
    return Bot(
        BOT_TOKEN,
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
        request=AiohttpRequest(**options),
        get_updates_request=AiohttpRequest(**options),
    )


@pytest.fixture
async def bot(sandbox_server: str) -> AsyncIterator[Bot]:
    """The bot, initialized (its getMe answered) and shut down after the test."""
    async with bot_on(sandbox_server) as telegram_bot:
        yield telegram_bot


@pytest.fixture
async def ani(sandbox: SandboxClient) -> dict[str, Any]:
    """A customer who has started the bot, so it may write to her."""
    user = await sandbox.add_user("Ani", language_code="id")
    await sandbox.send(user["id"], "/start")
    return user


@contextlib.asynccontextmanager
async def fake_bot_api(delay: float = 0.0) -> AsyncIterator[tuple[str, list[int]]]:
    """A stand-in Bot API: getMe at once, anything else `true` after `delay` seconds.

    Yields its base URL and the client port of every call, oldest first, so a test can see which
    calls shared a keep-alive connection.
    """
    ports: list[int] = []
    me = {"id": 123456789, "is_bot": True, "first_name": "Fake", "username": "fake_bot"}

    async def answer(request: web.Request) -> web.Response:
        ports.append(request.transport.get_extra_info("peername")[1])
        if request.match_info["method"] == "getMe":
            return web.json_response({"ok": True, "result": me})
        await asyncio.sleep(delay)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)
    async with serving(app) as url:
        yield url, ports


def free_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- calls that succeed ---------------------------------------------------------------------


async def test_get_me_names_the_bot_of_the_token(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot) == (123456789, True)


async def test_a_message_to_a_customer_who_started_the_bot_shows_in_her_chat(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    sent = await bot.send_message(ani["id"], "Halo Ani, ada yang bisa kami bantu? 🙂")
    shown = await sandbox.messages(ani["id"])
    assert shown[-1]["message_id"] == sent.message_id
    assert shown[-1]["text"] == "Halo Ani, ada yang bisa kami bantu? 🙂"


async def test_an_uploaded_photo_downloads_byte_identical(bot: Bot, ani: dict[str, Any]) -> None:
    picture = png(5, 3)
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton("Sudah bayar", callback_data="paid")]])
    sent = await bot.send_photo(ani["id"], picture, caption="struk", reply_markup=buttons)
    assert (sent.photo[-1].width, sent.photo[-1].height, sent.caption) == (5, 3, "struk")
    assert sent.reply_markup == buttons  # a JSON-encoded form field beside the file
    file = await bot.get_file(sent.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == picture


async def test_an_uploaded_document_keeps_its_non_ascii_file_name(
    bot: Bot, ani: dict[str, Any]
) -> None:
    sent = await bot.send_document(ani["id"], b"%PDF-1.4 tagihan", filename="tagihan-Mei-é.pdf")
    assert sent.document.file_name == "tagihan-Mei-é.pdf"


async def test_two_hundred_messages_at_once_all_arrive(
    sandbox: SandboxClient, sandbox_server: str, ani: dict[str, Any]
) -> None:
    await sandbox.set_limits(enabled=False)
    texts = [f"pesan {n}" for n in range(200)]
    async with bot_on(sandbox_server, connection_pool_size=20) as telegram_bot:
        await asyncio.gather(*(telegram_bot.send_message(ani["id"], text) for text in texts))
    shown = await sandbox.messages(ani["id"])
    assert sorted(m["text"] for m in shown if m["from"]["is_bot"]) == sorted(texts)


# --- Telegram's refusals, as PTB's exceptions -------------------------------------------------


async def test_a_refusal_is_a_bad_request_in_telegrams_words(bot: Bot) -> None:
    with pytest.raises(BadRequest) as refused:
        await bot.send_message(424242, "anyone?")
    assert refused.value.message == "Chat not found"  # PTB drops "Bad Request: " and capitalises


async def test_a_customer_who_blocked_the_bot_is_forbidden(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    await sandbox.block(ani["id"])
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ani["id"], "still there?")


async def test_flood_control_is_retry_after_with_the_servers_wait(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # retry_after as a timedelta, PTB 23's way
    await sandbox.fault("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(ani["id"], "promo")
    assert refused.value.retry_after == dtm.timedelta(seconds=7)


async def test_a_server_error_is_a_network_error_to_retry(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    await sandbox.fault("sendMessage", 500, "Internal Server Error")
    with pytest.raises(NetworkError) as failed:
        await bot.send_message(ani["id"], "halo")
    assert type(failed.value) is NetworkError
    assert "Internal Server Error" in failed.value.message
    assert (await bot.send_message(ani["id"], "halo lagi")).text == "halo lagi"


# --- long polling and timeouts ---------------------------------------------------------------


async def test_a_long_poll_waits_past_the_read_timeout_until_an_update_comes(
    sandbox_server: str, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    async with bot_on(sandbox_server, read_timeout=0.2) as telegram_bot:
        offset = (await telegram_bot.get_updates())[-1].update_id + 1  # confirm the /start
        poll = asyncio.create_task(telegram_bot.get_updates(offset=offset, timeout=2))
        await asyncio.sleep(0.5)  # well past the 0.2 s read timeout: PTB added the 2 s poll
        assert not poll.done()
        await sandbox.send(ani["id"], "masih ada orang?")
        updates = await poll
    assert [update.message.text for update in updates] == ["masih ada orang?"]


async def test_an_answer_slower_than_the_read_timeout_is_timed_out() -> None:
    async with fake_bot_api(delay=0.3) as (url, _), bot_on(url, read_timeout=0.1) as slow:
        with pytest.raises(TimedOut):
            await slow.send_chat_action(1, "typing")
        assert await slow.send_chat_action(1, "typing", read_timeout=2)  # the call's own wins


async def test_an_upload_the_server_never_reads_is_timed_out() -> None:
    done = asyncio.Event()

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()
        writer.close()

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    options = {"read_timeout": 0.1, "connect_timeout": 0.1, "pool_timeout": 0.1}
    transport = AiohttpRequest(media_write_timeout=0.3, **options)
    stalled = Bot(BOT_TOKEN, base_url=f"{url}/bot", request=transport)
    try:
        async with transport:
            with pytest.raises(TimedOut, match=r"no answer began within 0\.6 s"):
                await stalled.send_document(1, b"x" * 32_000_000, filename="besar.bin")
    finally:
        done.set()
        server.close()
        await server.wait_closed()


async def test_a_server_that_is_not_listening_is_a_network_error() -> None:
    with pytest.raises(NetworkError) as failed:
        async with bot_on(f"http://127.0.0.1:{free_port()}"):
            pass  # initialize's getMe finds nobody
    assert not isinstance(failed.value, TimedOut)
    assert "ClientConnectorError" in failed.value.message


def test_pool_and_connect_timeouts_share_aiohttps_connect_timeout() -> None:
    timeout, answer_within = client_timeout(read=5, write=20, connect=4, pool=1)
    assert (timeout.connect, timeout.sock_connect, timeout.sock_read) == (5, 4, 5)
    assert answer_within == 30
    unbounded, no_deadline = client_timeout(read=None, write=5, connect=4, pool=None)
    assert (unbounded.connect, unbounded.sock_read, no_deadline) == (None, None, None)


# --- the connection pool ---------------------------------------------------------------------


async def test_calls_share_a_keep_alive_connection_until_shutdown_closes_it() -> None:
    async with fake_bot_api() as (url, ports):
        fake = bot_on(url)
        async with fake:
            await fake.send_chat_action(1, "typing")
            await fake.send_chat_action(1, "typing")
        with pytest.raises(NetworkError, match="shut down"):  # PTB wraps our RuntimeError
            await fake.send_chat_action(1, "typing")
        async with fake:  # a new initialize opens a new pool
            await fake.send_chat_action(1, "typing")
    first_get_me, *calls, second_get_me, last = ports
    assert set(calls) == {first_get_me}  # initialize's getMe and both calls: one connection
    assert {second_get_me, last} == {second_get_me} != {first_get_me}  # that one was closed


def test_the_transport_can_be_built_before_any_event_loop_runs() -> None:
    transport = AiohttpRequest()  # as ApplicationBuilder builds it, before run_polling's loop

    async def ask_name() -> str:
        async with fake_bot_api() as (url, _):
            fake = Bot(BOT_TOKEN, base_url=f"{url}/bot", request=transport)
            async with fake:
                return (await fake.get_me()).username

    assert asyncio.run(ask_name()) == "fake_bot"


def test_make_request_picks_the_transport_by_name() -> None:
    assert isinstance(make_request(), AiohttpRequest)
    assert make_request("aiohttp", read_timeout=9).read_timeout == 9
    assert isinstance(make_request("httpx"), HTTPXRequest)
    with pytest.raises(ValueError, match="unknown transport 'requests'; choose one of aiohttp"):
        make_request("requests")
