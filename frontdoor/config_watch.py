"""Reload the config when its file changes (SPEC §6): a manager saves, the next decision uses it.

The platform's file events (`watchfiles`: inotify on Linux, FSEvents, ReadDirectoryChangesW) say
when the file's folder changed; the file is then read until its content, new, stays the same for
two reads `settle` seconds apart, so an editor's half-written save is not mistaken for a broken
config. The folder is watched, not the file: editors that save by writing a new file and renaming
it replace the file watched. Where events do not arrive (some network or container mounts),
`WATCHFILES_FORCE_POLLING=1` makes watchfiles poll.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchfiles import Change, awatch

log = logging.getLogger(__name__)
SETTLE_READS = 5  # reads after an event before waiting for the next one (a save that stalls)


def _digest(path: Path) -> bytes | None:
    """The content's hash, or None while the file is missing or unreadable (mid-save)."""
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None


class ConfigWatcher:
    def __init__(
        self, path: Path, on_change: Callable[[], Awaitable[object]], settle: float
    ) -> None:
        self.path = path.resolve()
        self.on_change = on_change
        self.settle = settle
        self._acted_on = self._seen = _digest(path)  # the running config came from this

    def mark_current(self) -> None:
        """The file as it is now has been acted on (a `/reload` read it)."""
        self._acted_on = self._seen = _digest(self.path)

    def _is_the_file(self, change: Change, path: str) -> bool:
        return Path(path) == self.path

    async def run(self) -> None:
        """Wait for the file's events; after each, read it until it settles (and reload)."""
        async for _ in awatch(self.path.parent, watch_filter=self._is_the_file, recursive=False):
            await self.settled()

    async def settled(self) -> None:
        """Read the file every `settle` seconds until its new content was acted on, or stayed
        what was acted on, or `SETTLE_READS` went by (the next event starts again)."""
        for _ in range(SETTLE_READS):
            try:
                if await self.check() or self._seen == self._acted_on:
                    return
            except Exception:  # the database was down, say: the next read tries again
                log.exception("reloading %s failed; trying again", self.path)
            await asyncio.sleep(self.settle)

    async def check(self) -> bool:
        """Call `on_change` if the file settled on a content not acted on yet; True if so.
        If `on_change` fails, the same content is acted on again at the next check."""
        digest = _digest(self.path)
        settled, self._seen = digest == self._seen, digest
        if digest is None or not settled or digest == self._acted_on:
            return False
        before, self._acted_on = self._acted_on, digest
        try:
            await self.on_change()
        except Exception:
            self._acted_on = before
            raise
        return True
