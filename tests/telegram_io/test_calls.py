"""Passing a message on within the limits Telegram sets bots (UTF-16 units: an emoji counts two)."""

from __future__ import annotations

import pytest

from telegram_io.calls import Call, pass_on, send_long_text
from telegram_io.messages import split_text, telegram_length


def sent_texts(calls: list[Call]) -> list[str]:
    return [c.params.get("text") or c.params.get("caption") or "" for c in calls]


def test_telegram_counts_an_emoji_outside_the_basic_plane_as_two() -> None:
    assert telegram_length("abc") == 3 and telegram_length("é") == 1
    assert telegram_length("😀" * 3) == 6


@pytest.mark.parametrize(
    "text", ["x" * 9000, "😀" * 2049, "paragraf\n\n" * 800, "é" * 4097, "a" + "😀" * 4000]
)
def test_a_long_text_is_cut_into_parts_that_fit_and_lose_nothing(text: str) -> None:
    parts = split_text(text, 4096)
    assert len(parts) >= 2 and all(telegram_length(p) <= 4096 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_a_text_of_exactly_the_limit_is_one_part() -> None:
    assert split_text("😀" * 2048, 4096) == ["😀" * 2048]


def test_an_agents_text_too_long_for_one_message_goes_in_parts_not_a_refused_copy() -> None:
    text = "😀" * 3000  # 6000 UTF-16 units: Telegram would refuse it as one message
    calls = pass_on(5, 7, 11, "text", text, conversation_id=3)
    assert [c.method for c in calls] == ["sendMessage", "sendMessage"]
    assert "".join(sent_texts(calls)) == text and {c.conversation_id for c in calls} == {3}


def test_a_short_text_is_copied_so_it_keeps_its_formatting() -> None:
    (call,) = pass_on(5, 7, 11, "text", "halo")
    assert call.method == "copyMessage" and "caption" not in call.params


def test_a_header_rides_on_the_text_or_caption_when_both_fit() -> None:
    (text,) = pass_on(5, 7, 11, "text", "halo", header="#3 · Ani")
    (photo,) = pass_on(5, 7, 11, "photo", "struk", header="#3 · Ani")
    assert text.params["text"] == "#3 · Ani\nhalo" and photo.params["caption"] == "#3 · Ani\nstruk"


def test_a_caption_too_long_for_a_bot_keeps_what_fits_and_the_rest_follows_as_text() -> None:
    caption = "\n".join(f"baris {n} 😀" for n in range(400))
    calls = pass_on(5, 7, 11, "document", caption, header="#3 · Ani")
    assert [c.method for c in calls][:2] == ["sendMessage", "copyMessage"]
    assert telegram_length(calls[1].params["caption"]) <= 1024
    assert "\n".join(sent_texts(calls[1:])) == caption


def test_a_sticker_has_its_header_before_it() -> None:
    calls = pass_on(5, 7, 11, "sticker", "", header="#3 · Ani")
    assert [c.method for c in calls] == ["sendMessage", "copyMessage"]


def test_long_text_puts_the_buttons_under_the_last_part() -> None:
    calls = send_long_text(5, "x" * 5000, [[("ok", "ok")]])
    assert "reply_markup" not in calls[0].params and "reply_markup" in calls[1].params
