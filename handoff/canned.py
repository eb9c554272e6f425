"""Canned replies and suggested answers (SPEC §5): what an agent can send with `!key` or one press,
always in the customer's language. Pure: no Telegram, no I/O.

A *ref* names one sendable answer: `r:<key>` a canned reply of the config's `replies`, `f:<intent>`
an intent's FAQ answer. The transcript keeps the refs an agent's message sent, so a suggestion is
not offered again in the same chat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from handoff.config import CannedReply, Config, Intent

# `!key` at the start, after a space, a slash or an opening bracket or quote, up to what is not a
# letter, digit, _ or -: "!bayar," and "(!halo)" too. Any such word is a key, so one the config
# lacks (mistyped, too long, with accents) is refused rather than sent as it is.
MARKER = re.compile(r"(?<![^\s(\[{/\"'“‘«])!([\w-]+)")
NEAREST = 3  # keys named when a key is unknown
NEAREST_AT = 60  # rapidfuzz ratio a key needs to be named as "did you mean"
FOUND_AT = 70  # rapidfuzz score a reply needs to be listed by `/replies words`


def reply_ref(key: str) -> str:
    return f"r:{key}"


def faq_ref(intent: str) -> str:
    return f"f:{intent}"


@dataclass(frozen=True)
class Expanded:
    """An agent's message with its `!keys` filled in, or the keys the config does not have."""

    text: str
    refs: tuple[str, ...] = ()  # what it sends, in order, each once
    unknown: tuple[str, ...] = ()  # keys no reply has: then nothing is to be sent

    @property
    def canned(self) -> bool:
        return bool(self.refs)


def in_language(texts: Mapping[str, str], language: str, default: str) -> str:
    """The text in `language`, else the default language's, else any."""
    return texts.get(language) or texts.get(default) or next(iter(texts.values()))


def fill(template: str, values: Mapping[str, object]) -> str:
    """A reply's text with `{customer}`, `{agent}`, `{team}`, `{id}` filled in (the config
    allows no other names)."""
    return template.format_map({name: str(value) for name, value in values.items()})


def _reply(config: Config, ref: str) -> CannedReply | None:
    kind, _, key = ref.partition(":")
    return config.replies.get(key) if kind == "r" else None


def _faq(config: Config, ref: str) -> tuple[str, Intent] | None:
    """The intent `ref` names, if it has a FAQ answer that is not blank."""
    kind, _, name = ref.partition(":")
    intent = config.intents.get(name) if kind == "f" else None
    if intent is None or not any(text.strip() for text in (intent.answer or {}).values()):
        return None
    return name, intent


def text_of(config: Config, ref: str, language: str, values: Mapping[str, object]) -> str | None:
    """What `ref` sends to a customer speaking `language`; None when the config has no such
    reply, or the intent no FAQ answer (a reload may have taken it away)."""
    default = config.bot.default_language
    if (reply := _reply(config, ref)) is not None:
        return fill(in_language(reply.text, language, default), values).strip()
    if (faq := _faq(config, ref)) is not None:
        return in_language(faq[1].answer or {}, language, default).strip() or None
    return None


def title_of(config: Config, ref: str, language: str) -> str | None:
    """What an agent sees for `ref` in lists and on buttons, in the agent's language."""
    if (reply := _reply(config, ref)) is not None:
        return in_language(reply.title, language, config.bot.agents_language)
    if (faq := _faq(config, ref)) is not None:
        name, intent = faq
        return intent.name_in(language, name)
    return None


def exists(config: Config, ref: str) -> bool:
    """Whether `ref` names a reply of the config, or an intent with a FAQ answer."""
    return _reply(config, ref) is not None or _faq(config, ref) is not None


def sendable(config: Config, refs: Iterable[str], sent: Iterable[str] = ()) -> list[str]:
    """The refs that still name something to send and were not sent before, each once."""
    done = set(sent)
    kept: list[str] = []
    for ref in refs:
        if ref not in done and ref not in kept and exists(config, ref):
            kept.append(ref)
    return kept


def expand(config: Config, text: str, language: str, values: Mapping[str, object]) -> Expanded:
    """Fill the `!keys` of an agent's message in the customer's language. A line made only of
    keys becomes their replies, a paragraph each; a key among other words is replaced where it
    stands. Keys are matched without regard to case."""
    keys = [key.lower() for key in MARKER.findall(text)]
    unknown = tuple(dict.fromkeys(key for key in keys if key not in config.replies))
    if not keys or unknown:
        return Expanded(text, unknown=unknown)

    def reply(key: str) -> str:
        filled = text_of(config, reply_ref(key.lower()), language, values)
        assert filled is not None
        return filled

    lines = []
    for line in text.split("\n"):
        if MARKER.search(line) and not MARKER.sub("", line).strip():
            lines.append("\n\n".join(reply(key) for key in MARKER.findall(line)))
        else:
            lines.append(MARKER.sub(lambda match: reply(match.group(1)), line))
    refs = tuple(dict.fromkeys(reply_ref(key) for key in keys))
    return Expanded("\n".join(lines).strip(), refs)


def nearest_keys(config: Config, key: str) -> list[str]:
    """The replies' keys most like a mistyped `key`, closest first."""
    found = process.extract(
        key.lower(), list(config.replies), scorer=fuzz.ratio, limit=NEAREST, score_cutoff=NEAREST_AT
    )
    return [name for name, _, _ in found]


def search(config: Config, words: str) -> list[str]:
    """The keys of the replies that match `words` (key, titles, keywords or text, either
    language, typos forgiven), best first; every key when `words` is empty."""
    query = utils.default_process(words)
    if not query:
        return list(config.replies)
    scored = []
    for key, reply in config.replies.items():
        fields = [key, *reply.title.values(), *reply.text.values()]
        fields += [keyword for keywords in reply.keywords.values() for keyword in keywords]
        score = max(
            fuzz.partial_ratio(query, field, processor=utils.default_process)
            if len(field) > len(query)
            else fuzz.ratio(query, field, processor=utils.default_process)
            for field in fields
        )
        if score >= FOUND_AT:
            scored.append((-score, key))
    return [key for _, key in sorted(scored)]
