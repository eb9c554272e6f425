"""python-telegram-bot's transport over aiohttp: one shared keep-alive pool, PTB's timeouts.

Why it exists: PTB's stock transport (`HTTPXRequest`) spends more time in the client than the Bot
API server spends answering. Against the same local aiohttp server, aiohttp's client made 1,430
sendMessage calls/s one at a time where httpx made 614, and 4,300/s against 207/s with 32 calls in
flight (the issue that asked for this module). Frontdoor's outbox sends many small messages at once
(SPEC §8), so the transport sits on its hot path. `make_request("httpx")` keeps PTB's own transport
one setting away.

`AiohttpRequest` only moves bytes: PTB builds the `RequestData`, parses the answer and turns error
statuses into its exceptions (`BaseRequest.post`). The aiohttp session is opened inside the
running loop (`initialize()` or the first call), never in `__init__`: PTB may build the request
object before any event loop runs, and an aiohttp connector belongs to the loop it was made in.

PTB's four timeouts, on aiohttp (which has no write timeout of its own):
- pool and connect: `ClientTimeout.connect` is pool + connect, because aiohttp counts waiting for a
  pooled connection and opening a new one as one step; `sock_connect` is connect alone.
- read: `sock_read`, the longest wait for the next bytes of the answer, as httpx's read timeout.
  PTB adds getUpdates' long-poll `timeout` to it before calling (`Bot.get_updates`).
- write: the request must be sent and its answer begun within pool + connect + write + read
  together, so a stalled upload ends with `TimedOut`. Uploads use `media_write_timeout`, as PTB's.
"""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

DEFAULT_POOL_SIZE = 256  # PTB's HTTPXRequest default since 22.4
TRANSPORTS = ("aiohttp", "httpx")
Timeout = float | None
TimeoutArgument = Any  # a float, None, or BaseRequest.DEFAULT_NONE for "use the instance's"
_JSON_HEADERS = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """PTB's `BaseRequest` over one aiohttp session and its keep-alive connection pool.

    The options and their defaults are `HTTPXRequest`'s, so either transport takes the same
    settings (`make_request`); `keepalive_timeout` is how long an idle connection stays open.
    """

    __slots__ = (
        "_connect_timeout",
        "_keepalive_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_shut_down",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = DEFAULT_POOL_SIZE,
        read_timeout: Timeout = 5.0,
        write_timeout: Timeout = 5.0,
        connect_timeout: Timeout = 5.0,
        pool_timeout: Timeout = 1.0,
        media_write_timeout: Timeout = 20.0,
        keepalive_timeout: float = 15.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError(f"connection_pool_size must be at least 1, not {connection_pool_size}")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._keepalive_timeout = keepalive_timeout
        self._session: aiohttp.ClientSession | None = None
        self._shut_down = False

    @property
    def read_timeout(self) -> Timeout:
        """The read timeout of a call that names none; PTB adds getUpdates' long poll to it."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the connection pool in the running loop (again after `shutdown()`)."""
        self._shut_down = False
        self._open_session()

    async def shutdown(self) -> None:
        """Close the pool and its connections; `initialize()` opens a new one."""
        self._shut_down = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: TimeoutArgument = BaseRequest.DEFAULT_NONE,
        write_timeout: TimeoutArgument = BaseRequest.DEFAULT_NONE,
        connect_timeout: TimeoutArgument = BaseRequest.DEFAULT_NONE,
        pool_timeout: TimeoutArgument = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one call; (HTTP status, body). Timeouts left at DEFAULT_NONE take ours."""
        if self._shut_down:
            # As HTTPXRequest: a shut-down transport must not quietly open a pool nobody closes.
            raise RuntimeError("This AiohttpRequest is shut down; call initialize() first")
        session = self._open_session()
        uploads = request_data is not None and request_data.contains_files
        default_write = self._media_write_timeout if uploads else self._write_timeout
        timeout, answer_within = client_timeout(
            read=_chosen(read_timeout, self._read_timeout),
            write=_chosen(write_timeout, default_write),
            connect=_chosen(connect_timeout, self._connect_timeout),
            pool=_chosen(pool_timeout, self._pool_timeout),
        )
        body, headers = request_body(request_data)
        answer_deadline = asyncio.timeout(answer_within)
        try:
            async with answer_deadline:
                response = await session.request(
                    method, url, data=body, headers=headers, timeout=timeout
                )
            async with response:
                return response.status, await response.read()
        except TimeoutError as error:  # aiohttp's own timeouts are TimeoutErrors too
            if answer_deadline.expired():
                raise TimedOut(
                    f"Timed out: no answer began within {answer_within:g} s "
                    "(the pool, connect, write and read timeouts together)"
                ) from error
            raise TimedOut(f"Timed out: {_described(error)}") from error
        except aiohttp.ClientError as error:
            raise NetworkError(_described(error)) from error

    def _open_session(self) -> aiohttp.ClientSession:
        """The shared session, opened on first use in the running loop."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size, keepalive_timeout=self._keepalive_timeout
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets no cookies
            )
        return self._session


