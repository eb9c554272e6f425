"""A pytest plugin that watches every SQL statement the suite sends: a write of a conversation's or
an offer's state, or of an agent's status, must come from `handoff.transitions` (the one write
path, issue 13). Tests may set up a world by hand; product code may not write state elsewhere.

Each offending statement fails where it is sent, and the session fails at its end too, in case
the product swallowed the error.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import greenlet
import pytest
from sqlalchemy import Engine, event

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
WRITE_PATH = "handoff.transitions"
STATE_WRITES = re.compile(
    r"^\s*(UPDATE\s+(conversation|offer)\s+SET\s+.*\bstate\s*="
    r"|UPDATE\s+agent\s+SET\s+.*\bstatus\s*="
    r"|INSERT\s+INTO\s+(conversation|offer)\b)",
    re.IGNORECASE | re.DOTALL,
)
# What a statement passes through on its way from the code that decided it: the engine, the unit
# of work, and the store's SQL helpers.
PLUMBING = {
    ROOT / "handoff" / name for name in ("db.py", "unit_of_work.py", "store.py", "prepared.py")
}

violations: list[str] = []


def _frames() -> Iterator[FrameType]:
    """This thread's stack, then (inside SQLAlchemy's async adaption) the awaiting coroutines'."""
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        yield frame
        frame = frame.f_back
    parent = greenlet.getcurrent().parent
    while parent is not None:
        frame = parent.gr_frame
        while frame is not None:
            yield frame
            frame = frame.f_back
        parent = parent.parent


def writer_of(statement: str) -> str | None:
    """Where a state-writing statement comes from, if not from the write path or a test."""
    if not STATE_WRITES.match(statement):
        return None
    frames = list(_frames())
    if any(frame.f_globals.get("__name__") == WRITE_PATH for frame in frames):
        return None
    for frame in frames:
        path = Path(frame.f_code.co_filename)
        if path == Path(__file__) or path in PLUMBING or ROOT not in path.parents:
            continue
        if TESTS in path.parents:
            return None  # a test setting up its world
        return f"{path.relative_to(ROOT)}:{frame.f_lineno} ({frame.f_code.co_name})"
    return None


@event.listens_for(Engine, "before_cursor_execute")
def _watch(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    found = writer_of(statement)
    if found is not None:
        message = f"state written outside {WRITE_PATH}: {found}: {' '.join(statement.split())}"
        violations.append(message)
        raise AssertionError(message)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if violations:
        print("\n".join(["", "State written outside the one write path:", *violations]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
