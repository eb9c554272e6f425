"""Turn raw request parameters (JSON, form or multipart) into typed values by the method table.

Telegram accepts every parameter as JSON, as a form field or as a multipart part; in the last two
everything arrives as a string, objects such as `reply_markup` as JSON-serialised strings, so each
value is coerced by its declared type. Unknown parameters are ignored, as Telegram ignores them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.errors import CHAT_NOT_FOUND, bad_request
from sandbox.method_params import METHOD_PARAMS


@dataclass(frozen=True, slots=True)
class Upload:
    """A file sent as a multipart part (Bot API `InputFile`)."""

    data: bytes
    filename: str
    content_type: str


# Telegram's own wording for a missing required parameter, where it has one.
MISSING_WORDING = {
    "chat_id": "chat_id is empty",
    "text": "message text is empty",
    "message_id": "message identifier is not specified",
    "from_chat_id": "from_chat_id is empty",
    "callback_query_id": "query is too old and response timeout expired or query ID is invalid",
    "inline_query_id": "query is too old and response timeout expired or query ID is invalid",
    "photo": "there is no photo in the request",
    "document": "there is no document in the request",
    "voice": "there is no voice in the request",
    "sticker": "there is no sticker in the request",
    "action": "wrong parameter action in request",
    "file_id": "invalid file_id",
    "url": "bad webhook: An HTTPS URL must be provided for webhook",
    "user_id": "invalid user_id specified",
    "latitude": "wrong latitude specified",
    "longitude": "wrong longitude specified",
}
UNPARSABLE_WORDING = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
    "allowed_updates": "can't parse allowed updates JSON array",
    "commands": "can't parse commands JSON object",
    "results": "can't parse JSON encoded inline query results",
    "button": "can't parse inline query results button JSON object",
}
_INTEGER = re.compile(r"-?\d+")
_TRUE = frozenset({"true", "1", "True"})
_FALSE = frozenset({"false", "0", "False"})
_LOWER_NAMES = {name.lower(): name for name in METHOD_PARAMS}


def canonical_method(name: str) -> str | None:
    """The method's spelling in the table; Telegram matches method names case-insensitively."""
    return _LOWER_NAMES.get(name.lower())


def coerce_params(method: str, raw: Mapping[str, Any], uploads: Mapping[str, Upload]) -> dict:
    """Typed parameters of `method`, or a 400 naming the first missing or malformed one."""
    out: dict[str, Any] = {}
    for name, required, coerce in _COERCERS[method]:
        value = raw.get(name)
        if value is None and uploads and name in uploads:
            value = uploads[name]
        if value is None or value == "":
            if required:
                raise bad_request(MISSING_WORDING.get(name, f'parameter "{name}" is required'))
            continue
        out[name] = coerce(name, value, uploads)
    return out


Coercer = Callable[[str, Any, Mapping[str, Upload]], Any]


def _coercer(types: tuple[str, ...]) -> Coercer:
    """The converter for a parameter declared with these types (the first one it fits wins)."""
    kind = types[0]
    if types == ("Integer", "String"):
        return lambda name, value, uploads: _chat_id(value)
    if kind == "Integer":
        return lambda name, value, uploads: _integer(name, value)
    if kind == "Float":
        return lambda name, value, uploads: _float(name, value)
    if kind == "Boolean":
        return lambda name, value, uploads: _boolean(name, value)
    if kind == "String":
        return lambda name, value, uploads: _string(name, value)
    if kind == "InputFile":
        return lambda name, value, uploads: _input_file(value, uploads)
    return lambda name, value, uploads: _json_value(name, kind, value)


# Each method's parameters with their converters, decided once instead of on every call.
_COERCERS: dict[str, tuple[tuple[str, bool, Coercer], ...]] = {
    method: tuple((name, required, _coercer(types)) for name, (types, required) in table.items())
    for method, table in METHOD_PARAMS.items()
}


def _string(name: str, value: Any) -> str:
    """A String parameter; a JSON number is taken as its decimal text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise bad_request(f"invalid {name} specified")


def _chat_id(value: Any) -> int | str:
    """An integer chat id, or an `@username` string; anything else names no chat."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if _INTEGER.fullmatch(value):
            return int(value)
        if value.startswith("@") and len(value) > 1:
            return value
    raise bad_request(CHAT_NOT_FOUND)


def _integer(name: str, value: Any) -> int:
    """An Integer parameter from a JSON number or a decimal string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise bad_request(f"invalid {name} specified")


def _float(name: str, value: Any) -> float:
    """A Float parameter from a JSON number or a numeric string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise bad_request(f"invalid {name} specified")


def _boolean(name: str, value: Any) -> bool:
    """A Boolean parameter from JSON true/false or the strings form posts carry."""
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value in _TRUE:
        return True
    if isinstance(value, str) and value in _FALSE:
        return False
    raise bad_request(f"invalid {name} specified")


def _input_file(value: Any, uploads: Mapping[str, Upload]) -> Upload | str:
    """An upload, an `attach://<part>` reference to one, or a file_id string resolved later."""
    if isinstance(value, Upload):
        return value
    if isinstance(value, str):
        if value.startswith("attach://"):
            part = uploads.get(value.removeprefix("attach://"))
            if part is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            return part
        return value
    raise bad_request("wrong file identifier/HTTP URL specified")


def _json_value(name: str, kind: str, value: Any) -> Any:
    """An object or array parameter, given as JSON or as a JSON-serialised string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise bad_request(
                UNPARSABLE_WORDING.get(name, f"can't parse {name} JSON object")
            ) from None
    wanted = list if kind.startswith("Array of") else dict
    if not isinstance(value, wanted):
        raise bad_request(UNPARSABLE_WORDING.get(name, f"can't parse {name} JSON object"))
    if kind == "Array of String" and not all(isinstance(item, str) for item in value):
        raise bad_request(UNPARSABLE_WORDING.get(name, f"invalid {name} specified"))
    return value
