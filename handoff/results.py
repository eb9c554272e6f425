"""What a routing service came to, as the adapters read it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from handoff.events import Event


class ClaimResult(StrEnum):
    CLAIMED = "claimed"
    ALREADY_CLAIMED = "already_claimed"
    NOT_OFFERED_TO_YOU = "not_offered_to_you"
    NOT_AN_AGENT = "not_an_agent"
    OFF_SHIFT = "off_shift"
    AT_CAPACITY = "at_capacity"
    CLOSED = "closed"
    NOT_FOUND = "not_found"
    NOT_WAITING = "not_waiting"
    HELD = "held"  # kept for its team's opening, offered to nobody; only some may take it now
    UNREACHABLE = "unreachable"  # the bot cannot message the claimant privately


class ActionResult(StrEnum):
    DONE = "done"
    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"
    NOT_ALLOWED = "not_allowed"
    UNKNOWN_TARGET = "unknown_target"
    TARGET_UNAVAILABLE = "target_unavailable"
    ALREADY_DONE = "already_done"


@dataclass(frozen=True)
class Outcome:
    """What an action did: its result, the conversation's holder if relevant, and the events."""

    result: ClaimResult | ActionResult
    events: tuple[Event, ...] = ()
    holder_id: int | None = None
    conversation_id: int | None = None
