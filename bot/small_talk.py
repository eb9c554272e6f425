"""Greetings, thanks, acknowledgements and goodbyes (SPEC §3.3): recognised from the config's
phrases, answered briefly by the bot, never "not understood" and never a reason for a handoff.

A message is small talk when, once normalised, nothing is left of it but small-talk phrases and
polite filler ("makasih ya kak", "ok sip", "selamat pagi min", "bye"), or nothing at all (an
emoji, a sticker). "halo, internet mati" is a greeting *and* a question: not small talk. Pure.
"""

from __future__ import annotations

import re
from enum import StrEnum

from bot.normalise import normalise
from handoff.config import SmallTalkPhrases


class Kind(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    ACK = "ack"  # ok, sip, siap, an emoji or a sticker


# When a message holds phrases of several kinds ("ok makasih, bye"), the one answered.
PRECEDENCE = (Kind.GOODBYE, Kind.THANKS, Kind.GREETING, Kind.ACK)


class SmallTalk:
    """Recognises small talk by the config's phrases (every language at once)."""

    def __init__(self, phrases: SmallTalkPhrases) -> None:
        self.filler = frozenset(word for text in phrases.filler for word in _words(text))
        self.phrases: dict[Kind, list[tuple[str, ...]]] = {
            kind: [words for text in getattr(phrases, kind.value) if (words := _words(text))]
            for kind in Kind
        }

    def kind(self, text: str) -> Kind | None:
        """The kind of small talk `text` is, None if it says anything more."""
        normal = _words(text)
        if not normal:
            return Kind.ACK  # an emoji, a sticker, punctuation
        words = [word for word in normal if word not in self.filler]
        if not words:
            return Kind.GREETING  # "kak?", "min": someone calling
        found: set[Kind] = set()
        position = 0
        while position < len(words):
            match = self._phrase_at(words, position)
            if match is None:
                return None
            kind, length = match
            found.add(kind)
            position += length
        return next(kind for kind in PRECEDENCE if kind in found)

    def _phrase_at(self, words: list[str], position: int) -> tuple[Kind, int] | None:
        """The longest phrase starting at `position`, and its kind."""
        best: tuple[Kind, int] | None = None
        for kind, phrases in self.phrases.items():
            for phrase in phrases:
                if tuple(words[position : position + len(phrase)]) == phrase and (
                    best is None or len(phrase) > best[1]
                ):
                    best = (kind, len(phrase))
        return best


def _words(text: str) -> tuple[str, ...]:
    """Normalised words with doubled letters made single: `haloo`, `hallo` and `halo` alike."""
    return tuple(_DOUBLED.sub(r"\1", word) for word in normalise(text).split())


_DOUBLED = re.compile(r"(\w)\1+")
