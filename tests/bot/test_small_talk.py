"""Small talk (issue 21): greetings, thanks, acknowledgements and goodbyes are recognised from
the config's phrases, and nothing else is."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.replies import decide
from bot.small_talk import Kind, SmallTalk
from bot.understanding import Reader
from handoff.config import SmallTalkPhrases
from handoff.config_loader import load_config

EXAMPLE = Path(__file__).parents[2] / "config" / "frontdoor.yaml"
CONFIG = load_config(EXAMPLE)
TALK = SmallTalk(CONFIG.small_talk)
READER = Reader(CONFIG.intents, CONFIG.bot.understanding)

# A scripted stream of small talk in Indonesian and English, as customers write it.
STREAM = {
    Kind.GREETING: [
        "halo",
        "Halo kak",
        "hai min",
        "hi",
        "Hello!",
        "P",
        "selamat pagi",
        "Selamat siang kak",
        "pagi min",
        "malam",
        "assalamualaikum",
        "permisi kak",
        "hey there",
        "good morning",
        "haloo",
        "kak?",
        "min",
    ],
    Kind.THANKS: [
        "terima kasih",
        "makasih",
        "makasih ya kak",
        "mksh min",
        "thx",
        "thanks!",
        "thank you",
        "thank you very much",
        "tq",
        "trims kak",
        "oke makasih",
        "sip makasih banyak",
        "Terima kasih banyak ya",
        "thanks a lot",
    ],
    Kind.GOODBYE: ["bye", "bye bye", "dadah", "sampai jumpa", "see you", "ok bye", "makasih, bye"],
    Kind.ACK: [
        "ok",
        "oke",
        "OK!",
        "okay",
        "sip",
        "siap kak",
        "baik",
        "noted",
        "mantap",
        "ya",
        "iya",
        "yes",
        "got it",
        "wkwk",
        "hehe",
        "👍",
        "🙏🙏",
        "😊",
        "...",
        "ok sip",
        "baiklah kak",
    ],
}


@pytest.mark.parametrize(
    ("text", "kind"), [(text, kind) for kind, texts in STREAM.items() for text in texts]
)
def test_small_talk_is_recognised_by_kind(text: str, kind: Kind) -> None:
    assert TALK.kind(text) is kind


@pytest.mark.parametrize(
    "text",
    [
        "halo, internet saya mati",
        "makasih, tapi tagihan saya kok naik",
        "ok, cara bayarnya gimana?",
        "hi, where is my order",
        "selamat pagi, mau pasang baru",
        "bye, mau berhenti langganan",
        "terima kasih atas refundnya, tapi kurang 50rb",
    ],
)
def test_small_talk_with_a_question_is_not_small_talk(text: str) -> None:
    assert TALK.kind(text) is None


def test_none_of_the_stream_starts_a_handoff_or_counts_as_not_understood() -> None:
    for texts in STREAM.values():
        for text in texts:
            reply = decide(CONFIG, READER, text, unknown_streak=1, waiting=False, small_talk=TALK)
            assert reply.small_talk is not None, text
            assert not reply.handoff and not reply.unknown and reply.unknown_streak == 1


def test_a_config_sets_its_own_phrases() -> None:
    own = SmallTalk(SmallTalkPhrases(greeting=["om swastiastu"], thanks=[], ack=[], goodbye=[]))
    assert own.kind("Om Swastiastu") is Kind.GREETING
    assert own.kind("halo") is None
    assert own.kind("") is Kind.ACK  # a sticker or an emoji needs no phrase


@pytest.mark.parametrize("text", ["", "😀" * 2000, "x" * 4096, "\x00\x01"])
def test_empty_oversize_and_garbage_never_raise(text: str) -> None:
    assert TALK.kind(text) in (*Kind, None)
