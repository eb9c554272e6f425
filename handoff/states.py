"""The states of a conversation and of an offer, and which moves between them are allowed (SPEC §4.1).

```mermaid
stateDiagram-v2
    [*] --> bot
    bot --> queued: handoff requested
    queued --> offered: offer made
    offered --> queued: offer timed out / declined / rescinded
    offered --> assigned: claimed by the offered agent
    queued --> assigned: taken (cherry-pick) / force-assigned
    assigned --> queued: released
    assigned --> assigned: transferred to an agent
    assigned --> queued: transferred to a team
    bot --> closed
    queued --> closed
    offered --> closed
    assigned --> closed
    closed --> [*]
```
"""

from __future__ import annotations

from enum import StrEnum


class ConversationState(StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class OfferState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    TIMED_OUT = "timed_out"
    DECLINED = "declined"
    RESCINDED = "rescinded"


class AgentStatus(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


OPEN_STATES = frozenset(
    {
        ConversationState.BOT,
        ConversationState.QUEUED,
        ConversationState.OFFERED,
        ConversationState.ASSIGNED,
    }
)

_C = ConversationState
ALLOWED_MOVES: frozenset[tuple[ConversationState, ConversationState]] = frozenset(
    {
        (_C.BOT, _C.QUEUED),
        (_C.QUEUED, _C.OFFERED),
        (_C.OFFERED, _C.QUEUED),
        (_C.OFFERED, _C.ASSIGNED),
        (_C.QUEUED, _C.ASSIGNED),
        (_C.ASSIGNED, _C.QUEUED),
        (_C.ASSIGNED, _C.ASSIGNED),
        (_C.BOT, _C.CLOSED),
        (_C.QUEUED, _C.CLOSED),
        (_C.OFFERED, _C.CLOSED),
        (_C.ASSIGNED, _C.CLOSED),
    }
)


class IllegalMove(Exception):
    """A transition the state machine of SPEC §4.1 does not allow."""


def check_move(current: ConversationState, target: ConversationState) -> None:
    if (current, target) not in ALLOWED_MOVES:
        raise IllegalMove(f"a conversation cannot go from {current} to {target}")
