"""Writes that an inbound update makes, made idempotent (SPEC §8).

After a crash, updates stored but not marked done are processed again. Each write such an update
makes (a call put in the outbox, a line of the transcript) carries a key made of the update's
identity and the write's content, so the replay's writes find theirs already stored and add
nothing. The identity is the `update_id` and a digest of the update itself: Telegram may hand an
old `update_id` out again (after a week without updates), and that new update is not the old one.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from handoff.unit_of_work import current_task


def update_identity(update: Mapping[str, Any]) -> str:
    """`u<update_id>.<digest of the update>`: the same for a redelivery, new for a reused id."""
    content = json.dumps(update, sort_keys=True, ensure_ascii=False).encode()
    return f"u{update['update_id']}.{hashlib.blake2b(content, digest_size=6).hexdigest()}"


class UpdateKeys:
    """Keys for the writes one update makes: the same write gets the same key on a replay,
    whatever else the replay does differently (a customer greeted the first time is not again)."""

    def __init__(self, identity: str) -> None:
        self.identity = identity
        self.seen: Counter[str] = Counter()
        # Timers armed while the update is handled inherit this context: their writes are not
        # the update's, so only the task that handles it uses these keys.
        self.task = current_task()

    def key(self, content: str) -> str:
        digest = hashlib.blake2b(content.encode(), digest_size=12).hexdigest()
        self.seen[digest] += 1
        return f"{self.identity}:{digest}:{self.seen[digest]}"


_current: contextvars.ContextVar[UpdateKeys | None] = contextvars.ContextVar(
    "update_keys", default=None
)


@contextlib.contextmanager
def writes_of_update(update: Mapping[str, Any]) -> Iterator[None]:
    """Writes made inside this block by the task that runs it are keyed to `update`."""
    token = _current.set(UpdateKeys(update_identity(update)))
    try:
        yield
    finally:
        _current.reset(token)


def write_key(content: str) -> str | None:
    """The key of a write with this content, if this task is processing an update; else None."""
    keys = _current.get()
    if keys is None or keys.task is not current_task():
        return None
    return keys.key(content)
