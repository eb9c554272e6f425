"""Files go up and come back byte-identical, by upload or by file_id, from bot and from users."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import pytest
from telegram import Bot

from sandbox.files import image_size
from tests.sandbox_support import SandboxClient

pytestmark = pytest.mark.filterwarnings("error::telegram.warnings.PTBUserWarning")


def png(width: int, height: int) -> bytes:
    """A tiny valid PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x10\x20\x30" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_a_photo_uploaded_by_the_bot_downloads_byte_identical(
    bot: Bot, ani: dict[str, Any]
) -> None:
    picture = png(3, 2)
    sent = await bot.send_photo(ani["id"], picture, caption="struk")
    assert (sent.photo[-1].width, sent.photo[-1].height) == (3, 2)
    assert sent.caption == "struk"
    file = await bot.get_file(sent.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == picture


async def test_a_customer_photo_can_be_fetched_and_relayed_by_file_id(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    picture = png(4, 4)
    said = await sandbox.send(ani["id"], photo=picture, caption="bukti transfer")
    file_id = said["message"]["photo"][-1]["file_id"]
    update = (await bot.get_updates())[-1]
    assert update.message.caption == "bukti transfer"
    downloaded = await (
        await bot.get_file(update.message.photo[-1].file_id)
    ).download_as_bytearray()
    assert bytes(downloaded) == picture
    relayed = await bot.send_photo(ani["id"], file_id)
    assert relayed.photo[-1].file_unique_id == said["message"]["photo"][-1]["file_unique_id"]


async def test_a_customer_document_keeps_its_name(
    bot: Bot, sandbox: SandboxClient, ani: dict[str, Any]
) -> None:
    said = await sandbox.send(ani["id"], document=b"a,b\n1,2\n", filename="tagihan.csv")
    assert said["message"]["document"]["file_name"] == "tagihan.csv"
    assert said["message"]["document"]["mime_type"] == "text/csv"
    file = await bot.get_file(said["message"]["document"]["file_id"])
    assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"


async def test_unknown_download_path_is_not_found(sandbox: SandboxClient) -> None:
    status, answer = await sandbox.request("GET", "/file/bot1:t/photos/nothing.jpg")
    assert status == 404 and answer["description"] == "Not Found"


def test_image_sizes_are_read_from_headers() -> None:
    assert image_size(png(7, 5)) == (7, 5)
    assert image_size(b"GIF89a\x0a\x00\x14\x00") == (10, 20)
    assert image_size(b"not an image") == (0, 0)
    assert base64.b64encode(png(1, 1))  # sanity: the helper makes bytes
