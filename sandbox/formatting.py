"""Message text rules: length limits in UTF-16 units, and HTML parse_mode turned into entities.

Telegram counts text length after entity parsing, in UTF-16 code units (sendMessage: "1-4096
characters after entities parsing"); MessageEntity offsets and lengths use the same units.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from sandbox.errors import bad_request

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PREMIUM_CAPTION_LIMIT = 4096  # what a Telegram Premium user may write; a bot never
_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "code": "code", "pre": "pre", "a": "text_link", "tg-spoiler": "spoiler",
    "blockquote": "blockquote", "span": "spoiler",
}  # fmt: skip


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    if text.isascii():  # the common case: one unit per character, no copy needed
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def formatted(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None, caption: bool
) -> dict[str, Any]:
    """`{"text"|"caption": ..., "entities"|"caption_entities": [...]}` after parsing and limits."""
    if parse_mode:
        mode = parse_mode.lower()
        if mode == "html":
            text, entities = parse_html(text)
        elif mode == "markdownv2":
            text = _unescape_markdown(text)
        elif mode != "markdown":
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    key, entity_key = ("caption", "caption_entities") if caption else ("text", "entities")
    if not text.strip() and not caption:
        raise bad_request("message text is empty")
    if utf16_len(text) > (CAPTION_LIMIT if caption else TEXT_LIMIT):
        raise bad_request("message caption is too long" if caption else "message is too long")
    content: dict[str, Any] = {key: text}
    if entities:
        content[entity_key] = entities
    return content


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities from Telegram-style HTML, or 400 "can't parse entities"."""
    parser = _EntityParser()
    parser.feed(text)
    parser.close()
    if parser.error or parser.open_tags:
        tag = parser.error or parser.open_tags[-1][0]
        raise bad_request(f"can't parse entities: can't find end tag corresponding to <{tag}>")
    return "".join(parser.parts), sorted(parser.entities, key=lambda e: e["offset"])


def _unescape_markdown(text: str) -> str:
    """MarkdownV2 without its backslash escapes (formatting marks are kept as typed)."""
    out, escaped = [], False
    for char in text:
        if char == "\\" and not escaped:
            escaped = True
            continue
        out.append(char)
        escaped = False
    return "".join(out)


class _EntityParser(HTMLParser):
    """Collects text and MessageEntity spans while walking the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.text_offset = 0
        self.entities: list[dict[str, Any]] = []
        self.open_tags: list[tuple[str, int, dict[str, str | None]]] = []
        self.error = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            self.error = self.error or tag
            return
        self.open_tags.append((tag, self.text_offset, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags[-1][0] != tag:
            self.error = self.error or tag
            return
        _, start, attrs = self.open_tags.pop()
        if self.text_offset > start:
            entity: dict[str, Any] = {
                "type": _HTML_TAGS[tag],
                "offset": start,
                "length": self.text_offset - start,
            }
            if tag == "a":
                entity["url"] = attrs.get("href") or ""
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.text_offset += utf16_len(data)
