"""Reload the config when its file changes (SPEC §6): a manager saves, the next decision uses it.

The file is read every few seconds and acted on once its content is new and has stayed the same
for two reads in a row, so an editor's half-written save is not mistaken for a broken config.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

log = logging.getLogger(__name__)


def _digest(path: Path) -> bytes | None:
    """The content's hash, or None while the file is missing or unreadable (mid-save)."""
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None


class ConfigWatcher:
    def __init__(
        self, path: Path, on_change: Callable[[], Awaitable[object]], every: float
    ) -> None:
        self.path = path
        self.on_change = on_change
        self.every = every
        self._acted_on = self._seen = _digest(path)  # the running config came from this

    def mark_current(self) -> None:
        """The file as it is now has been acted on (a `/reload` read it)."""
        self._acted_on = self._seen = _digest(self.path)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.check()
            except Exception:  # the database was down, say: the next look tries again
                log.exception("reloading %s failed; trying again", self.path)

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
