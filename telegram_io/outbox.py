"""The stored outbox (SPEC §8): every Bot API call is written down before it is made.

`put` stores calls; `run` sends them under Telegram's flood limits (`bot.pacing`), customer-facing
ones first, one at a time per chat so a chat sees its messages in order. A 429 pauses that chat
for `retry_after`; 5xx answers and timeouts are retried with backoff; 403 marks the chat
unreachable through `on_forbidden`. A restart resumes whatever is still pending. A call can reach
Telegram twice only if the process dies between sending it and recording it (Telegram has no
idempotency key), so at most the calls in flight at the crash.

Calls made while an inbound update is processed carry a dedup key derived from the update
(`handoff.replay`), so processing the same update again after a crash stores nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import RequestData

from handoff import log_context, unit_of_work
from handoff.config import Pacing
from handoff.db import insert_ignoring_duplicates
from handoff.group_commit import GroupCommit
from handoff.replay import write_key
from handoff.tables import OutboxMessage, UploadedFile
from handoff.workers import wake_leader
from telegram_io.calls import UPLOAD, Call
from telegram_io.pacing import TICK, Pacer
from telegram_io.retry import backoff, retry_after_seconds, until_database_answers

log = logging.getLogger(__name__)

outbox = OutboxMessage.__table__
uploaded_files = UploadedFile.__table__
# What the in-memory index keeps of a stored call, in `_Pending`'s field order.
_INDEXED = (
    outbox.c.id,
    outbox.c.chat_id,
    outbox.c.method,
    outbox.c.payload,
    outbox.c.priority,
    outbox.c.coalesce_key,
)
POLL_SECONDS = 1.0
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = (0.5, 1, 2, 5, 10, 30, 60)
NOT_MODIFIED = "message is not modified"
# Built once: SQLAlchemy spends longer building and compiling these than SQLite running them.
_PENDING = (
    select(*_INDEXED, outbox.c.attempts, outbox.c.not_before)
    .where(outbox.c.state == "pending")
    .order_by(outbox.c.id)
)
_SUPERSEDE = (
    update(outbox)
    .where(outbox.c.coalesce_key == bindparam("key"), outbox.c.state == "pending")
    .values(state="superseded")
)


def sent_message_id(conn: Connection, coalesce_key: str) -> int | None:
    """Telegram's message id of the last message sent under `coalesce_key` (to edit it later),
    None if none was sent (yet)."""
    return (
        conn.execute(
            select(outbox.c.message_id)
            .where(
                outbox.c.coalesce_key == coalesce_key,
                outbox.c.state == "sent",
                outbox.c.message_id.is_not(None),
            )
            .order_by(outbox.c.id.desc())
            .limit(1)
        )
    ).scalar()


class _StoredCall(RequestData):
    """A stored call's parameters, sent as the JSON they were stored as.

    `Bot.do_api_request` would parse them into PTB's parameter objects and encode them again,
    CPU spent on every message for nothing (the calls carry no files, and no PTB defaults
    apply).
    The bot's request object still makes the call, with PTB's handling of Telegram's answers
    (RetryAfter, Forbidden, BadRequest…)."""

    def __init__(self, payload: str) -> None:
        super().__init__()  # no parameters: `contains_files` is False
        self._payload = payload.encode()

    @property
    def json_payload(self) -> bytes:  # what our aiohttp transport sends
        return self._payload

    @property
    def json_parameters(self) -> dict[str, str]:  # what PTB's httpx transport sends, as a form
        return _form_fields(json.loads(self._payload))


def _form_fields(params: dict[str, Any]) -> dict[str, str]:
    """Parameters as form fields: strings as they are, anything else as JSON; None left out."""
    return {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in params.items()
        if value is not None
    }


@dataclass
class _StoredUpload(RequestData):
    """A stored call with a file to upload (`{UPLOAD: path}` in its parameters), sent as a
    multipart form: the file as a part, the other parameters as fields."""

    def __init__(self, params: dict[str, Any], name: str, path: str, content: bytes) -> None:
        super().__init__()
        self.contains_files = True
        self._fields = _form_fields({n: v for n, v in params.items() if n != name})
        mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
        self._file = {name: (os.path.basename(path), content, mime)}

    @property
    def json_parameters(self) -> dict[str, str]:
        return self._fields

    @property
    def multipart_data(self) -> dict[str, Any]:  # type: ignore[override]
        return self._file


def upload_key(path: str) -> str:
    """A file as it is now (a changed file is uploaded again): path, size, modification time."""
    try:
        found = os.stat(path)
    except OSError:
        return path
    return f"{path}|{found.st_size}|{found.st_mtime_ns}"


def uploaded_file_id(answer: object, name: str) -> str | None:
    """The file_id Telegram gave the file a sendPhoto/sendDocument uploaded (its largest size)."""
    sent = answer.get(name) if isinstance(answer, dict) else None
    if isinstance(sent, list) and sent:
        sent = sent[-1]
    return sent.get("file_id") if isinstance(sent, dict) else None


class OutboxStats:
    sent: int = 0
    retried: int = 0
    too_many_requests: int = 0
    failed: int = 0


@dataclass
class _Pending:
    """A stored call not yet sent: the outbox's in-memory index of the `outbox` table."""

    id: int
    chat_id: int
    method: str
    payload: str
    priority: int
    coalesce_key: str | None = None
    attempts: int = 0
    not_before: datetime | None = None


