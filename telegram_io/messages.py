"""What a Telegram message is, as both sides relay it: its kind, and Telegram's length limits."""

from __future__ import annotations

from telegram import Message

RELAYED_KINDS = ("text", "photo", "document", "voice", "sticker", "location")
CAPTIONED = ("photo", "document", "voice")
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024  # Telegram's, in UTF-16 units (sendMessage, captions)


def telegram_length(text: str) -> int:
    """A text's length as Telegram counts it against its limits: in UTF-16 code units (an emoji
    outside the Basic Multilingual Plane counts two). The sandbox counts on its own, as Telegram
    would: it shares no code with the product."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def fitting(text: str, limit: int) -> int:
    """How many characters from the start of `text` fit in `limit` UTF-16 units."""
    if telegram_length(text) <= limit:
        return len(text)
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` UTF-16 units, cut between paragraphs (else lines, else
    anywhere)."""
    parts: list[str] = []
    rest = text
    while telegram_length(rest) > limit:
        room = fitting(rest, limit)
        cut = max(rest.rfind("\n\n", 0, room), rest.rfind("\n", 0, room))
        cut = cut if cut > room // 2 else room
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    parts.append(rest)
    return parts


def message_kind(message: Message) -> str:
    """Which of the relayed kinds a message is, or `other`."""
    for kind in RELAYED_KINDS:
        if getattr(message, kind, None):
            return kind
    return "other"
