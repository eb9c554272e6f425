"""The routing pipeline of SPEC §4.2 as pure decisions over plain snapshots.

Each function takes the facts it needs (and `now`) and returns a verdict with the reason that goes
into the routing trail. Storage narrows the candidates with indexes (`handoff.store`); these
functions decide among what it found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from handoff.config import AfterHours, Config, Routing
from handoff.hours import is_open, next_opening
from handoff.kpis.measures import wait_start
from handoff.states import AgentStatus


@dataclass(frozen=True)
class AgentSnapshot:
    id: int
    name: str
    capacity: int
    status: AgentStatus
    on_shift: bool
    load: int
    pending_offers: int
    last_routed_at: datetime | None

    @property
    def free_slots(self) -> int:
        return self.capacity - self.load - self.pending_offers


@dataclass(frozen=True)
class ConversationSnapshot:
    id: int
    team: str
    priority: int
    queued_at: datetime
    attempts: int
    sticky_agent_id: int | None
    sticky_tried: bool
    open_to_anyone: bool
    not_before: datetime | None = None  # held for the team's opening until then

    @property
    def waiting_since(self) -> datetime:
        return wait_start(self.queued_at, self.not_before)


@dataclass(frozen=True)
class Classification:
    team: str
    priority: int
    is_lead: bool
    reasons: tuple[str, ...]


class Verdict(StrEnum):
    OFFER = "offer"
    WAIT = "wait"


@dataclass(frozen=True)
class RoutingDecision:
    verdict: Verdict
    reason: str
    agent_id: int | None = None
    timeout: float = 0.0
    sticky: bool = False
    open_to_anyone: bool = False  # the card opens to anyone with this decision


class TeamHours(StrEnum):
    OPEN = "open"
    HOLD = "hold"  # closed; wait for the opening (queue or bot_only policy)
    REDIRECT = "redirect"  # closed; route to the after-hours team


@dataclass(frozen=True)
class TimeDecision:
    outcome: TeamHours
    team: str
    reason: str
    policy: str = ""
    opening: datetime | None = None
    visited: tuple[str, ...] = field(default_factory=tuple)


def classify(
    config: Config,
    *,
    intent: str | None,
    text: str,
    first_chat: bool,
    is_vip: bool,
    usual_team: str | None,
) -> Classification:
    """Step 1: intent → team; priority = base + intent boost + VIP + urgent words.

    A lead is a customer in their first chat who asks about buying (a sales-type intent) or
    about nothing the bot knows; one who asks about their bill already is a customer."""
    routing = config.routing
    spec = config.intents.get(intent) if intent else None
    is_lead = first_chat and (spec is None or spec.sales)
    reasons: list[str] = []
    if spec is not None and spec.sales and is_lead and routing.sales_team:
        team = routing.sales_team
        reasons.append(f"lead asking about {intent} → sales team {team}")
    elif spec is not None:
        team = spec.team
        reasons.append(f"intent {intent} → team {team}")
    elif usual_team in config.teams:
        team = usual_team
        reasons.append(f"existing customer, usual team {team}")
    else:
        team = routing.sales_team if is_lead and routing.sales_team else next(iter(config.teams))
        reasons.append(f"no intent → default team {team}")
    priority = routing.base_priority
    if spec is not None and spec.priority_boost:
        priority += spec.priority_boost
        reasons.append(f"intent boost +{spec.priority_boost}")
    if is_vip:
        priority += routing.vip.boost
        reasons.append(f"VIP +{routing.vip.boost}")
    lowered = text.lower()
    if any(word.lower() in lowered for word in routing.urgent.keywords):
        priority += routing.urgent.boost
        reasons.append(f"urgent words +{routing.urgent.boost}")
    reasons.append(f"priority {priority}, {'lead' if is_lead else 'existing customer'}")
    return Classification(team=team, priority=priority, is_lead=is_lead, reasons=tuple(reasons))


def team_hours(config: Config, team: str, now: datetime) -> TimeDecision:
    """Step 2: is the team open? If not, follow its after-hours policy (chained `team:` at most once per team)."""
    visited: list[str] = []
    current = team
    while True:
        visited.append(current)
        spec = config.teams[current]
        schedule = config.schedules[spec.schedule]
        if is_open(schedule, now):
            reason = f"time: {spec.name} open" + (
                f" (after hours for {config.teams[team].name})" if current != team else ""
            )
            return TimeDecision(TeamHours.OPEN, current, reason, visited=tuple(visited))
        policy = spec.after_hours_policy
        redirect = spec.after_hours_team
        if policy is AfterHours.TEAM and redirect is not None and redirect not in visited:
            current = redirect
            continue
        opening = next_opening(schedule, now)
        when = f"opens {opening:%a %Y-%m-%d %H:%M %Z}" if opening else "no opening scheduled"
        hold_policy = AfterHours.QUEUE if policy is AfterHours.TEAM else policy
        return TimeDecision(
            TeamHours.HOLD if current == team else TeamHours.REDIRECT,
            current,
            f"time: {spec.name} closed, {when} → {hold_policy}",
            policy=str(hold_policy),
            opening=opening,
            visited=tuple(visited),
        )


def queue_key(queued_at: datetime, priority: int, aging: float) -> float:
    """Order of the queue: earlier first, each priority level counting as `aging` seconds of waiting.

    The key does not change as time passes, so the queue can be an index (SPEC §4.2 step 6).
    """
    return queued_at.timestamp() - priority * aging


def is_eligible(agent: AgentSnapshot) -> bool:
    """On shift, available, and with a free slot once pending offers are counted."""
    return agent.on_shift and agent.status is AgentStatus.AVAILABLE and agent.free_slots > 0


def overflowing(conversation: ConversationSnapshot, routing: Routing, now: datetime) -> bool:
    return now - conversation.waiting_since >= timedelta(seconds=routing.overflow_after)


def decide_offer(
    conversation: ConversationSnapshot,
    *,
    sticky_agent: AgentSnapshot | None,
    candidate: AgentSnapshot | None,
    routing: Routing,
    now: datetime,
) -> RoutingDecision:
    """Steps 3–6: sticky agent, then the longest-idle eligible agent, else wait.

    `candidate` is the longest-idle eligible agent storage found (team, and secondary teams once
    overflowing), already excluding agents who let this conversation time out.
    """
    opens = not conversation.open_to_anyone and conversation.attempts >= routing.max_attempts
    suffix = f"; open to anyone after {conversation.attempts} attempts" if opens else ""
    if sticky_agent is not None and not conversation.sticky_tried:
        load = f"load {sticky_agent.load}/{sticky_agent.capacity}"
        if is_eligible(sticky_agent):
            return RoutingDecision(
                Verdict.OFFER,
                f"sticky: last agent {sticky_agent.name} on shift, {load} → offered "
                f"{routing.sticky.timeout:g} s{suffix}",
                agent_id=sticky_agent.id,
                timeout=routing.sticky.timeout,
                sticky=True,
                open_to_anyone=opens,
            )
        why = _ineligible_why(sticky_agent)
        sticky_note = f"sticky: last agent {sticky_agent.name} {why}, skipped; "
    else:
        sticky_note = ""
    if candidate is not None and is_eligible(candidate):
        idle = (
            "never routed"
            if candidate.last_routed_at is None
            else f"idle {int((now - candidate.last_routed_at).total_seconds())} s"
        )
        return RoutingDecision(
            Verdict.OFFER,
            f"{sticky_note}round robin: {candidate.name} longest idle ({idle}), "
            f"load {candidate.load}/{candidate.capacity} → offered {routing.claim_timeout:g} s{suffix}",
            agent_id=candidate.id,
            timeout=routing.claim_timeout,
            open_to_anyone=opens,
        )
    return RoutingDecision(
        Verdict.WAIT,
        f"{sticky_note}no eligible agent in {conversation.team} → waits in queue{suffix}",
        open_to_anyone=opens,
    )


def _ineligible_why(agent: AgentSnapshot) -> str:
    if not agent.on_shift:
        return "off shift"
    if agent.status is not AgentStatus.AVAILABLE:
        return str(agent.status)
    return f"at capacity ({agent.load}/{agent.capacity})"


def estimated_wait(position: int, agents_on_duty: int, mean_handle_seconds: float) -> float | None:
    """Seconds until an agent frees up for the customer at `position` (1-based); None if nobody is on duty."""
    if agents_on_duty <= 0:
        return None
    return position * mean_handle_seconds / agents_on_duty
