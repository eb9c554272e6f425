"""answerInlineQuery: the bot's results for a user's `@bot words` query, checked as Telegram does.

The Bot API server words what it cannot parse ("can't parse inline query result: Can't find field
\"title\""); Telegram itself answers in MTProto error codes (RESULT_ID_DUPLICATE, MESSAGE_EMPTY …).
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.errors import ApiError, bad_request
from sandbox.formatting import formatted
from sandbox.inline import OFFSET_LIMIT, InlineAnswer
from sandbox.methods.common import Call, inline_markup
from sandbox.state import World

MAX_RESULTS = 50  # answerInlineQuery: "No more than 50 results per query are allowed."
RESULT_ID_LIMIT = 64  # InlineQueryResult.id: "1-64 bytes"
MAX_CACHE_TIME = 86400  # the Bot API server clamps cache_time to 0..24 h
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
# The types the Bot API server knows; the sandbox posts article, photo and document results,
# and any result that brings its own input_message_content.
RESULT_TYPES = frozenset({
    "article", "audio", "contact", "document", "game", "gif", "location", "mpeg4_gif", "photo",
    "sticker", "venue", "video", "voice",
})  # fmt: skip
CACHED_FILES = {
    "photo": ("photo_file_id", "photo_url"),
    "document": ("document_file_id", "document_url"),
}
# sendMessage's rules (sandbox/formatting.py) word these as the Bot API does for sendMessage;
# in an inline answer Telegram reports them by their MTProto codes.
INLINE_WORDING = {
    "Bad Request: message text is empty": "MESSAGE_EMPTY",
    "Bad Request: message is too long": "MESSAGE_TOO_LONG",
    "Bad Request: message caption is too long": "MEDIA_CAPTION_TOO_LONG",
}
# What InputLocation/Venue/Contact/InvoiceMessageContent carry; the sandbox does not post them.
OTHER_CONTENT = frozenset({"latitude", "phone_number", "payload"})
START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def answer_inline_query(call: Call, p: dict[str, Any]) -> bool:
    """answerInlineQuery: once per query, within Telegram's time; at most 50 results."""
    world = call.world
    button = _button(p.get("button"))
    results = p["results"]
    if len(results) > MAX_RESULTS:
        raise bad_request("too many inline query results specified")
    record = world.inline_queries.get(p["inline_query_id"])
    if record is None or not record.answerable(world.clock()):
        raise bad_request(QUERY_INVALID)
    contents: dict[str, dict[str, Any] | None] = {}
    for result in results:
        result_id, content = _result(world, result)
        if result_id in contents:
            raise bad_request("RESULT_ID_DUPLICATE")
        contents[result_id] = content
    next_offset = p.get("next_offset", "")
    if len(next_offset.encode()) > OFFSET_LIMIT:
        raise bad_request("NEXT_OFFSET_INVALID")
    cache_time = min(max(p.get("cache_time", 300), 0), MAX_CACHE_TIME)
    record.answer = InlineAnswer(
        results, contents, cache_time, p.get("is_personal", False), next_offset, button
    )
    world.emit("inline_answered", inline_query_id=record.id, **record.answer.as_dict())
    return True


def _cannot_parse(what: str) -> ApiError:
    return bad_request(f"can't parse inline query result: {what}")


def _string(result: dict[str, Any], name: str, required: bool = True) -> str | None:
    """A string field of a result, worded as the Bot API server words a missing one."""
    value = result.get(name)
    if value is None:
        if required:
            raise _cannot_parse(f'Can\'t find field "{name}"')
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # the server takes a JSON number as its text
    if not isinstance(value, str):
        raise _cannot_parse(f'Field "{name}" must be of type String')
    return value


