"""Canned replies and suggested answers (SPEC §5): what an agent can send with `!key` or one press,
always in the customer's language. Pure: no Telegram, no I/O.

A *ref* names one sendable answer: `r:<key>` a canned reply of the config's `replies`, `f:<intent>`
an intent's FAQ answer, `p:<key>` one of the agent's own snippets (`own`: key → text, saved with
`/save`; a team's reply of the same key comes first). The transcript keeps the refs an agent's
message sent, so a suggestion is not offered again in the same chat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from handoff.config import REPLY_VARIABLES, CannedReply, Config, Intent
from handoff.trimming import trimmed

# `!key` at the start, after a space, a slash or an opening bracket or quote, up to what is not a
# letter, digit, _ or -: "!bayar," and "(!halo)" too. Any such word is a key, so one the config
# lacks (mistyped, too long, with accents) is refused rather than sent as it is.
MARKER = re.compile(r"(?<![^\s(\[{/\"'“‘«])!([\w-]+)")
NEAREST = 3  # keys named when a key is unknown
NEAREST_AT = 60  # rapidfuzz ratio a key needs to be named as "did you mean"
FOUND_AT = 70  # rapidfuzz score a reply needs to be listed by `/replies words`
VARIABLE = re.compile(r"\{(" + "|".join(REPLY_VARIABLES) + r")\}")
SNIPPET_TITLE = 40  # characters of a snippet's text that stand for its title

Snippets = Mapping[str, str]  # an agent's own replies: key → text
NONE: Snippets = {}


def reply_ref(key: str) -> str:
    return f"r:{key}"


def snippet_ref(key: str) -> str:
    return f"p:{key}"


def ref_of_key(config: Config, key: str, own: Snippets = NONE) -> str | None:
    """What `!key` sends: the team's reply of that key, else the agent's own snippet."""
    if key in config.replies:
        return reply_ref(key)
    return snippet_ref(key) if key in own else None


def faq_ref(intent: str) -> str:
    return f"f:{intent}"


@dataclass(frozen=True)
class Expanded:
    """An agent's message with its `!keys` filled in, or the keys the config does not have."""

    text: str
    refs: tuple[str, ...] = ()  # what it sends, in order, each once
    unknown: tuple[str, ...] = ()  # keys no reply has: then nothing is to be sent
    files: tuple[tuple[str, str], ...] = ()  # (photo|document, path) its replies send along

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


def as_template(text: str) -> str:
    """An agent's snippet as a reply's template: its `{customer}`, `{agent}`, `{team}` and `{id}`
    are variables; any other brace is the agent's own, doubled to stay as it is."""
    parts = VARIABLE.split(text)  # text, name, text, name, …, text
    return "".join(
        f"{{{part}}}" if i % 2 else part.replace("{", "{{").replace("}", "}}")
        for i, part in enumerate(parts)
    )


def _snippet(config: Config, ref: str, own: Snippets) -> str | None:
    kind, _, key = ref.partition(":")
    if kind != "p" or key in config.replies:  # the team's reply of that key comes first
        return None
    return own.get(key)


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


def written(
    config: Config, ref: str, language: str, own: Snippets = NONE, default: str | None = None
) -> str | None:
    """What `ref` holds as written (its variables not filled in), in `language`, else `default`
    (the customers' default language), else any; None when there is no such answer."""
    default = default or config.bot.default_language
    if (snippet := _snippet(config, ref, own)) is not None:
        return snippet
    if (reply := _reply(config, ref)) is not None:
        return in_language(reply.text, language, default)
    if (faq := _faq(config, ref)) is not None:
        return in_language(faq[1].answer or {}, language, default)
    return None


def text_of(
    config: Config, ref: str, language: str, values: Mapping[str, object], own: Snippets = NONE
) -> str | None:
    """What `ref` sends to a customer speaking `language`; None when the config has no such
    reply, the intent no FAQ answer (a reload may have taken it away), or the agent no such
    snippet."""
    found = written(config, ref, language, own)
    if found is None:
        return None
    kind = ref.partition(":")[0]
    if kind == "f":  # a FAQ answer is sent as written
        return found.strip() or None
    if kind == "r":
        return fill(found, values).strip()
    return fill(as_template(found), values).strip() or None


