"""The stored outbox (SPEC §8): every Bot API call is written down before it is made.

`put` stores calls; `run` sends them under Telegram's flood limits (`bot.pacing`), customer-facing
ones first, one at a time per chat so a chat sees its messages in order. A 429 pauses that chat
for `retry_after`; 5xx answers and timeouts are retried with backoff; 403 marks the chat
unreachable through `on_forbidden`. A restart resumes whatever is still pending. A call can reach
Telegram twice only if the process dies between sending it and recording it (Telegram has no
idempotency key), so at most the calls in flight at the crash.

Calls made while an inbound update is processed carry a dedup key derived from its `update_id`,
so processing the same update again after a crash stores nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import logging
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.pacing import Pacer
from handoff.config import Pacing
from handoff.db import insert_ignoring_duplicates
from handoff.tables import OutboxMessage

log = logging.getLogger(__name__)
# The outbox makes every call through Bot.do_api_request on purpose (its calls are stored as JSON);
# PTB's hint to use the named method instead does not apply.
warnings.filterwarnings("ignore", message="Please use 'Bot.", category=PTBUserWarning)

outbox = OutboxMessage.__table__
POLL_SECONDS = 1.0
BATCH = 500
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = (0.5, 1, 2, 5, 10, 30, 60)
NOT_MODIFIED = "message is not modified"


class _UpdateKeys:
    """Dedup keys for the calls one update causes: the same call gets the same key on a replay,
    whatever else the replay does differently (a customer greeted the first time is not again)."""

    def __init__(self, update_id: int) -> None:
        self.update_id = update_id
        self.seen: Counter[str] = Counter()

    def key(self, row: dict[str, Any]) -> str:
        content = f"{row['chat_id']}\n{row['method']}\n{row['payload']}".encode()
        digest = hashlib.blake2b(content, digest_size=12).hexdigest()
        self.seen[digest] += 1
        return f"u{self.update_id}:{digest}:{self.seen[digest]}"


_update_keys: contextvars.ContextVar[_UpdateKeys | None] = contextvars.ContextVar(
    "outbox_update_keys", default=None
)


class Priority(IntEnum):
    """Lower goes first when the limits force a choice (SPEC §8)."""

    CUSTOMER = 0
    AGENT = 1
    GROUP = 2
    CARD_EDIT = 3


@dataclass(frozen=True)
class Call:
    """One Bot API call to make: `method` with `params` (JSON-able), aimed at `chat_id`."""

    chat_id: int
    method: str
    params: dict[str, Any]
    priority: Priority = Priority.CUSTOMER
    coalesce_key: str | None = None  # a newer call with the same key replaces a pending one


Buttons = list[list[tuple[str, str]]]  # rows of (label, callback_data)


def send_text(
    chat_id: int,
    text: str,
    buttons: Buttons | None = None,
    *,
    priority: Priority = Priority.CUSTOMER,
) -> Call:
    """A sendMessage call, with inline buttons if given (text cut to Telegram's 4096)."""
    params: dict[str, Any] = {"chat_id": chat_id, "text": text[:4096]}
    if buttons:
        params["reply_markup"] = {
            "inline_keyboard": [
                [{"text": label, "callback_data": data} for label, data in row] for row in buttons
            ]
        }
    return Call(chat_id, "sendMessage", params, priority)


@contextlib.contextmanager
def calls_of_update(update_id: int) -> Iterator[None]:
    """Calls stored inside this block get dedup keys from the update and their content."""
    token = _update_keys.set(_UpdateKeys(update_id))
    try:
        yield
    finally:
        _update_keys.reset(token)


@dataclass
class OutboxStats:
    sent: int = 0
    retried: int = 0
    too_many_requests: int = 0
    failed: int = 0


@dataclass
class _Result:
    row_id: int
    chat_id: int
    values: dict[str, Any]


@dataclass
class Outbox:
    engine: AsyncEngine
    bot: Bot
    on_forbidden: Callable[[int], Awaitable[None]] | None = None
    limits: Pacing = field(default_factory=Pacing)
    monotonic: Callable[[], float] = time.monotonic
    stats: OutboxStats = field(default_factory=OutboxStats)

    def __post_init__(self) -> None:
        self.pacer = Pacer(self.limits)
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()
        self._results: list[_Result] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def put(self, *calls: Call) -> None:
        """Store calls in one transaction and wake the sender; a replayed update stores nothing."""
        if not calls:
            return
        keys = _update_keys.get()
        now = datetime.now(UTC)
        rows = []
        for call in calls:
            row = {
                "chat_id": call.chat_id,
                "method": call.method,
                "payload": json.dumps(call.params, ensure_ascii=False),
                "priority": int(call.priority),
                "coalesce_key": call.coalesce_key,
                "created_at": now,
            }
            row["dedup_key"] = keys.key(row) if keys is not None else None
            rows.append(row)
        async with self.engine.begin() as conn:
            for row in rows:
                if row["coalesce_key"] is not None:
                    await conn.execute(
                        update(outbox)
                        .where(
                            outbox.c.coalesce_key == row["coalesce_key"],
                            outbox.c.state == "pending",
                        )
                        .values(state="superseded")
                    )
            # A call whose dedup key exists was stored before a crash, by the same update.
            await conn.execute(insert_ignoring_duplicates(self.engine, outbox), rows)
        self._wake.set()

    async def pending(self) -> int:
        """How many calls wait to be sent (for /metrics and tests)."""
        async with self.engine.connect() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.state == "pending")
            )
        return int(count or 0)

    async def run(self) -> None:
        """Send due calls until cancelled."""
        while True:
            self._wake.clear()
            pause = await self._start_due_sends()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._wake.wait()

    async def stop(self) -> None:
        """Let the sends in flight finish and record them."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush()

    async def _start_due_sends(self) -> float:
        """Start one send for each chat that may have one now; seconds until the next is due."""
        await self._flush()
        wall = datetime.now(UTC)
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        outbox.c.id,
                        outbox.c.chat_id,
                        outbox.c.method,
                        outbox.c.payload,
                        outbox.c.attempts,
                        outbox.c.not_before,
                    )
                    .where(outbox.c.state == "pending")
                    .order_by(outbox.c.priority, outbox.c.id)
                    .limit(BATCH)
                )
            ).all()
        pause = POLL_SECONDS
        now = self.monotonic()
        considered: set[int] = set()
        for row in rows:
            chat = row.chat_id
            if chat in considered or chat in self._in_flight:
                continue
            considered.add(chat)
            if row.not_before is not None and row.not_before > wall:
                pause = min(pause, (row.not_before - wall).total_seconds())
                continue
            wait = self.pacer.wait(chat, now)
            if wait > 0:
                pause = min(pause, wait)
                continue
            self.pacer.take(chat, now)
            self._in_flight.add(chat)
            task = asyncio.create_task(self._send(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return max(pause, 0.001)

    async def _send(self, row: Any) -> None:
        values: dict[str, Any]
        try:
            answer = await self.bot.do_api_request(row.method, api_kwargs=json.loads(row.payload))
        except RetryAfter as error:
            seconds = error.retry_after
            seconds = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
            self.stats.too_many_requests += 1
            self.pacer.pause(row.chat_id, seconds, self.monotonic())
            values = {"not_before": datetime.now(UTC) + timedelta(seconds=seconds)}
        except Forbidden as error:
            self.stats.failed += 1
            values = {"state": "failed", "error": str(error)[:500]}
            if self.on_forbidden is not None:
                await self._forbidden(row.chat_id)
        except BadRequest as error:
            # An edit that changes nothing has done its job. PTB strips "Bad Request: " and
            # capitalizes the rest ("Message is not modified: …"), hence the lower().
            if NOT_MODIFIED in str(error).lower():
                values = {"state": "sent", "sent_at": datetime.now(UTC)}
            else:
                log.warning("outbox: %s to chat %s refused: %s", row.method, row.chat_id, error)
                self.stats.failed += 1
                values = {"state": "failed", "error": str(error)[:500]}
        except (NetworkError, TelegramError) as error:  # 5xx, timeouts, connection trouble
            attempts = row.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                log.error("outbox: giving up on %s to chat %s: %s", row.method, row.chat_id, error)
                self.stats.failed += 1
                values = {"state": "failed", "attempts": attempts, "error": str(error)[:500]}
            else:
                self.stats.retried += 1
                backoff = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1]
                values = {
                    "attempts": attempts,
                    "not_before": datetime.now(UTC) + timedelta(seconds=backoff),
                }
        else:
            self.stats.sent += 1
            message_id = answer.get("message_id") if isinstance(answer, dict) else None
            values = {"state": "sent", "sent_at": datetime.now(UTC), "message_id": message_id}
        self._results.append(_Result(row.id, row.chat_id, values))
        self._wake.set()

    async def _forbidden(self, chat_id: int) -> None:
        assert self.on_forbidden is not None
        try:
            await self.on_forbidden(chat_id)
        except Exception:  # the send's own outcome must still be recorded
            log.exception("outbox: on_forbidden failed for chat %s", chat_id)

    async def _flush(self) -> None:
        """Record finished sends in one transaction; only then may their chats send again."""
        if not self._results:
            return
        results, self._results = self._results, []
        async with self.engine.begin() as conn:
            for result in results:
                await conn.execute(
                    update(outbox).where(outbox.c.id == result.row_id).values(**result.values)
                )
        for result in results:
            self._in_flight.discard(result.chat_id)
