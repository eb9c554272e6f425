"""Timers (SPEC §4.3): what the router's decisions say should happen later, carried out.

Offer deadlines, SLA alerts, queues held for a team's opening, shift starts and ends, and a periodic
sweep that catches anything a timer missed. The database stays the source of truth: `recover()`
recomputes every timer from stored timestamps after a restart, and every timed action is idempotent.

`RoutingScheduler` decides which timers to arm; a `Timers` backend runs them: APScheduler on the
wall clock in the bot (deadlines are in the router's clock, which may run ahead of the wall clock
with `frontdoor sandbox --clock`, so they are translated to wall-clock run times), or a virtual
clock's next-event loop in `frontdoor simulate` (`handoff.simulation`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handoff import store
from handoff.events import Event, HeldAfterHours, OfferMade, Queued, Requeued
from handoff.hours import next_closing, next_opening
from handoff.router import Router

log = logging.getLogger(__name__)

SWEEP_JOB = "sweep"
SHIFT_JOB = "shift-boundary"


Action = Callable[..., Awaitable[object]]


class Timers(Protocol):
    """Runs timed actions: once at a moment of the router's clock, or every so many seconds."""

    def start(self) -> None: ...

    def at(self, moment: datetime, job_id: str, action: Action, *args: object) -> None:
        """Run `action` at `moment`; a job of the same id is replaced."""
        ...

    def every(self, seconds: float, action: Action, job_id: str) -> None: ...

    async def stop(self) -> None: ...

    def shutdown(self) -> None: ...


class WallClockTimers:
    """APScheduler on the wall clock, each timed action tracked so `stop` can let it finish."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock  # the router's: deadlines are in it
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[object]] = set()

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop firing timers; a timed action already running is left to finish (`stop`)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def stop(self) -> None:
        """Stop firing timers and let the timed actions already running finish (APScheduler's
        shutdown would cancel them halfway)."""
        if self.scheduler.running:
            self.scheduler.pause()
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        self.shutdown()

    def every(self, seconds: float, action: Action, job_id: str) -> None:
        """Run `action` every `seconds` (wall clock), never two at once."""
        self.scheduler.add_job(
            self._tracked,
            "interval",
            seconds=seconds,
            args=(action,),
            id=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )

    async def _tracked(self, action: Callable[..., Awaitable[object]], *args: object) -> None:
        """Run a timed action where `stop` can wait for it (a cancelled one is logged as failed)."""
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await action(*args)
        finally:
            self._running.discard(task)

    def at(self, moment: datetime, job_id: str, action: Action, *args: object) -> None:
        delay = (moment - self.clock()).total_seconds()
        run_at = datetime.now(UTC) + timedelta(seconds=max(delay, 0.0))
        self.scheduler.add_job(
            self._tracked,
            "date",
            run_date=run_at,
            args=(action, *args),
            id=job_id,
            replace_existing=True,
            misfire_grace_time=None,
        )


class RoutingScheduler:
    """Arms the timers the router's events and stored deadlines call for."""

    def __init__(self, router: Router, timers: Timers | None = None) -> None:
        self.router = router
        self.timers = timers if timers is not None else WallClockTimers(router.clock.now)
        router.listeners.append(self.observe)

    async def start(self) -> None:
        """Start the timers and recompute them from the database (after a restart too)."""
        self.timers.start()
        self.every(self.router.config.routing.sweep_every, self._sweep, SWEEP_JOB)
        await self.recover()

    def shutdown(self) -> None:
        self.timers.shutdown()

    async def stop(self) -> None:
        await self.timers.stop()

    def every(self, seconds: float, action: Action, job_id: str) -> None:
        self.timers.every(seconds, action, job_id)

    def _at(self, moment: datetime, job_id: str, action: Action, *args: object) -> None:
        self.timers.at(moment, job_id, action, *args)

    async def recover(self) -> None:
        """Re-arm every deadline stored in the database, then sweep once."""
        for offer_id, deadline in await self.router.database.read(store.offer_deadlines):
            self._at(deadline, f"offer-{offer_id}", self.router.expire_overdue)
        await self.arm_openings()
        self.arm_shift_boundary()
        await self._sweep()

    async def arm_openings(self) -> None:
        """A drain at every moment a held chat's team opens, as stored in the database."""
        for opening in await self.router.database.read(store.held_until):
            self._at(opening, f"opening-{opening.isoformat()}", self._drain)

    async def observe(self, events: Sequence[Event]) -> None:
        """Arm the timers the router's events call for."""
        sla_team_seconds = {k: t.sla.first_response for k, t in self.router.config.teams.items()}
        for event in events:
            if isinstance(event, OfferMade):
                self._at(
                    event.deadline,
                    f"offer-{event.offer_id}",
                    self.router.expire_overdue,
                )
            elif isinstance(event, HeldAfterHours) and event.opening is not None:
                self._at(event.opening, f"opening-{event.opening.isoformat()}", self._drain)
            elif isinstance(event, Queued) and event.team in sla_team_seconds:
                now = self.router.clock.now()
                due = now + timedelta(seconds=sla_team_seconds[event.team])
                self._at(due, f"sla-{event.conversation_id}", self._sweep)
                if event.first:
                    self._arm_overflow(event.conversation_id, event.team)
            elif isinstance(event, Requeued):
                self._arm_overflow(event.conversation_id, event.team)

    def _arm_overflow(self, conversation_id: int | None, team: str) -> None:
        """A drain when a chat that just joined `team`'s queue may go to its backup teams."""
        spec = self.router.config.teams.get(team)
        if spec is not None and spec.secondary:
            after = timedelta(seconds=self.router.config.routing.overflow_after)
            self._at(self.router.clock.now() + after, f"overflow-{conversation_id}", self._drain)

    def arm_shift_boundary(self) -> None:
        """Schedule a shift sync at the next moment any agent's shift starts or ends."""
        now = self.router.clock.now()
        config = self.router.config
        moments: list[datetime] = []
        for name in {a.shift for a in config.agents}:
            schedule = config.schedules[name]
            for moment in (next_opening(schedule, now), next_closing(schedule, now)):
                if moment is not None and moment > now:
                    moments.append(moment)
        if moments:
            self._at(min(moments), SHIFT_JOB, self._shift_boundary)

    async def _shift_boundary(self) -> None:
        await self.router.sync_shifts()
        self.arm_shift_boundary()

    async def _drain(self) -> None:
        await self.router.dispatch_free_agents()

    async def _sweep(self) -> None:
        try:
            await self.router.sweep()
        except Exception:  # a failed sweep is retried by the next one
            log.exception("sweep failed")
