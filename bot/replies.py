"""What the bot does with a customer's text (SPEC §3.2–3.3), decided without I/O."""

from __future__ import annotations

from dataclasses import dataclass

from bot.intents import is_human_request
from bot.small_talk import Kind, SmallTalk
from bot.understanding import Reader
from handoff.config import Config


@dataclass(frozen=True)
class Reply:
    answer_intent: str | None = None  # send this intent's FAQ answer with Helpful / Person
    unknown: bool = False  # say "I did not understand" with the menu
    menu: bool = False  # with `unknown`: not understood again, so show the topics to pick from
    small_talk: Kind | None = None  # a greeting, thanks, goodbye or "ok": a short answer
    choices: tuple[str, ...] = ()  # not sure: ask which of these intents the customer means
    handoff: bool = False  # ask the routing core for a person
    handoff_intent: str | None = None
    unknown_streak: int = 0  # the customer's count of not-understood messages in a row, after this


def decide(
    config: Config,
    reader: Reader,
    text: str,
    *,
    unknown_streak: int,
    waiting: bool,
    intent: str | None = None,
    person_only: frozenset[str] = frozenset(),
    small_talk: SmallTalk | None = None,
) -> Reply:
    """The bot's move for `text` (or for `intent` chosen from the menu).

    `person_only` are the intents that only ask for a person (`person_intents`).
    A customer already waiting for a person still gets FAQ answers but nothing else: no second
    handoff, no question back, no "I did not understand" (their words reach the agent with the
    transcript).
    """
    if intent is None and text:
        if is_human_request(text) and not waiting:
            # "my bill is wrong, let me talk to a person" is about the bill: route by the topic,
            # and by the talk-to-a-person intent only when there is no clear other.
            topic = reader.topic(text, besides=person_only)
            return Reply(handoff=True, handoff_intent=topic or person_intent(config, person_only))
        if small_talk is not None and (kind := small_talk.kind(text)) is not None:
            return Reply(small_talk=kind, unknown_streak=unknown_streak)
        understood = reader.read(text)
        if understood.unsure and not waiting:
            return Reply(choices=understood.choices, unknown_streak=unknown_streak)
        intent = understood.intent
    spec = config.intents.get(intent) if intent else None
    if spec is None:
        if waiting:
            return Reply(unknown_streak=unknown_streak)
        streak = unknown_streak + 1
        handoff_at = config.bot.unknown_before_handoff
        if streak >= handoff_at:
            return Reply(handoff=True, unknown_streak=0)
        return Reply(unknown=True, menu=1 < streak == handoff_at - 1, unknown_streak=streak)
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


def person_intent(config: Config, person_only: frozenset[str]) -> str | None:
    """The intent a request for a person without a topic goes by (its team takes the chat):
    the first talk-to-a-person intent of the config."""
    return next((name for name in config.intents if name in person_only), None)