def client_timeout(
    *, read: Timeout, write: Timeout, connect: Timeout, pool: Timeout
) -> tuple[aiohttp.ClientTimeout, Timeout]:
    """aiohttp's timeouts for PTB's four, and the deadline for the answer to begin (None: none)."""
    phases = (read, write, connect, pool)
    answer_within = None if None in phases else sum(phases)  # type: ignore[arg-type]
    timeout = aiohttp.ClientTimeout(
        total=None,
        connect=None if pool is None or connect is None else pool + connect,
        sock_connect=connect,
        sock_read=read,
    )
    return timeout, answer_within


def request_body(request_data: RequestData | None) -> tuple[Any, dict[str, str]]:
    """The body and its headers: multipart when files go up, else the parameters as JSON.

    The multipart form matches what PTB's HTTPXRequest sends: every parameter as a field holding
    its JSON-encoded value (`json_parameters`), then the files. The JSON body holds the same
    strings; the Bot API takes either ("Making requests": all four encodings are accepted).
    """
    if request_data is None:
        return None, {}
    if not request_data.contains_files:
        return request_data.json_payload, _JSON_HEADERS
    # quote_fields=False keeps non-ASCII file names as UTF-8, as httpx sends them, instead of
    # percent-encoding them into the name Telegram shows.
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        if isinstance(content, bytes):
            # aiohttp writes a BytesIO in chunks, letting the loop run between them; raw bytes
            # go in one write (and over 1 MB it warns that this may block the loop).
            content = io.BytesIO(content)
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form, {}


def make_request(kind: str = "aiohttp", **options: Any) -> BaseRequest:
    """The Bot API transport named `kind` ("aiohttp" or "httpx"), both with a 256-connection pool.

    `options` are the transport's constructor arguments (`read_timeout=…` and so on).
    """
    if kind == "aiohttp":
        return AiohttpRequest(**options)
    if kind == "httpx":
        options.setdefault("connection_pool_size", DEFAULT_POOL_SIZE)
        return HTTPXRequest(**options)
    raise ValueError(f"unknown transport {kind!r}; choose one of {', '.join(TRANSPORTS)}")


def _chosen(given: TimeoutArgument, default: Timeout) -> Timeout:
    """The caller's timeout, or the instance's when the caller left it at DEFAULT_NONE."""
    return default if given is BaseRequest.DEFAULT_NONE else given


# A request's URL holds the token (/bot<token>/method); an error that quotes it must not.
_TOKEN_IN_URL = re.compile(r"/bot[^/\s]+/")


def _described(error: BaseException) -> str:
    """The error as `aiohttp.ClassName: message`, as PTB's httpx transport names its errors,
    with any token in a quoted URL hidden."""
    name = f"{type(error).__module__.split('.')[0]}.{type(error).__name__}"
    said = _TOKEN_IN_URL.sub("/bot<token>/", str(error))
    return f"{name}: {said}" if said else name
