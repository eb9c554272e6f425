"""ConfigWatcher: acts once per settled new content, never on a half-written or missing file."""

from __future__ import annotations

from pathlib import Path

from bot.config_watch import ConfigWatcher


class Calls:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


async def test_a_change_is_acted_on_once_after_it_settles(tmp_path: Path) -> None:
    path = tmp_path / "frontdoor.yaml"
    path.write_text("a: 1\n")
    calls = Calls()
    watcher = ConfigWatcher(path, calls, every=0.01)

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
    watcher = ConfigWatcher(path, calls, every=0.01)

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
    watcher = ConfigWatcher(path, calls, every=0.01)

    path.write_text("a: 2\n")
    watcher.mark_current()  # `/reload` read the new file
    assert not await watcher.check()
    assert not await watcher.check()
    assert calls.count == 0