def _result(world: World, result: Any) -> tuple[str, dict[str, Any] | None]:
    """One result's id and the message choosing it posts (None: the sandbox cannot build it)."""
    if not isinstance(result, dict):
        raise _cannot_parse("Inline query result must be an object")
    kind = (_string(result, "type") or "").lower()
    result_id = _string(result, "id") or ""
    if kind not in RESULT_TYPES:
        raise _cannot_parse(f'type "{kind}" is unsupported for the inline query result')
    result["type"] = kind
    if not 1 <= len(result_id.encode()) <= RESULT_ID_LIMIT:
        raise bad_request("RESULT_ID_INVALID")
    content = _input_content(result, required=kind == "article")
    if kind in ("article", "document"):
        _string(result, "title")
    other = OTHER_CONTENT & (result.get("input_message_content") or {}).keys()
    if content is None and kind in CACHED_FILES and not other:
        content = _cached_file(world, result, kind)
    markup = result.get("reply_markup")
    if markup is not None:
        if not isinstance(markup, dict):
            raise _cannot_parse('Field "reply_markup" must be of type Object')
        keyboard = inline_markup(markup)
        if keyboard is None:  # a reply keyboard: a message sent in inline mode takes none
            raise bad_request("REPLY_MARKUP_INVALID")
        if content is not None:
            content["reply_markup"] = keyboard
    return result_id, content


def _input_content(result: dict[str, Any], required: bool) -> dict[str, Any] | None:
    """The text an InputTextMessageContent sends; None for none, or for content the sandbox does
    not post (a location, venue, contact or invoice)."""
    given = result.get("input_message_content")
    if given is None:
        if required:  # an article without it: the server then looks for the old top-level field
            raise _cannot_parse('Can\'t find field "message_text"')
        return None
    if not isinstance(given, dict):
        raise _cannot_parse('Field "input_message_content" must be of type Object')
    text = _string(given, "message_text", required=False)
    if not text:  # "" counts as absent, as on the Bot API server
        if required and not OTHER_CONTENT & given.keys():
            raise _cannot_parse("Input message content is not specified")
        return None
    return _inline_wording(text, given.get("parse_mode"), given.get("entities"), caption=False)


def _cached_file(world: World, result: dict[str, Any], kind: str) -> dict[str, Any]:
    """A photo or document by file_id, with its caption (the sandbox fetches no URLs)."""
    id_field, url_field = CACHED_FILES[kind]
    if result.get(id_field) is None and result.get(url_field) is not None:
        raise bad_request("failed to get HTTP URL content")
    stored = world.files.get(_string(result, id_field) or "")
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request("RESULT_TYPE_INVALID")
    content = stored.as_content(kind)
    caption = _string(result, "caption", required=False)
    if caption:
        parse_mode, entities = result.get("parse_mode"), result.get("caption_entities")
        content.update(_inline_wording(caption, parse_mode, entities, caption=True))
    return content


def _inline_wording(text: str, parse_mode: Any, entities: Any, *, caption: bool) -> dict[str, Any]:
    """Text and entities after sendMessage's rules, refused in an inline answer's words."""
    try:
        return formatted(text, parse_mode, entities, caption=caption)
    except ApiError as error:
        wording = INLINE_WORDING.get(error.description)
        if wording is None:
            raise
        raise bad_request(wording) from None


def _button(button: dict[str, Any] | None) -> dict[str, Any] | None:
    """InlineQueryResultsButton: a label and exactly one of start_parameter and web_app."""
    if button is None:
        return None

    def cannot_parse(what: str) -> ApiError:
        return bad_request(f"can't parse inline query results button: {what}")

    if not isinstance(button.get("text"), str):
        raise cannot_parse('Can\'t find field "text"')
    if "start_parameter" in button:
        if not START_PARAMETER.fullmatch(str(button["start_parameter"])):
            raise bad_request("START_PARAM_INVALID")
    elif not isinstance(button.get("web_app"), dict) or not button["web_app"].get("url"):
        raise cannot_parse("InlineQueryResultsButton must have exactly one optional field")
    return button


HANDLERS = {
    "answerInlineQuery": answer_inline_query,
}
