"""Checking control API request bodies before anything changes."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import web


class ControlError(Exception):
    """A refused control call: `{"ok": false, "description": ...}` with a 4xx status."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


class _NotJson(ValueError):
    """NaN, Infinity and -Infinity: Python's json reads them, JSON has no such numbers."""


def _not_json(constant: str) -> Any:
    raise _NotJson(f"{constant} is not a JSON number")


def _why(error: ValueError) -> str:
    return f" ({error})" if isinstance(error, _NotJson) else ""


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (an empty body counts as `{}`)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except ValueError as error:
        raise ControlError(400, f"request body is not valid JSON{_why(error)}") from None
    if not isinstance(body, dict):
        raise ControlError(400, "request body must be a JSON object")
    return body


_NAMES = {int: "an integer", str: "a string", bool: "a boolean", list: "a list", dict: "an object"}


def field(body: dict[str, Any], name: str, kind: type, required: bool = False) -> Any:
    """One field of the body, checked for presence and type (bool is not an int here)."""
    value = body.get(name)
    if value is None:
        if required:
            raise ControlError(400, f"field {name!r} is required")
        return None
    wrong_bool = kind is int and isinstance(value, bool)
    if wrong_bool or not isinstance(value, kind):
        raise ControlError(400, f"field {name!r} must be {_NAMES.get(kind, kind.__name__)}")
    return value


def int_list(body: dict[str, Any], name: str) -> list[int]:
    """A required list of integers (e.g. member_ids)."""
    values = field(body, name, list, required=True)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ControlError(400, f"field {name!r} must be a list of integers")
    return values


def int_path(request: web.Request, name: str) -> int:
    """An integer path segment such as a user or chat id."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ControlError(400, f"{name} must be an integer") from None


def file_spec(body: dict[str, Any], name: str) -> tuple[bytes, str] | str | None:
    """A file given as `{"data_base64", "filename"?}`, `{"file_id"}` or a file_id string."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        raise ControlError(400, f"field {name!r} must be an object or a file_id")
    if isinstance(value.get("file_id"), str):
        return value["file_id"]
    data = value.get("data_base64")
    if not isinstance(data, str):
        raise ControlError(400, f"field {name!r} needs data_base64 or file_id")
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ControlError(400, f"{name}.data_base64 is not valid base64") from None
    filename = value.get("filename") or ""
    if not isinstance(filename, str):
        raise ControlError(400, f"{name}.filename must be a string")
    return decoded, filename
