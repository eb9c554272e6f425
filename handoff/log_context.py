"""The ids a log line carries while they hold (the update being handled, its chat, the
conversation it is about), for any layer to set and the log formatter to write."""

from __future__ import annotations

import logging
from contextvars import ContextVar

IDS = ("update_id", "chat_id", "conversation_id")
_current: dict[str, ContextVar[int | None]] = {
    name: ContextVar(f"log_{name}", default=None) for name in IDS
}


def bind(**ids: int | None) -> None:
    """Set ids for what the current task logs from now on (`None` clears one)."""
    for name, value in ids.items():
        _current[name].set(value)


def current() -> dict[str, int]:
    """The ids set now, those with a value."""
    return {name: value for name, var in _current.items() if (value := var.get()) is not None}


class WithIds(logging.Filter):
    """Puts the ids on each record (`record.update_id` …, None when not set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _current.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True
