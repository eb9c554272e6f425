"""ConfigWatcher: acts once per settled new content, never on a half-written or missing file."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from frontdoor.config_watch import ConfigWatcher
from handoff.config import Config
from handoff.config_loader import load_config
from handoff.reload import needs_restart
from tests.support.frontdoor import EXAMPLE


class Calls:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_save_is_seen_by_its_file_event_and_a_save_by_rename_too(tmp_path: Path) -> None:
    path = tmp_path / "frontdoor.yaml"
    path.write_text("a: 1\n")
    calls = Calls()
    watcher = ConfigWatcher(path, calls, settle=0.02)
    running = asyncio.create_task(watcher.run())
    try:
        await asyncio.sleep(0.2)  # the watch is set up
        (tmp_path / "other.txt").write_text("not the config")
        path.write_text("a: 2\n")
        await until(lambda: calls.count == 1)
        written = tmp_path / ".frontdoor.yaml.swp"  # as vim and many editors save
        written.write_text("a: 3\n")
        os.replace(written, path)
        await until(lambda: calls.count == 2)
        await asyncio.sleep(0.2)
        assert calls.count == 2  # each save once; another file's change is nobody's business
    finally:
        running.cancel()


async def test_a_change_is_acted_on_once_after_it_settles(tmp_path: Path) -> None:
    path = tmp_path / "frontdoor.yaml"
    path.write_text("a: 1\n")
    calls = Calls()
    watcher = ConfigWatcher(path, calls, settle=0.01)

    assert not await watcher.check()  # unchanged
    path.write_text("a: 2\n")
    assert not await watcher.check()  # new, but not yet seen twice: a save may be under way
    assert await watcher.check()
    assert not await watcher.check()  # acted on already
    assert calls.count == 1


async def test_a_missing_file_is_waited_out_and_a_revert_is_acted_on(tmp_path: Path) -> None:
    path = tmp_path / "frontdoor.yaml"
    path.write_text("a: 1\n")
    calls = Calls()
    watcher = ConfigWatcher(path, calls, settle=0.01)

    path.unlink()  # an editor that saves by rename
    assert not await watcher.check()
    assert not await watcher.check()
    path.write_text("a: broken\n")
    assert not await watcher.check()
    assert await watcher.check()
    path.write_text("a: 1\n")  # back to what the bot started with: still a change to act on
    await watcher.check()
    assert await watcher.check()
    assert calls.count == 2


async def test_a_reload_by_command_is_not_repeated_by_the_watcher(tmp_path: Path) -> None:
    path = tmp_path / "frontdoor.yaml"
    path.write_text("a: 1\n")
    calls = Calls()
    watcher = ConfigWatcher(path, calls, settle=0.01)

    path.write_text("a: 2\n")
    watcher.mark_current()  # `/reload` read the new file
    assert not await watcher.check()
    assert not await watcher.check()
    assert calls.count == 0


async def test_a_failed_reload_is_tried_again_at_the_next_look(tmp_path: Path) -> None:
    path = tmp_path / "frontdoor.yaml"
    path.write_text("a: 1\n")
    attempts: list[int] = []

    async def reload() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("database is down")

    watcher = ConfigWatcher(path, reload, settle=0.01)
    path.write_text("a: 2\n")
    await watcher.check()
    with pytest.raises(ConnectionError):
        await watcher.check()
    assert await watcher.check()  # the same content, this time through
    assert not await watcher.check()
    assert len(attempts) == 2


def test_settings_read_at_start_are_named_for_the_next_restart() -> None:
    running = load_config(EXAMPLE)
    data = running.model_dump()
    data["web"]["port"] = 9000
    data["bot"]["pacing"]["per_chat_per_s"] = 0.5
    data["teams"]["billing"]["name"] = "Tagihan"  # taken at once: not named

    assert needs_restart(running, Config.model_validate(data)) == ["web", "bot.pacing"]
    assert needs_restart(running, running) == []
