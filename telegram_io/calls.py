"""The Bot API calls the outbox stores (SPEC §8): what to send, to whom, how urgently, with which
inline buttons."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any

from telegram_io.messages import (
    CAPTION_LIMIT,
    CAPTIONED,
    TEXT_LIMIT,
    fitting,
    split_text,
    telegram_length,
)


class Priority(IntEnum):
    """Lower goes first when the limits force a choice (SPEC §8)."""

    HANDOFF = -2  # an agent's offers notice (its claim deadline runs from the offer) and the
    # context of a chat they just won (its customer waits for them): a couple per handoff, so
    # they cannot crowd customers out, and held behind a burst of answers they would cost more
    CARD = -1  # a new card: the group takes one message every 3 s at most, so going first
    # costs customers almost nothing, and a burst of customers' messages cannot hold it back
    CUSTOMER = 0
    AGENT = 1
    GROUP = 2
    CARD_EDIT = 3


@dataclass(frozen=True)
class Call:
    """One Bot API call to make: `method` with `params` (JSON-able), aimed at `chat_id`."""

    chat_id: int
    method: str
    params: dict[str, Any]
    priority: Priority = Priority.CUSTOMER
    coalesce_key: str | None = None  # a newer call with the same key replaces a pending one
    conversation_id: int | None = None  # the conversation it belongs to (an agent may reply to it)


Buttons = list[list[tuple[str, str]]]  # rows of (label, callback_data)
# A file parameter the outbox uploads: {UPLOAD: path} (its file_id once Telegram has it).
UPLOAD = "frontdoor_upload"


def send_text(
    chat_id: int,
    text: str,
    buttons: Buttons | None = None,
    *,
    priority: Priority = Priority.CUSTOMER,
    conversation_id: int | None = None,
) -> Call:
    """A sendMessage call, with inline buttons if given (text cut to Telegram's 4096)."""
    params: dict[str, Any] = {"chat_id": chat_id, "text": text[: fitting(text, TEXT_LIMIT)]}
    if buttons:
        params["reply_markup"] = inline_keyboard(buttons)
    return Call(chat_id, "sendMessage", params, priority, conversation_id=conversation_id)


def send_long_text(
    chat_id: int,
    text: str,
    buttons: Buttons | None = None,
    limit: int = TEXT_LIMIT,
    *,
    priority: Priority = Priority.CUSTOMER,
    conversation_id: int | None = None,
) -> list[Call]:
    """sendMessage calls for a text of any length, cut between paragraphs (else lines, else
    anywhere) to Telegram's 4096; the buttons go on the last part, under the end of the text."""
    parts = split_text(text, limit)
    return [
        send_text(
            chat_id,
            part,
            buttons if i == len(parts) - 1 else None,
            priority=priority,
            conversation_id=conversation_id,
        )
        for i, part in enumerate(parts)
    ]


def pass_on(
    chat_id: int,
    from_chat_id: int,
    message_id: int,
    kind: str,
    text: str,
    *,
    header: str | None = None,
    priority: Priority = Priority.CUSTOMER,
    conversation_id: int | None = None,
    buttons: Buttons | None = None,
    recaptioned: bool = False,
) -> list[Call]:
    """The calls that pass a message (its `kind`, its text or caption `text`) from one person to
    another through the bot, within the limits Telegram sets bots, with `header` above it
    (`recaptioned`: `text` is not the media's own caption, so it is set anew).

    A text goes as one message with the header when both fit, else the header and then the text
    in parts. Media are copied; a caption longer than a bot may send (a Telegram Premium user's
    may be 4096 characters, a bot's 1024) keeps what fits and the rest follows as text, so
    nothing is cut off or refused. `buttons` go under the last message.
    """
    calls = _passing_on(
        chat_id,
        from_chat_id,
        message_id,
        kind,
        text,
        header,
        priority,
        conversation_id,
        recaptioned,
    )
    if buttons:
        last = calls[-1]
        calls[-1] = replace(last, params={**last.params, "reply_markup": inline_keyboard(buttons)})
    return calls


def _passing_on(
    chat_id: int,
    from_chat_id: int,
    message_id: int,
    kind: str,
    text: str,
    header: str | None,
    priority: Priority,
    conversation_id: int | None,
    recaptioned: bool = False,
) -> list[Call]:
    marked = {"priority": priority, "conversation_id": conversation_id}
    calls: list[Call] = []
    if kind == "text":
        whole = f"{header}\n{text}" if header else text
        if telegram_length(whole) <= TEXT_LIMIT:
            if header is None:  # a copy keeps the formatting
                return [copy_message(chat_id, from_chat_id, message_id, **marked)]
            return [send_text(chat_id, whole, **marked)]
        if header is not None:
            calls.append(send_text(chat_id, header, **marked))
        return calls + send_long_text(chat_id, text, **marked)
    if kind not in CAPTIONED:
        if header is not None:
            calls.append(send_text(chat_id, header, **marked))
        return [*calls, copy_message(chat_id, from_chat_id, message_id, **marked)]
    whole = f"{header}\n{text}" if header and text else (header or text)
    if telegram_length(whole) <= CAPTION_LIMIT:
        if header is None and not recaptioned:
            return [copy_message(chat_id, from_chat_id, message_id, **marked)]
        return [copy_message(chat_id, from_chat_id, message_id, whole, **marked)]
    if header is not None:
        calls.append(send_text(chat_id, header, **marked))
    caption, *rest = split_text(text, CAPTION_LIMIT)
    calls.append(copy_message(chat_id, from_chat_id, message_id, caption, **marked))
    if rest:
        calls += send_long_text(chat_id, "\n".join(rest), **marked)
    return calls


def send_with_files(
    chat_id: int,
    text: str,
    files: list[tuple[str, str | dict[str, str]]],
    *,
    priority: Priority = Priority.CUSTOMER,
    conversation_id: int | None = None,
) -> list[Call]:
    """A text with files (photo|document, file_id or `{UPLOAD: path}`): a single file carries
    the text as its caption when it fits (1024); else the files go first, then the text."""
    captioned = len(files) == 1 and telegram_length(text) <= CAPTION_LIMIT
    calls = []
    for kind, source in files:
        params: dict[str, Any] = {"chat_id": chat_id, kind: source}
        if captioned:
            params["caption"] = text
        method = "sendPhoto" if kind == "photo" else "sendDocument"
        calls.append(Call(chat_id, method, params, priority, conversation_id=conversation_id))
    if captioned or not text:
        return calls
    return calls + send_long_text(chat_id, text, priority=priority, conversation_id=conversation_id)


def replace_keyboard(chat_id: int, message_id: int, buttons: Buttons) -> Call:
    """An editMessageReplyMarkup call: the message's keyboard becomes `buttons` (none if empty)."""
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "message_id": message_id,
        "reply_markup": inline_keyboard(buttons),
    }
    return Call(chat_id, "editMessageReplyMarkup", params)


def inline_keyboard(buttons: Buttons) -> dict[str, Any]:
    """The Bot API's InlineKeyboardMarkup for rows of (label, callback_data)."""
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in buttons
        ]
    }


def copy_message(
    chat_id: int,
    from_chat_id: int,
    message_id: int,
    caption: str | None = None,
    *,
    priority: Priority = Priority.CUSTOMER,
    conversation_id: int | None = None,
) -> Call:
    """A copyMessage call (SPEC §3.6: neither side sees the other's account), caption cut to 1024."""
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "from_chat_id": from_chat_id,
        "message_id": message_id,
    }
    if caption is not None:
        params["caption"] = caption[: fitting(caption, CAPTION_LIMIT)]
    return Call(chat_id, "copyMessage", params, priority, conversation_id=conversation_id)
