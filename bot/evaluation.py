"""How well the bot understands a labelled set of messages (`frontdoor intents test FILE.tsv`).

A labelled file has one message per line, `TEXT<TAB>INTENT`, with `-` for a message no intent
covers; blank lines and lines starting with `#` are skipped. Each message is read as the bot
reads a customer's, and counted as right, asked (the bot offers choices: never wrong), unknown,
a wrong FAQ answer (the worst: a customer told something beside the point) or another wrong
intent. Messages that share no keyword with their intent are counted apart too: they are what
the model is for. Pure: no I/O beyond the text given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.intents import IntentMatcher
from bot.understanding import Reader, Understood
from handoff.config import Intent

OUT_OF_SCOPE = "-"


class LabelledFileError(ValueError):
    """A labelled file that cannot be read; the message names the line."""


@dataclass(frozen=True)
class Case:
    text: str
    intent: str  # OUT_OF_SCOPE for none
    line: int


def parse_labelled(text: str, intents: Iterable[str], source: str = "FILE") -> list[Case]:
    """The cases of a labelled file; a wrong line is an error naming it (`FILE:LINE`)."""
    known = set(intents)
    cases: list[Case] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [part.strip() for part in raw.rstrip("\r\n").split("\t")]
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise LabelledFileError(
                f"{source}:{number}: expected TEXT<TAB>INTENT, got {line[:60]!r}"
            )
        message, intent = parts
        if intent != OUT_OF_SCOPE and intent not in known:
            raise LabelledFileError(
                f"{source}:{number}: unknown intent {intent!r} (use one of the config's intents or -)"
            )
        cases.append(Case(message, intent, number))
    if not cases:
        raise LabelledFileError(f"{source}: no labelled messages")
    return cases


@dataclass
class Tally:
    total: int = 0
    right: int = 0
    asked: int = 0
    asked_right: int = 0  # the right intent among the choices offered
    unknown: int = 0
    wrong_faq: int = 0
    wrong_other: int = 0

    def add(self, outcome: str, offered_right: bool) -> None:
        self.total += 1
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.asked_right += outcome == "asked" and offered_right

    def share(self, count: int) -> float:
        return count / self.total if self.total else 0.0


@dataclass
class Evaluation:
    overall: Tally = field(default_factory=Tally)
    in_scope: Tally = field(default_factory=Tally)
    no_keyword: Tally = field(default_factory=Tally)  # in scope, sharing no keyword with the intent
    out_of_scope: Tally = field(default_factory=Tally)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (label, read as)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)  # one text per confusion


def outcome_of(case: Case, read: Understood, intents: Mapping[str, Intent]) -> str:
    """right | asked | unknown | wrong_faq | wrong_other."""
    expected = None if case.intent == OUT_OF_SCOPE else case.intent
    if read.unsure:
        return "asked"
    if read.intent == expected:
        return "right"
    if read.intent is None:
        return "unknown"
    spec = intents[read.intent]
    return "wrong_faq" if spec.answer and not spec.human_required else "wrong_other"


def evaluate(reader: Reader, intents: Mapping[str, Intent], cases: Iterable[Case]) -> Evaluation:
    keywords_only = IntentMatcher(
        {name: intent.model_copy(update={"questions": {}}) for name, intent in intents.items()}
    )
    result = Evaluation()
    for case in cases:
        read = reader.read(case.text)
        outcome = outcome_of(case, read, intents)
        offered = case.intent in read.choices
        result.overall.add(outcome, offered)
        if case.intent == OUT_OF_SCOPE:
            result.out_of_scope.add(outcome, offered)
        else:
            result.in_scope.add(outcome, offered)
            if case.intent not in keywords_only.scores(case.text):
                result.no_keyword.add(outcome, offered)
        if outcome != "right":
            read_as = "?" + "/".join(read.choices) if read.unsure else read.intent or "unknown"
            key = (case.intent, read_as)
            result.confusions[key] += 1
            result.examples.setdefault(key, case.text)
    return result


def as_text(result: Evaluation, *, confusions: int = 30) -> str:
    """The figures as a table, then the commonest confusions with an example each."""
    rows = [
        ("all messages", result.overall),
        ("in scope", result.in_scope),
        ("  sharing no keyword", result.no_keyword),
        ("out of scope", result.out_of_scope),
    ]
    header = (
        f"{'':22}{'count':>6}{'right':>8}{'asked':>8}{'unknown':>9}{'wrong FAQ':>11}{'wrong':>8}"
    )
    lines = [header]
    for name, tally in rows:
        lines.append(
            f"{name:22}{tally.total:>6}"
            + "".join(
                f"{tally.share(count):>{width}.1%}"
                for count, width in (
                    (tally.right, 8),
                    (tally.asked, 8),
                    (tally.unknown, 9),
                    (tally.wrong_faq, 11),
                    (tally.wrong_other, 8),
                )
            )
        )
    asked = result.overall.asked
    if asked:
        lines.append(
            f"when it asked, the right intent was among the choices {result.overall.asked_right}"
            f" of {asked} times"
        )
    if result.confusions:
        lines.append("")
        lines.append("misses (expected → read as, count, an example):")
        for (label, read_as), count in result.confusions.most_common(confusions):
            example = result.examples[label, read_as]
            lines.append(f"  {label} → {read_as}  ×{count}  {example[:70]!r}")
    return "\n".join(lines)
