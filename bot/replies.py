"""What the bot does with a customer's text (SPEC §3.2–3.3), decided without I/O."""

from __future__ import annotations

from dataclasses import dataclass

from bot.intents import IntentMatcher, is_human_request
from handoff.config import Config


@dataclass(frozen=True)
class Reply:
    answer_intent: str | None = None  # send this intent's FAQ answer with Helpful / Person
    unknown: bool = False  # say "I did not understand" with the menu
    handoff: bool = False  # ask the routing core for a person
    handoff_intent: str | None = None
    unknown_streak: int = 0  # the customer's count of not-understood messages in a row, after this


def decide(
    config: Config,
    matcher: IntentMatcher,
    text: str,
    *,
    unknown_streak: int,
    waiting: bool,
    intent: str | None = None,
    person_only: frozenset[str] = frozenset(),
) -> Reply:
    """The bot's move for `text` (or for `intent` chosen from the menu).

    `person_only` are the intents that only ask for a person (`person_intents`).
    A customer already waiting for a person still gets FAQ answers but nothing else: no second
    handoff, no "I did not understand" (their words reach the agent with the transcript).
    """
    if intent is None and text:
        if is_human_request(text) and not waiting:
            # "my bill is wrong, let me talk to a person" is about the bill: route by the topic,
            # and by the talk-to-a-person intent only when there is no other.
            topic = matcher.match(text, exclude=person_only).intent
            return Reply(handoff=True, handoff_intent=topic or matcher.match(text).intent)
        intent = matcher.match(text).intent
    spec = config.intents.get(intent) if intent else None
    if spec is None:
        if waiting:
            return Reply(unknown_streak=unknown_streak)
        streak = unknown_streak + 1
        if streak >= config.bot.unknown_before_handoff:
            return Reply(handoff=True, unknown_streak=0)
        return Reply(unknown=True, unknown_streak=streak)
    if spec.answer and not spec.human_required:
        return Reply(answer_intent=intent)
    if waiting:
        return Reply()
    return Reply(handoff=True, handoff_intent=intent)


def person_intents(config: Config) -> frozenset[str]:
    """Intents that only say "let me talk to a person" (every keyword is such a request)."""
    return frozenset(
        name
        for name, intent in config.intents.items()
        if all(is_human_request(k) for words in intent.keywords.values() for k in words)
    )
