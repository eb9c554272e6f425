"""The answers suggested to an agent for what a customer wrote (SPEC §5): the FAQ answers of
the intents it likely means and the canned replies whose keywords it matches, best first."""

from __future__ import annotations

from collections.abc import Collection

from bot.intents import KeywordMatcher
from bot.understanding import Reader
from handoff.canned import faq_ref, reply_ref, sendable
from handoff.config import Config

MAX_SUGGESTIONS = 3


class Suggester:
    """Built with the config's reader (intents) and the keywords of its canned replies."""

    def __init__(self, config: Config, reader: Reader) -> None:
        self.config = config
        self.reader = reader
        self.replies = KeywordMatcher(
            {
                key: [word for words in reply.keywords.values() for word in words]
                for key, reply in config.replies.items()
            }
        )

    def suggest(
        self, text: str, sent: Collection[str] = (), *, understood: str | None = None
    ) -> list[str]:
        """Up to three refs (`handoff.canned`) for `text`, none of those `sent` already: the
        likeliest intent's answer, then the best-matching reply, then the others by score.
        `understood`: the intent the bot already read in `text` (its FAQ answer was given), so
        only the replies' keywords are matched."""
        if not text.strip():
            return []
        if understood is not None:
            faqs = [faq_ref(understood)]
        else:
            at = self.config.bot.understanding.ask_at
            faqs = [faq_ref(intent) for intent, share in self.reader.scores(text) if share >= at]
        matched = sorted(self.replies.scores(text).items(), key=lambda item: -item[1])
        replies = [reply_ref(key) for key, _ in matched]
        ordered = faqs[:1] + replies[:1] + faqs[1:] + replies[1:]
        return sendable(self.config, ordered, sent)[:MAX_SUGGESTIONS]