def title_of(config: Config, ref: str, language: str, own: Snippets = NONE) -> str | None:
    """What an agent sees for `ref` in lists and on buttons, in the agent's language (a
    snippet's first words)."""
    if (snippet := _snippet(config, ref, own)) is not None:
        return snippet_title(snippet)
    if (reply := _reply(config, ref)) is not None:
        return in_language(reply.title, language, config.bot.agents_language)
    if (faq := _faq(config, ref)) is not None:
        name, intent = faq
        return intent.name_in(language, name)
    return None


def file_of(config: Config, ref: str) -> tuple[str, str] | None:
    """(photo|document, path) of the file a reply sends along, if any."""
    reply = _reply(config, ref)
    return reply.attachment if reply is not None else None


def snippet_title(text: str) -> str:
    """What stands for a snippet's title: its first words."""
    return trimmed(text, SNIPPET_TITLE)


def exists(config: Config, ref: str, own: Snippets = NONE) -> bool:
    """Whether `ref` names a reply of the config, an intent with a FAQ answer, or a snippet."""
    return (
        _reply(config, ref) is not None
        or _faq(config, ref) is not None
        or _snippet(config, ref, own) is not None
    )


def sendable(
    config: Config, refs: Iterable[str], sent: Iterable[str] = (), own: Snippets = NONE
) -> list[str]:
    """The refs that still name something to send and were not sent before, each once."""
    done = set(sent)
    kept: list[str] = []
    for ref in refs:
        if ref not in done and ref not in kept and exists(config, ref, own):
            kept.append(ref)
    return kept


def expand(
    config: Config,
    text: str,
    language: str,
    values: Mapping[str, object],
    own: Snippets = NONE,
) -> Expanded:
    """Fill the `!keys` of an agent's message in the customer's language (their own snippets as
    written). A line made only of keys becomes their replies, a paragraph each; a key among
    other words is replaced where it stands. Keys are matched without regard to case."""
    keys = [key.lower() for key in MARKER.findall(text)]
    refs_of = {key: ref_of_key(config, key, own) for key in keys}
    unknown = tuple(key for key, ref in refs_of.items() if ref is None)
    if not keys or unknown:
        return Expanded(text, unknown=unknown)

    def reply(key: str) -> str:
        filled = text_of(config, refs_of[key.lower()] or "", language, values, own)
        assert filled is not None
        return filled

    lines = []
    for line in text.split("\n"):
        if MARKER.search(line) and not MARKER.sub("", line).strip():
            lines.append("\n\n".join(reply(key) for key in MARKER.findall(line)))
        else:
            lines.append(MARKER.sub(lambda match: reply(match.group(1)), line))
    refs = tuple(dict.fromkeys(refs_of[key] or "" for key in keys))
    files = tuple(file for ref in refs if (file := file_of(config, ref)) is not None)
    return Expanded("\n".join(lines).strip(), refs, files=files)


def nearest_keys(config: Config, key: str, own: Snippets = NONE) -> list[str]:
    """The keys (the team's replies and the agent's snippets) most like a mistyped `key`,
    closest first."""
    found = process.extract(
        key.lower(),
        list(dict.fromkeys([*config.replies, *own])),
        scorer=fuzz.ratio,
        limit=NEAREST,
        score_cutoff=NEAREST_AT,
    )
    return [name for name, _, _ in found]


def search(config: Config, words: str, own: Snippets = NONE) -> list[str]:
    """The refs of the agent's snippets and the team's replies that match `words` (key, titles,
    keywords or text, either language, typos forgiven), best first, the agent's own first among
    equals; every one when `words` is empty."""
    library = [(snippet_ref(key), [key, text]) for key, text in own.items()]
    library = [(ref, fields) for ref, fields in library if exists(config, ref, own)]
    for key, reply in config.replies.items():
        fields = [key, *reply.title.values(), *reply.text.values()]
        fields += [keyword for keywords in reply.keywords.values() for keyword in keywords]
        library.append((reply_ref(key), fields))
    query = utils.default_process(words)
    if not query:
        return [ref for ref, _ in library]
    scored = []
    for order, (ref, fields) in enumerate(library):
        score = max(
            fuzz.partial_ratio(query, field, processor=utils.default_process)
            if len(field) > len(query)
            else fuzz.ratio(query, field, processor=utils.default_process)
            for field in fields
        )
        if score >= FOUND_AT:
            scored.append((-score, order, ref))
    return [ref for _, _, ref in sorted(scored)]


def key_of(ref: str) -> str:
    """What an agent types after `!` for a reply or snippet ref."""
    return ref.partition(":")[2]
