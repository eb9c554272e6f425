"""Bot API methods that send files, and getFile."""

from __future__ import annotations

from typing import Any

from sandbox.errors import bad_request
from sandbox.files import StoredFile
from sandbox.formatting import formatted
from sandbox.methods.common import Call, send
from sandbox.params import Upload
from sandbox.state import World


def stored_file(world: World, kind: str, value: Upload | str) -> StoredFile:
    """A new upload stored, or the existing file a file_id names (URLs cannot be fetched here)."""
    if isinstance(value, Upload):
        return world.files.add(kind, value.data, value.filename, value.content_type)
    if value.startswith(("http://", "https://")):
        raise bad_request("failed to get HTTP URL content")
    existing = world.files.get(value)
    if existing is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    return existing


def _send_file(call: Call, p: dict[str, Any], kind: str) -> dict[str, Any]:
    """Store the file, then post it with its caption like any message."""
    world = call.world
    world.writable_chat(p["chat_id"])  # fail before storing anything
    content = stored_file(world, kind, p[kind]).as_content(kind)
    if p.get("caption"):
        content.update(
            formatted(p["caption"], p.get("parse_mode"), p.get("caption_entities"), caption=True)
        )
    if kind == "sticker" and "emoji" in p:
        content["sticker"]["emoji"] = p["emoji"]
    if kind == "voice" and "duration" in p:
        content["voice"]["duration"] = p["duration"]
    return send(call, p, content)


def send_photo(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """sendPhoto: kept byte for byte (Telegram would recompress; the sandbox does not)."""
    return _send_file(call, p, "photo")


def send_document(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """sendDocument: any file, with its name and MIME type."""
    return _send_file(call, p, "document")


def send_voice(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """sendVoice: an audio note."""
    return _send_file(call, p, "voice")


def send_sticker(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """sendSticker: a regular 512×512 sticker."""
    return _send_file(call, p, "sticker")


def get_file(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """getFile: the `File` whose file_path downloads from /file/bot<token>/<file_path>."""
    stored = call.world.files.get(p["file_id"])
    if stored is None:
        raise bad_request("invalid file_id")
    return stored.as_file()


HANDLERS = {
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "sendVoice": send_voice,
    "sendSticker": send_sticker,
    "getFile": get_file,
}