@dataclass
class _Result:
    call: _Pending
    values: dict[str, Any]

    @property
    def done(self) -> bool:
        return self.values.get("state") in ("sent", "failed")


@dataclass
class Outbox:
    engine: AsyncEngine
    bot: Bot
    on_forbidden: Callable[[int], Awaitable[None]] | None = None
    limits: Pacing = field(default_factory=Pacing)
    monotonic: Callable[[], float] = time.monotonic
    stats: OutboxStats = field(default_factory=OutboxStats)
    group: GroupCommit | None = None  # shared with other writers of the process, or its own
    shared: bool = False  # several workers stage calls; the leader alone sends (`run`)

    def __post_init__(self) -> None:
        if self.group is None:
            self.group = GroupCommit(self.engine)
        self.pacer = Pacer(self.limits)
        self._insert = insert_ignoring_duplicates(self.engine.dialect.name, outbox).returning(
            *_INDEXED
        )
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()
        self._results: list[_Result] = []
        self._tasks: set[asyncio.Task[None]] = set()
        # Pending calls by chat, oldest first; read from the table once (`load`), then kept up
        # to date by `put` and the sends, so choosing what to send next costs no query.
        self._queues: dict[int, deque[_Pending]] = {}
        self._known: set[int] = set()
        self._coalesced: dict[str, _Pending] = {}
        self._waiters: dict[int, asyncio.Future[tuple[str, int | None]]] = {}
        self._loaded = False
        self._file_ids: dict[str, str] = {}  # upload_key → file_id, read once (`load`)
        self._new_file_ids: dict[str, str] = {}  # uploaded since the last flush
        self.sending = False  # `run` is on: this worker sends (the only one, or the leader)
        self._nudged = False
        self._caught_up = 0.0  # monotonic time of the last look for calls other workers staged

    def file_source(self, path: str) -> str | dict[str, str]:
        """What a call's photo or document parameter holds for this file: its file_id once
        Telegram has it, else the file to upload."""
        return self._file_ids.get(upload_key(path)) or {UPLOAD: path}

    async def put(
        self, *calls: Call, along: Callable[[Connection], object] | None = None
    ) -> list[int]:
        """Store calls in one transaction (with `along`'s writes) and wake the sender; their row
        ids, in order. A replayed update stores nothing."""
        if not calls:
            return []
        rows = self._rows(calls)  # here: the dedup keys belong to this task's update

        def store(conn: Connection) -> list[Any]:
            if along is not None:
                along(conn)
            return self._store(conn, rows)

        stored = await self.group.write(store)
        self.staged(stored)
        return [found.id for found in stored]

    async def outcome(self, row_id: int) -> tuple[str, int | None]:
        """Wait until the call is sent or has failed for good: (state, Telegram's message_id)."""
        if row_id in self._known:
            waiter = self._waiters.setdefault(row_id, asyncio.get_running_loop().create_future())
            return await asyncio.shield(waiter)
        row = await unit_of_work.read(
            self.engine,
            lambda conn: conn.execute(
                select(outbox.c.state, outbox.c.message_id).where(outbox.c.id == row_id)
            ).first(),
        )
        if row is None:
            return "missing", None
        if row.state == "pending":  # stored by another worker: look again shortly
            await asyncio.sleep(POLL_SECONDS)
            return await self.outcome(row_id)
        return row.state, row.message_id

    def stage(self, conn: Connection, calls: Sequence[Call]) -> list[Any]:
        """Store calls within the caller's transaction; once it commits, pass the result to
        `staged` (so a routing change and the messages it causes commit together)."""
        return self._store(conn, self._rows(calls)) if calls else []

    def _rows(self, calls: Sequence[Call]) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        rows = []
        for call in calls:
            row = {
                "chat_id": call.chat_id,
                "method": call.method,
                "payload": json.dumps(call.params, ensure_ascii=False),
                "priority": int(call.priority),
                "coalesce_key": call.coalesce_key,
                "conversation_id": call.conversation_id,
                "created_at": now,
            }
            row["dedup_key"] = write_key(f"{row['chat_id']}\n{row['method']}\n{row['payload']}")
            rows.append(row)
        return rows

    def tell_leader(self, conn: Connection) -> None:
        """Within a transaction that staged work for the leader: wake it when it commits, if it
        is another worker (this one, sending, needs no telling)."""
        if self.shared and not self.sending:
            wake_leader(conn)

    def _store(self, conn: Connection, rows: list[dict[str, Any]]) -> list[Any]:
        self.tell_leader(conn)
        for row in rows:
            if row["coalesce_key"] is not None:
                conn.execute(_SUPERSEDE, {"key": row["coalesce_key"]})
        # A call whose dedup key exists was stored before a crash, by the same update.
        stored = conn.execute(self._insert, rows)
        return sorted(stored.all(), key=lambda found: found.id)

    def staged(self, stored: Sequence[Any]) -> None:
        """Calls of a committed `stage`: index them and wake the sender (when it is here)."""
        if self.shared and not self.sending:  # the leader hears of them (`nudge`) or finds them
            return
        for found in stored:
            self._index(_Pending(*found))
        if stored:
            self._wake.set()

    def _index(self, call: _Pending) -> None:
        if call.id in self._known:
            return
        self._known.add(call.id)
        if call.coalesce_key is not None:
            older = self._coalesced.pop(call.coalesce_key, None)
            queue = self._queues.get(older.chat_id) if older is not None else None
            # Superseded in the table already; drop it here unless it is being sent right now.
            if (
                older is not None
                and queue
                and (queue[0] is not older or older.chat_id not in self._in_flight)
            ):
                queue.remove(older)
                self._known.discard(older.id)
                waiter = self._waiters.pop(older.id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(("superseded", None))
            self._coalesced[call.coalesce_key] = call
        queue = self._queues.setdefault(call.chat_id, deque())
        # Ids follow the order of the commits: a call another worker staged first, found after
        # this worker's own, still goes first (unless the one before it is on its way already).
        at = len(queue)
        first = 1 if call.chat_id in self._in_flight else 0
        while at > first and queue[at - 1].id > call.id:
            at -= 1
        queue.insert(at, call)

    def nudge(self) -> None:
        """Another worker staged calls: look for them now."""
        self._nudged = True
        self._wake.set()

    async def _catch_up(self) -> None:
        """Index the pending calls other workers staged (the leader, with several workers)."""
        self._nudged = False
        self._caught_up = self.monotonic()
        known = self._known

        def read(conn: Connection) -> list[Any]:
            ids = conn.scalars(select(outbox.c.id).where(outbox.c.state == "pending")).all()
            new = [found for found in ids if found not in known]
            return conn.execute(_PENDING.where(outbox.c.id.in_(new))).all() if new else []

        for row in await unit_of_work.read(self.engine, read):
            self._index(_Pending(*row))

    async def load(self) -> None:
        """Index what the table holds as pending (after a restart: what is left to send).

        Called before anything else puts calls, so a chat's leftovers go before its new ones."""

        def read(conn: Connection) -> tuple[list[Any], list[Any]]:
            pending = conn.execute(_PENDING).all()
            files = conn.execute(select(uploaded_files.c.key, uploaded_files.c.file_id)).all()
            return pending, files

        pending, files = await unit_of_work.read(self.engine, read)
        for row in pending:
            self._index(_Pending(*row))
        self._file_ids.update({row.key: row.file_id for row in files})
        self._loaded = True

    def ready_in(self, chat_id: int) -> float:
        """Seconds until the limits let one more message go to this chat (0: now), counting
        what already waits for it; so a caller can decide what to send at the last moment."""
        queued = len(self._queues.get(chat_id, ()))
        lane = self.pacer.wait(chat_id, self.monotonic())
        if not queued:
            return lane
        return lane + queued * self.pacer.interval(chat_id)

    async def pending(self) -> int:
        """How many calls wait to be sent (for /metrics and tests)."""
        count = await unit_of_work.read(
            self.engine,
            lambda conn: conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.state == "pending")
            ),
        )
        return int(count or 0)

    async def run(self) -> None:
        """Send due calls until cancelled; a database that fails is retried, never fatal.

        With several workers only the leader runs this; what the others stage it hears of
        (`nudge`) or finds every `POLL_SECONDS`. Its index is rebuilt when it leads again."""

        async def attempt() -> float:
            self._wake.clear()
            if not self._loaded:
                await self.load()
            elif self.shared and (
                self._nudged or self.monotonic() - self._caught_up >= POLL_SECONDS
            ):
                await self._catch_up()
            return await self._start_due_sends()

        if self.shared:
            self._forget()  # what another leader sent meanwhile is read afresh
            # What the last leader sent in its final seconds is not known here: wait until
            # Telegram's allowances (a chat's burst, the overall second) are whole again.
            limits = self.limits
            await asyncio.sleep(max(limits.per_chat_burst / limits.per_chat_per_s, 1.0))
        self.sending = True
        try:
            while True:
                pause = await until_database_answers(
                    attempt, steps=BACKOFF_SECONDS, log=log, what="outbox", pause=self._idle
                )
                await self._idle(pause)
        finally:
            self.sending = False

    def _forget(self) -> None:
        """Drop the index (several workers: another one may lead and send next)."""
        self._queues.clear()
        self._known.clear()
        self._coalesced.clear()
        self._loaded = False

    async def _idle(self, seconds: float) -> None:
        """Wait `seconds`, or less if calls are staged or a send finishes."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
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
        now = self.monotonic()
        if (overall := self.pacer.overall_wait(now)) > 0:  # no chat may send yet: no need to look
            return max(overall, TICK)
        pause = POLL_SECONDS
        # A chat's turn comes by its most urgent call: order within a chat is kept, so an urgent
        # call (an offer's notice) lifts those before it rather than waiting behind them.
        waiting = [q for chat, q in self._queues.items() if q and chat not in self._in_flight]
        waiting.sort(key=_turn)
        heads = [queue[0] for queue in waiting]
        for call in heads:
            # The clock read afresh for each: the overall limit spaces messages evenly, and at
            # a high limit the next one is due a few microseconds on, not at the next turn.
            now = self.monotonic()
            if (overall := self.pacer.overall_wait(now)) > 0:  # the rest wait for the next turn
                return max(min(pause, overall), TICK)
            chat = call.chat_id
            if call.not_before is not None and call.not_before > wall:
                pause = min(pause, (call.not_before - wall).total_seconds())
                continue
            wait = self.pacer.wait(chat, now)
            if wait > 0:
                pause = min(pause, wait)
                continue
            self.pacer.take(chat, now)
            self._in_flight.add(chat)
            task = asyncio.create_task(self._send(call))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return max(pause, TICK)

    async def _send(self, row: _Pending) -> None:
        log_context.bind(chat_id=row.chat_id)
        values: dict[str, Any]
        upload = None
        try:
            if UPLOAD in row.payload and (upload := await self._upload(row)) is not None:
                request_data: RequestData = upload[2]
            else:
                request_data = _StoredCall(row.payload)
            answer = await self.bot.request.post(
                f"{self.bot.base_url}/{row.method}", request_data=request_data
            )
        except OSError as error:  # the file to upload is gone or unreadable
            log.warning(
                "outbox: %s to chat %s: cannot read the file: %s", row.method, row.chat_id, error
            )
            self.stats.failed += 1
            values = {"state": "failed", "error": f"cannot read the file: {error}"[:500]}
        except RetryAfter as error:
            seconds = retry_after_seconds(error)
            self.stats.too_many_requests += 1
            log.warning("outbox: 429 for chat %s, retrying after %ss", row.chat_id, seconds)
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
        except (NetworkError, TelegramError) as error:
            # 5xx, timeouts and connection trouble pass: retry for as long as they last (an outage
            # must not drop messages). Other refusals get MAX_ATTEMPTS tries.
            attempts = row.attempts + 1
            transient = type(error) in (NetworkError, TimedOut)
            if attempts >= MAX_ATTEMPTS and not transient:
                log.error("outbox: giving up on %s to chat %s: %s", row.method, row.chat_id, error)
                self.stats.failed += 1
                values = {"state": "failed", "attempts": attempts, "error": str(error)[:500]}
            else:
                self.stats.retried += 1
                pause = backoff(attempts - 1, BACKOFF_SECONDS)
                values = {
                    "attempts": attempts,
                    "not_before": datetime.now(UTC) + timedelta(seconds=pause),
                }
        else:
            self.stats.sent += 1
            message_id = answer.get("message_id") if isinstance(answer, dict) else None
            values = {"state": "sent", "sent_at": datetime.now(UTC), "message_id": message_id}
            if upload is not None and (file_id := uploaded_file_id(answer, upload[0])):
                self._file_ids[upload[1]] = self._new_file_ids[upload[1]] = file_id
        self._results.append(_Result(row, values))
        self._wake.set()

    async def _upload(self, row: _Pending) -> tuple[str, str, RequestData] | None:
        """(parameter, upload_key, request) of a call with a file to upload; None when it has
        none after all. A file Telegram has by now (uploaded by an earlier call) goes by its
        file_id. OSError when the file cannot be read."""
        params = json.loads(row.payload)
        for name, value in params.items():
            if isinstance(value, dict) and UPLOAD in value:
                path = str(value[UPLOAD])
                key = upload_key(path)
                if (known := self._file_ids.get(key)) is not None:
                    payload = json.dumps({**params, name: known}, ensure_ascii=False)
                    return name, key, _StoredCall(payload)
                content = await asyncio.to_thread(_read, path)
                return name, key, _StoredUpload(params, name, path, content)
        return None

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
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for result in results:
            shapes.setdefault(tuple(sorted(result.values)), []).append(
                {"row_id": result.call.id, **result.values}
            )
        files, self._new_file_ids = self._new_file_ids, {}
        dialect = self.engine.dialect.name

        def record(conn: Connection) -> None:
            if files:
                now = datetime.now(UTC)
                conn.execute(
                    insert_ignoring_duplicates(dialect, uploaded_files),
                    [{"key": k, "file_id": f, "uploaded_at": now} for k, f in files.items()],
                )
            for columns, params in shapes.items():
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == bindparam("row_id"))
                    .values({column: bindparam(column) for column in columns}),
                    params,
                )

        try:
            await unit_of_work.write(self.engine, record)
        except BaseException:
            # Not recorded (shutdown cancels `run` mid-write, or the database failed): keep them for
            # the next flush, `stop()`'s included, or a restart sends those calls again.
            self._results[:0] = results
            self._new_file_ids = files | self._new_file_ids
            raise
        for result in results:
            call = result.call
            if result.done:
                waiter = self._waiters.pop(call.id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result((result.values["state"], result.values.get("message_id")))
                queue = self._queues.get(call.chat_id)
                if queue and queue[0] is call:
                    queue.popleft()
                elif queue and call in queue:  # indexed afresh meanwhile (`_forget`)
                    queue.remove(call)
                if queue is not None and not queue:
                    del self._queues[call.chat_id]
                self._known.discard(call.id)
                if call.coalesce_key is not None and self._coalesced.get(call.coalesce_key) is call:
                    del self._coalesced[call.coalesce_key]
            else:
                call.attempts = result.values.get("attempts", call.attempts)
                call.not_before = result.values.get("not_before", call.not_before)
            self._in_flight.discard(call.chat_id)


def _turn(queue: deque[_Pending]) -> tuple[int, int]:
    """Where a chat's queue comes in a sending turn: by its most urgent call, then its oldest."""
    return min(call.priority for call in queue), queue[0].id


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()
