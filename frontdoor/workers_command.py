"""`frontdoor run --workers N`: N processes of `frontdoor run` on one PostgreSQL, in webhook mode,
worker i on `web.port + i` (a load balancer such as nginx spreads Telegram's deliveries over them;
config/nginx.conf). One that dies is started again; SIGTERM stops them all (issue 18).

A process manager of the system's (systemd, the container runtime) may run the workers just as
well: each is a plain `frontdoor run` with its own FRONTDOOR_WEB_PORT.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

RESTART_AFTER = 1.0  # seconds before a worker that died is started again
STARTED = b"frontdoor is running"
PR_SET_PDEATHSIG = 1  # prctl(2)


class WorkerStartError(Exception):
    """A worker could not start; what it said is the message."""


@dataclass
class Workers:
    """The worker processes: `start` them (each until it says it runs), `stop` them."""

    count: int
    base_port: int
    options: list[str]  # `frontdoor run`'s options, but --workers
    environment: dict[str, str]  # the database URL goes here, never on a command line
    _processes: dict[int, asyncio.subprocess.Process] = field(default_factory=dict)
    _watchers: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: bool = False

    async def start(self) -> None:
        try:
            for number in range(self.count):
                await self._start(number)
                self._watchers.append(asyncio.create_task(self._watch(number)))
        except BaseException:  # stopped while starting, or one could not start: none stays
            await self.stop()
            raise

    async def _start(self, number: int) -> None:
        port = self.base_port + number
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "frontdoor", "run", *self.options,
            env={**os.environ, **self.environment, "FRONTDOOR_WEB_PORT": str(port)},
            stdout=asyncio.subprocess.PIPE,
            preexec_fn=_stop_with_parent,
        )  # fmt: skip
        assert process.stdout is not None
        self._processes[number] = process  # stopped by `stop` even if it never starts
        while STARTED not in (line := await process.stdout.readline()):
            if not line:
                await process.wait()
                raise WorkerStartError(f"worker {number} (port {port}) did not start")
        print(f"worker {number} runs on port {port} (pid {process.pid})", flush=True)

    async def _watch(self, number: int) -> None:
        """Pass the worker's output on; start it again if it dies."""
        while not self._stopping:
            process = self._processes[number]
            assert process.stdout is not None
            while line := await process.stdout.readline():
                print(f"[worker {number}] {line.decode(errors='replace').rstrip()}", flush=True)
            code = await process.wait()
            if self._stopping:
                return
            log.error("worker %s exited (%s); starting it again", number, code)
            await asyncio.sleep(RESTART_AFTER)
            with contextlib.suppress(WorkerStartError):
                await self._start(number)

    async def stop(self) -> None:
        """SIGTERM to every worker (each finishes what it holds), and wait for them."""
        self._stopping = True
        for process in self._processes.values():
            if process.returncode is None:
                process.terminate()
        await asyncio.gather(*(p.wait() for p in self._processes.values()))
        for watcher in self._watchers:
            watcher.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)


def _stop_with_parent() -> None:
    """In a worker, before it runs: SIGTERM when this process dies, however it dies (Linux's
    PR_SET_PDEATHSIG), so a supervisor killed with SIGKILL leaves no worker behind."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the supervisor's own stop must do
        pass
