"""What the routing core tells the adapters happened; `bot/` and `agents_app/` turn these into messages.

Every event is a plain frozen dataclass. The core never sends anything itself (STYLE: decide, then act).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Event:
    conversation_id: int | None


@dataclass(frozen=True)
class Queued(Event):
    """The conversation waits for an agent; the customer is told their place in line."""

    customer_id: int
    team: str
    position: int
    estimated_wait: float | None  # seconds, None when nobody is on duty
    first: bool = True  # the first place in line this conversation's customer is told
    at_least: bool = False  # `position` and the wait are lower bounds (a very long queue)


@dataclass(frozen=True)
class HeldAfterHours(Event):
    """The team is closed: the conversation waits for `opening` under the team's after-hours policy."""

    customer_id: int
    team: str
    policy: str  # queue | bot_only
    opening: datetime | None


@dataclass(frozen=True)
class RoutedAfterHours(Event):
    """The team is closed and its policy sends the conversation to another team."""

    customer_id: int
    from_team: str
    to_team: str


@dataclass(frozen=True)
class OfferMade(Event):
    """An agent is offered the conversation until `deadline`. `announced`: it was offered as it
    joined the queue (an arrival, a transfer, a release), so the customer is told who is being
    found for them, as a `Queued(first=True)` tells them their place in line."""

    offer_id: int
    agent_id: int
    deadline: datetime
    sticky: bool
    open_to_anyone: bool
    customer_id: int
    team: str
    announced: bool = False


@dataclass(frozen=True)
class OfferEnded(Event):
    """An offer stopped being pending without a claim: timed out, declined or rescinded."""

    offer_id: int
    agent_id: int
    outcome: str  # an OfferState value


@dataclass(frozen=True)
class OpenedToAnyone(Event):
    """After `max_attempts` offers the card opens to any agent in the group; managers are alerted."""

    attempts: int


@dataclass(frozen=True)
class Assigned(Event):
    customer_id: int
    agent_id: int
    team: str
    how: str  # claim | take | force | transfer
    over_capacity: bool = False
    # Seconds from the start of its wait (`wait_start`) to this, its first claim; None when an
    # agent held it before (a transfer, a claim after a release), as SPEC §4.4's wait counts.
    waited: float | None = None


@dataclass(frozen=True)
class FirstResponse(Event):
    """An agent's first message in the conversation (SPEC §4.4's first response)."""

    team: str
    waited: float  # seconds from the start of its wait (`wait_start`)


@dataclass(frozen=True)
class Requeued(Event):
    """An assigned conversation went back to the queue (release or transfer to a team)."""

    agent_id: int
    team: str
    why: str


@dataclass(frozen=True)
class Closed(Event):
    customer_id: int
    agent_id: int | None
    reason: str  # agent | customer_cancel | idle | blocked | manager


@dataclass(frozen=True)
class AgentStatusChanged(Event):
    agent_id: int
    status: str
    why: str  # command | missed_offers | shift_start | shift_end


@dataclass(frozen=True)
class AgentReachability(Event):
    """The bot found it can (no longer) message an agent privately; unreachable agents get no chats."""

    agent_id: int
    reachable: bool


@dataclass(frozen=True)
class SlaBreached(Event):
    team: str
    waited: float  # seconds without a first response
