"""Stored files: bytes by file_id, as getFile and `/file/bot<token>/<path>` serve them."""

from __future__ import annotations

import hashlib
import itertools
import mimetypes
import struct
from dataclasses import dataclass
from typing import Any

FOLDERS = {"photo": "photos", "document": "documents", "voice": "voice", "sticker": "stickers"}


@dataclass(slots=True)
class StoredFile:
    """One file as Telegram's servers keep it."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str
    mime_type: str
    emoji: str = ""  # a sticker's emoji belongs to the sticker, as in Telegram's sticker sets

    def as_file(self) -> dict[str, Any]:
        """Bot API `File` (getFile)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }

    def as_content(self, kind: str | None = None) -> dict[str, Any]:
        """The message field carrying this file, e.g. `{"photo": [PhotoSize]}`."""
        kind = kind or self.kind
        base = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if kind == "photo":
            width, height = image_size(self.data)
            return {"photo": [{**base, "width": width, "height": height}]}
        if kind == "sticker":
            sticker = {**base, "type": "regular", "width": 512, "height": 512}
            sticker.update({"is_animated": False, "is_video": False})
            return {"sticker": {**sticker, "emoji": self.emoji} if self.emoji else sticker}
        if kind == "voice":
            return {"voice": {**base, "duration": 1, "mime_type": self.mime_type}}
        return {"document": {**base, "file_name": self.file_name, "mime_type": self.mime_type}}


class FileStore:
    """All files in the sandbox, in memory."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._serial = itertools.count(1)

    def add(self, kind: str, data: bytes, file_name: str = "", mime_type: str = "") -> StoredFile:
        """Store bytes and give them a file_id (file_unique_id follows the content)."""
        serial = next(self._serial)
        digest = hashlib.sha1(data).hexdigest()
        extension = file_name.rpartition(".")[2] if "." in file_name else _extension(kind, data)
        guessed = mimetypes.guess_type(f"x.{extension}")[0]
        mime_type = mime_type or guessed or "application/octet-stream"
        stored = StoredFile(
            file_id=f"{kind[:2].upper()}AC{serial:06d}{digest[:20]}",
            file_unique_id=f"AQAD{digest[:12]}",
            kind=kind,
            data=data,
            file_path=f"{FOLDERS.get(kind, 'documents')}/file_{serial}.{extension}",
            file_name=file_name or f"file_{serial}.{extension}",
            mime_type=mime_type,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this file_id, if any."""
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        """The file at this getFile path, if any."""
        return self._by_path.get(file_path)


def _extension(kind: str, data: bytes) -> str:
    """A file extension guessed from the first bytes."""
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data.startswith(b"OggS"):
        return "oga"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    return {"photo": "jpg", "voice": "oga", "sticker": "webp"}.get(kind, "bin")


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, GIF or JPEG image; (0, 0) when it is none of those."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return (0, 0)


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Walk JPEG segments to the first start-of-frame marker."""
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return (0, 0)
        marker = data[index + 1]
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return (width, height)
        index += 2 + length
    return (0, 0)
