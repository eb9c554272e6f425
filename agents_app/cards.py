"""Cards in the agents group (SPEC §5), decided without I/O: what a card or a digest shows, and
what to send next within the group's ~20 messages a minute.

A card is rendered from the conversation as it is when the card goes out, never from the events
that led there, so a burst of changes costs one edit showing the latest state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from agents_app.views import CardView
from handoff.config import ClaimMode, Config
from handoff.states import ConversationState
from handoff.trimming import trimmed
from telegram_io.calls import Buttons
from telegram_io.messages import TEXT_LIMIT
from telegram_io.texts import on_day, say

C = ConversationState
DIGEST_MAX = 20  # conversations one digest shows: about 3,500 characters, 7 rows of buttons
QUOTE_LIMIT = 140  # characters of the first message a card shows


def claim_data(conversation_id: int) -> str:
    return f"claim:{conversation_id}"


def claim_label(config: Config, conversation_id: int) -> str:
    return agents_text(config, "claim_button", id=conversation_id)


def clock(moment: datetime, timezone: str, seconds: bool = False) -> str:
    """`10:03` (or `10:03:45`) in the team's zone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%H:%M:%S" if seconds else "%H:%M")


def team_zone(config: Config, team: str | None) -> str:
    spec = config.teams.get(team or "")
    return config.schedules[spec.schedule].timezone if spec is not None else "UTC"


def team_name(config: Config, team: str | None) -> str:
    spec = config.teams.get(team or "")
    return spec.name if spec is not None else (team or "?")


def agents_text(config: Config, key: str, /, **values: object) -> str:
    """The text `key` in the agents' language (`bot.agents_language`): the group's."""
    return say(config, config.bot.agents_language, key, **values)


def status_line(view: CardView, config: Config, now: datetime) -> str:
    """Where the conversation stands, in one line."""
    zone = team_zone(config, view.team)
    if view.state is C.CLOSED:
        reason = view.close_reason or ""
        known = reason in ("agent", "manager", "customer_cancel", "idle", "blocked")
        return "✖️ " + agents_text(config, f"card_closed_{reason}" if known else "card_closed")
    if view.state is C.ASSIGNED and view.holder is not None:
        return agents_text(config, "card_claimed_by", agent=view.holder.mention)
    if view.state is C.OFFERED and view.offered_to is not None and view.offer_deadline:
        until = clock(view.offer_deadline, zone, seconds=True)
        anyone_may = view.open_to_anyone or _anyone_may_claim(config)
        anyone = agents_text(config, "card_or_anyone") if anyone_may else ""
        mention = view.offered_to.mention
        return agents_text(config, "card_offered_to", agent=mention, anyone=anyone, until=until)
    if view.not_before is not None and view.not_before > now:
        opening = on_day(view.not_before, zone, config.bot.agents_language)
        team = team_name(config, view.team)
        return agents_text(config, "card_after_hours", team=team, opening=opening)
    if view.open_to_anyone:
        return agents_text(config, "card_open_to_anyone")
    return agents_text(config, "card_in_queue")


def _anyone_may_claim(config: Config) -> bool:
    return config.routing.claim is ClaimMode.ANYONE


def is_waiting(view: CardView) -> bool:
    return view.state in (C.QUEUED, C.OFFERED)


def _tags(view: CardView, config: Config) -> str:
    parts = [view.language, team_name(config, view.team)]
    if view.intent:
        parts.append(view.intent)
    parts.append(f"P{view.priority}")
    parts.append(agents_text(config, "card_lead" if view.is_lead else "card_existing"))
    return " · ".join(parts)


def render_card(view: CardView, config: Config, now: datetime) -> tuple[str, Buttons]:
    """One conversation's card: who, what, since when, where it stands; Claim while waiting."""
    vip = " ⭐ VIP" if view.is_vip else ""
    lines = [f"#{view.conversation_id} · {view.customer_name}{vip}", _tags(view, config)]
    if view.first_message:
        lines.append(f"💬 “{trimmed(view.first_message, QUOTE_LIMIT)}”")
    if view.queued_at is not None:
        since = clock(view.queued_at, team_zone(config, view.team))
        tries = (
            agents_text(config, "card_offer_count", n=view.attempts) if view.attempts > 1 else ""
        )
        lines.append(agents_text(config, "card_waiting_since", since=since, tries=tries))
    lines.append(status_line(view, config, now))
    buttons = (
        [[(claim_label(config, view.conversation_id), claim_data(view.conversation_id))]]
        if is_waiting(view)
        else []
    )
    return "\n".join(lines), buttons


def render_digest(views: Sequence[CardView], config: Config, now: datetime) -> tuple[str, Buttons]:
    """Several conversations in one message, when they arrive faster than the group allows."""
    waiting = [v for v in views if is_waiting(v)]

    def lines(quotes: bool) -> list[str]:
        shown = [agents_text(config, "digest_heading", n=len(views), waiting=len(waiting))]
        for view in views:
            vip = " ⭐" if view.is_vip else ""
            shown.append(
                f"\n#{view.conversation_id} · {view.customer_name}{vip} · {_tags(view, config)}"
            )
            if quotes and view.first_message and is_waiting(view):
                shown.append(f"💬 “{trimmed(view.first_message, 60)}”")
            shown.append(status_line(view, config, now))
        return shown

    text = "\n".join(lines(quotes=True))
    if len(text) > TEXT_LIMIT:  # long names: the first messages make way
        text = "\n".join(lines(quotes=False))
    labels = [(f"✋ #{v.conversation_id}", claim_data(v.conversation_id)) for v in waiting]
    rows = [labels[i : i + 3] for i in range(0, len(labels), 3)]
    return text, rows


def render(views: Sequence[CardView], config: Config, now: datetime) -> tuple[str, Buttons]:
    """A message showing these conversations: a card for one, a digest for several."""
    if len(views) == 1:
        return render_card(views[0], config, now)
    return render_digest(views, config, now)


@dataclass(frozen=True)
class DirtyCard:
    """A card whose conversation changed since the card was last sent."""

    conversation_id: int
    message_id: int | None  # None: never shown yet
    waiting: bool


@dataclass(frozen=True)
class Post:
    """Send a new message showing these conversations (a card, or a digest of several)."""

    conversation_ids: tuple[int, ...]


@dataclass(frozen=True)
class Edit:
    """Edit the message that shows these conversations."""

    message_id: int


@dataclass(frozen=True)
class Forget:
    """Changed before it was ever shown, and no longer waiting: nothing to show."""

    conversation_ids: tuple[int, ...]


def next_send(dirty: Sequence[DirtyCard]) -> Post | Edit | Forget | None:
    """The next thing to do for the group, oldest first: cards not yet shown go before edits; two
    or more waiting to be shown go out together as a digest (the group's limit is per message)."""
    unshown = [d for d in dirty if d.message_id is None]
    gone = tuple(d.conversation_id for d in unshown if not d.waiting)
    if gone:
        return Forget(gone)
    if unshown:
        return Post(tuple(d.conversation_id for d in unshown[:DIGEST_MAX]))
    for card in dirty:
        if card.message_id is not None:
            return Edit(card.message_id)
    return None
