"""What a customer means (SPEC §3.2): the keyword matcher and the trained model, weighed together.

The keyword matcher is precise but knows only the words a manager listed; the model
(`bot.classifier`) knows how customers say things in other words. Each intent's score is the
model's probability, plus `KEYWORD_WEIGHT` when one of its keywords or questions matched (scaled
by how well), as a share of all scores. The bot then:

* answers when the best intent's share reaches `answer_at` and leads the next by `margin`;
* asks ("Do you mean: A / B?") when the best reaches `ask_at` but is not that sure;
* otherwise does not know.
Asking is never wrong; answering the wrong FAQ is. Pure: no Telegram, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot.classifier import Example, IntentModel, trained
from bot.intents import IntentMatcher
from handoff.config import Intent, Understanding

KEYWORD_WEIGHT = 0.3  # a matched keyword is worth this much probability
MAX_CHOICES = 3  # buttons when the bot asks
NONE = "-"  # the model's class for messages no intent covers (never an intent's name)
OUT_OF_SCOPE_FILE = Path(__file__).with_name("out_of_scope.yaml")


@cache
def out_of_scope_examples() -> tuple[Example, ...]:
    """Questions about something else, in both languages, shipped with the bot."""
    written = yaml.safe_load(OUT_OF_SCOPE_FILE.read_text(encoding="utf-8"))
    return tuple(Example(text, NONE) for texts in written.values() for text in texts)


@dataclass(frozen=True)
class Understood:
    """The intent a text means (None: unknown), the share it scored, and when the bot is not
    sure enough, the intents to offer the customer (best first)."""

    intent: str | None
    confidence: float = 0.0
    choices: tuple[str, ...] = ()

    @property
    def unsure(self) -> bool:
        return bool(self.choices)


def config_examples(intents: Mapping[str, Intent]) -> list[Example]:
    """The config's keywords, questions and examples, each with its intent."""
    return [
        Example(text, name)
        for name, intent in intents.items()
        for texts in (intent.keywords, intent.questions, intent.examples)
        for language in texts.values()
        for text in language
    ]


class Reader:
    """Reads customers' messages against one config's intents (and what agents taught it)."""

    def __init__(
        self,
        intents: Mapping[str, Intent],
        settings: Understanding,
        learned: Iterable[Example] = (),
    ) -> None:
        self.settings = settings
        self.matcher = IntentMatcher(intents)
        known = [example for example in learned if example.intent in intents]
        examples = (*config_examples(intents), *out_of_scope_examples(), *known)
        self.model: IntentModel = trained(examples)

    def scores(self, text: str, exclude: Collection[str] = ()) -> list[tuple[str, float]]:
        """Each intent's share of the evidence for `text`, best first."""
        keywords = self.matcher.scores(text, exclude)
        model = self.model.probabilities(text, exclude)
        raw = {
            intent: model.get(intent, 0.0) + KEYWORD_WEIGHT * keywords.get(intent, 0.0) / 100
            for intent in model.keys() | keywords.keys()
        }
        total = sum(raw.values())
        if total <= 0:
            return []
        return sorted(((i, s / total) for i, s in raw.items()), key=lambda item: -item[1])

    def topic(self, text: str, besides: Collection[str]) -> str | None:
        """What a request for a person is about ("my bill is wrong, let me talk to someone"):
        the likeliest intent other than `besides` (the asking-for-a-person ones), if it is likely
        enough to ask about, weighed against all of them (no question back is asked here)."""
        for intent, share in self.scores(text):
            if share < self.settings.ask_at:
                return None
            if intent not in besides and intent != NONE:
                return intent
        return None

    def read(self, text: str, exclude: Collection[str] = ()) -> Understood:
        """What `text` means: an intent, a question back, or unknown."""
        ranked = self.scores(text, exclude)
        if not ranked or ranked[0][0] == NONE:
            return Understood(None)
        settings = self.settings
        best, confidence = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if confidence >= settings.answer_at and confidence - runner_up >= settings.margin:
            return Understood(best, confidence)
        if confidence < settings.ask_at:
            return Understood(None, confidence)
        choices = tuple(
            intent
            for intent, share in ranked[:MAX_CHOICES]
            if intent != NONE
            and share >= settings.ask_at / 2
            and share >= confidence - settings.margin * 2
        )
        return Understood(None, confidence, choices)
