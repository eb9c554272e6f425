"""What a Telegram message is, as both sides relay it: its kind, and Telegram's length limits."""

from __future__ import annotations

from telegram import Message

RELAYED_KINDS = ("text", "photo", "document", "voice", "sticker", "location")
CAPTIONED = ("photo", "document", "voice")
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024  # Telegram's, in characters (sendMessage, captions)


def message_kind(message: Message) -> str:
    """Which of the relayed kinds a message is, or `other`."""
    for kind in RELAYED_KINDS:
        if getattr(message, kind, None):
            return kind
    return "other"
