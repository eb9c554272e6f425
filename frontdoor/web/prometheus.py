"""The bot's Prometheus metrics (SPEC §9), kept and written by `prometheus_client`.

One registry per running bot, not the client's global one, so several bots in one process (the
tests) each count their own. It holds three kinds of metric:

- the process's own: the client's process (CPU, memory, open files), platform and garbage
  collector collectors;
- histograms of waits and first responses, observed from the routing core's events as they
  happen (`Metrics.observe`, a router listener): their buckets, _sum and _count only grow while
  the process runs, so `rate()` and `histogram_quantile()` work over any window;
- what the database and the outbox say at the scrape (`Snapshot`, read by frontdoor/web/metrics.py).
  A collector's `collect()` is synchronous, so the handler reads the database first and
  `render`s after, with no await between: two scrapes cannot mix their snapshots.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from handoff.events import Assigned, Event, FirstResponse
from handoff.kpis.live import TeamQueue
from handoff.states import AgentStatus, ConversationState, OfferState
from telegram_io.outbox import OutboxStats

# Seconds, as chat support measures them: seconds while the team keeps up, hours when it does not.
WAIT_BUCKETS = (5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400)


@dataclass(frozen=True)
class Snapshot:
    """What the database and the outbox say at a scrape; counts by a column's values."""

    teams: Mapping[str, TeamQueue]  # every configured team, and any other with chats
    conversations: Mapping[str, int]  # by state
    offers: Mapping[str, int]  # by state
    agents: Mapping[tuple[str, bool], int]  # agents of the config, by (status, on shift)
    outbox_depth: int  # calls stored and not yet sent
    outbox: OutboxStats  # the outbox's counts since the process began
    inbox_unprocessed: int
    inbox_lag: float  # seconds the oldest unprocessed update has waited
    updates_handled: int = 0  # by this process since it began
    leading: bool = True  # this process sends to Telegram and keeps the cards (issue 18)
    config_reloads: int = 0  # config files this process switched to since it began


class Metrics:
    """The registry of one running bot, its histograms, and the snapshot collector."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.waits = Histogram(
            "frontdoor_wait_seconds",
            "Wait from queued to the first claim, by team (a chat held for its team's opening "
            "waits from the opening).",
            ["team"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.first_responses = Histogram(
            "frontdoor_first_response_seconds",
            "Wait from queued to the agent's first message, by team.",
            ["team"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self._snapshot = SnapshotCollector()
        self.registry.register(self._snapshot)

    async def observe(self, events: Sequence[Event]) -> None:
        """The router's listener: a first claim is a wait, an agent's first message a first
        response."""
        for event in events:
            match event:
                case Assigned(team=team, waited=float() as waited):
                    self.waits.labels(team).observe(waited)
                case FirstResponse(team=team, waited=waited):
                    self.first_responses.labels(team).observe(waited)

    def render(self, snapshot: Snapshot) -> bytes:
        """Every metric in the text format, the database's as `snapshot` says. Each team has
        its histograms from the start, empty until its first claim, so `rate()` sees them."""
        for team in snapshot.teams:
            self.waits.labels(team)
            self.first_responses.labels(team)
        self._snapshot.snapshot = snapshot
        return generate_latest(self.registry)


class SnapshotCollector(Collector):
    """The families of the snapshot last handed to `Metrics.render`."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None

    def collect(self) -> Iterator[Metric]:
        if self.snapshot is not None:
            yield from snapshot_families(self.snapshot)


def snapshot_families(snapshot: Snapshot) -> Iterator[Metric]:
    """The metric families of a snapshot; every team, state, outcome and status is present."""
    yield from _queue_families(snapshot.teams)
    conversations = GaugeMetricFamily(
        "frontdoor_conversations", "Conversations, by state.", labels=["state"]
    )
    for state in ConversationState:
        conversations.add_metric([state], snapshot.conversations.get(state, 0))
    yield conversations
    # An ended offer never changes again, so the ended ones only grow: a counter.
    ended = CounterMetricFamily("frontdoor_offers", "Offers ended, by outcome.", labels=["outcome"])
    for state in OfferState:
        if state is not OfferState.PENDING:
            ended.add_metric([state], snapshot.offers.get(state, 0))
    yield ended
    yield GaugeMetricFamily(
        "frontdoor_offers_pending",
        "Offers waiting for the agent's answer.",
        snapshot.offers.get(OfferState.PENDING, 0),
    )
    agents = GaugeMetricFamily(
        "frontdoor_agents",
        "Agents of the config, by status and shift.",
        labels=["status", "on_shift"],
    )
    for status in AgentStatus:
        for on_shift in (True, False):
            count = snapshot.agents.get((status, on_shift), 0)
            agents.add_metric([status, str(on_shift).lower()], count)
    yield agents
    yield from _pipeline_families(snapshot)


def _queue_families(teams: Mapping[str, TeamQueue]) -> Iterator[Metric]:
    length = GaugeMetricFamily(
        "frontdoor_queue_length",
        "Conversations waiting for an agent (queued or offered), by team; held ones are not.",
        labels=["team"],
    )
    oldest = GaugeMetricFamily(
        "frontdoor_waiting_oldest_seconds",
        "How long the team's longest-waiting conversation has waited (0 when none waits; held "
        "ones wait from the opening).",
        labels=["team"],
    )
    held = GaugeMetricFamily(
        "frontdoor_held_conversations",
        "Conversations held for the team's opening (after hours), offered to nobody yet.",
        labels=["team"],
    )
    for team, line in sorted(teams.items()):
        length.add_metric([team], line.waiting)
        oldest.add_metric([team], line.oldest)
        held.add_metric([team], line.held)
    yield from (length, oldest, held)


def _pipeline_families(snapshot: Snapshot) -> Iterator[Metric]:
    """The outbox and the inbox: stored rows, and the outbox's counts since the process began."""
    stats = snapshot.outbox
    yield GaugeMetricFamily(
        "frontdoor_outbox_depth", "Bot API calls stored and not yet sent.", snapshot.outbox_depth
    )
    yield CounterMetricFamily(
        "frontdoor_outbox_sent", "Bot API calls this process has sent.", stats.sent
    )
    yield CounterMetricFamily(
        "frontdoor_outbox_retried",
        "Bot API calls this process is to try again (5xx answers, timeouts).",
        stats.retried,
    )
    yield CounterMetricFamily(
        "frontdoor_telegram_429",
        "Bot API calls of this process answered 429 Too Many Requests.",
        stats.too_many_requests,
    )
    yield CounterMetricFamily(
        "frontdoor_outbox_failed",
        "Bot API calls this process has given up on (403, 400, out of attempts).",
        stats.failed,
    )
    yield GaugeMetricFamily(
        "frontdoor_inbox_unprocessed",
        "Updates stored and not yet processed.",
        snapshot.inbox_unprocessed,
    )
    yield GaugeMetricFamily(
        "frontdoor_inbox_lag_seconds",
        "Age of the oldest update stored and not yet processed (0 when none).",
        snapshot.inbox_lag,
    )
    yield CounterMetricFamily(
        "frontdoor_updates_handled",
        "Updates this process has handled (with several workers: its share).",
        snapshot.updates_handled,
    )
    yield CounterMetricFamily(
        "frontdoor_config_reloads",
        "Config files this process switched to since it began (a file saved, /reload).",
        snapshot.config_reloads,
    )
    yield GaugeMetricFamily(
        "frontdoor_leader",
        "1 when this process leads: it sends to Telegram and keeps the cards (one worker does).",
        int(snapshot.leading),
    )
