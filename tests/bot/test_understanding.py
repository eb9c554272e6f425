"""Understanding customers beyond the keywords (issue 14): the normaliser's roots, the trained
model, the weighing of both, the question back when unsure, and the labelled-file test."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest

from bot.classifier import Example, IntentModel
from bot.evaluation import LabelledFileError, as_text, evaluate, parse_labelled
from bot.intents import IntentMatcher
from bot.normalise import normalise, stem
from bot.replies import decide, person_intent, person_intents
from bot.understanding import NONE, Reader, config_examples, out_of_scope_examples
from handoff.config import Intent, Understanding
from handoff.config_loader import load_config

EXAMPLE = Path(__file__).parents[2] / "config" / "frontdoor.yaml"
HELD_APART = Path(__file__).parents[1] / "intents" / "held_apart.tsv"
CONFIG = load_config(EXAMPLE)
READER = Reader(CONFIG.intents, CONFIG.bot.understanding)
MATCHER = IntentMatcher(CONFIG.intents)


@pytest.mark.parametrize(
    ("word", "root_of"),
    [
        ("diganti", "ganti"),
        ("dibalikin", "balik"),  # Jakarta's -in
        ("tagihannya", "tagihan"),
        ("pembayaran", "bayar"),
        ("upgrading", "upgrade"),
        ("installed", "install"),
        ("csnya", "cs"),
    ],
)
def test_words_with_affixes_have_the_root_of_their_plain_word(word: str, root_of: str) -> None:
    assert stem(word) == stem(root_of)


def test_short_roots_are_not_taken_from_longer_words() -> None:
    assert stem("berapa") == "berapa"  # Snowball's `apa` would meet every "apa"


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("klo mau byr gmn", "kalau mau bayar bagaimana"),
        ("dtg kapan", "datang kapan"),
        ("muncul2 terus", "muncul muncul terus"),
        ("mau komplen", "mau komplain"),
        ("I can't log in to my account", "i cannot login to my account"),  # English left English
    ],
)
def test_chat_spellings_come_from_the_dictionary_and_english_stays(text: str, normal: str) -> None:
    assert normalise(text) == normal


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("paketnya mau diganti yg lebih kenceng", "upgrade_paket"),
        ("upgrading my plan", "upgrade_paket"),
        ("already installed?", "pasang_baru"),
        ("sy mau komplen", "komplain"),
        ("byr dmn", "pembayaran"),
    ],
)
def test_keywords_meet_their_inflected_and_abbreviated_forms(text: str, intent: str) -> None:
    assert intent in MATCHER.scores(text)


def test_the_models_own_arithmetic_gives_scikit_learns_probabilities() -> None:
    model = READER.model
    assert model.fitted is not None
    for text in ("berapa biaya upgrade ke 100 mbps", "internet mati", "zzz qqq", "ongkirnya?"):
        mine = model.probabilities(text)
        theirs = dict(
            zip(model.intents, model.fitted.predict_proba([normalise(text)])[0], strict=True)
        )
        assert mine == pytest.approx(theirs, abs=1e-9)


def test_a_model_of_one_intent_or_none_leaves_it_to_the_keywords() -> None:
    assert IntentModel([]).probabilities("tagihan") == {}
    assert IntentModel([Example("tagihan", "tagihan")]).probabilities("tagihan") == {}


def test_excluded_intents_leave_the_others_adding_up_to_one() -> None:
    probabilities = READER.model.probabilities("mau bicara dengan cs soal tagihan", {"hubungi_cs"})
    assert "hubungi_cs" not in probabilities
    assert sum(probabilities.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("gmn cara bayar tagihan?", "pembayaran"),
        ("internet mati dari pagi", "gangguan"),
        ("saya sudah transfer tapi internet masih diisolir", "konfirmasi_pembayaran"),
        ("nonton youtube buffering terus", "internet_lemot"),
        ("where is my order", "lacak_pesanan"),
    ],
)
def test_clear_questions_are_answered(text: str, intent: str) -> None:
    assert READER.read(text).intent == intent


@pytest.mark.parametrize(
    "text",
    ["besok hujan ga ya di bandung", "who won the football match", "resep soto ayam dong"],
)
def test_questions_about_something_else_are_not_read_as_an_intent(text: str) -> None:
    understood = READER.read(text)
    assert understood.intent is None


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "!!!", "a" * 4096, "tagihan " * 512])
def test_empty_emoji_and_oversize_text_never_raise(text: str) -> None:
    understood = READER.read(text)
    assert 0.0 <= understood.confidence <= 1.0
    assert understood.intent is None or understood.intent in CONFIG.intents
    assert all(choice in CONFIG.intents for choice in understood.choices)


class Shares(Reader):
    """A reader whose evidence is given: the rules that turn shares into a reply, alone."""

    def __init__(self, shares: list[tuple[str, float]]) -> None:
        super().__init__(TWO, Understanding())
        self.shares = shares

    def scores(self, text: str, exclude: Collection[str] = ()) -> list[tuple[str, float]]:
        return [(intent, share) for intent, share in self.shares if intent not in exclude]


TWO = {
    "upgrade": Intent(keywords={"id": ["ganti paket"]}, team="sales", answer={"id": "a"}),
    "harga": Intent(keywords={"id": ["harga paket"]}, team="sales", answer={"id": "b"}),
}


@pytest.mark.parametrize(
    ("shares", "intent", "choices"),
    [
        ([("upgrade", 0.7), ("harga", 0.2)], "upgrade", ()),  # sure and well ahead
        ([("upgrade", 0.65), ("harga", 0.6)], None, ("upgrade", "harga")),  # sure, not ahead
        ([("upgrade", 0.5), ("harga", 0.4)], None, ("upgrade", "harga")),  # not sure enough
        ([("upgrade", 0.3), ("-", 0.25), ("harga", 0.05)], None, ("upgrade",)),  # one likely
        ([("upgrade", 0.15), ("harga", 0.1)], None, ()),  # too unlikely to ask
        ([("-", 0.5), ("upgrade", 0.45)], None, ()),  # about something else
        ([], None, ()),
    ],
)
def test_shares_of_the_evidence_make_an_answer_a_question_or_unknown(
    shares: list[tuple[str, float]], intent: str | None, choices: tuple[str, ...]
) -> None:
    understood = Shares(shares).read("anything")
    assert (understood.intent, understood.choices) == (intent, choices)


def test_an_unsure_reading_asks_and_keeps_the_unknown_count() -> None:
    config = CONFIG.model_copy(update={"intents": TWO, "menu": []})
    torn = Shares([("upgrade", 0.5), ("harga", 0.4)])
    reply = decide(config, torn, "paket", unknown_streak=1, waiting=False)
    assert reply.choices == ("upgrade", "harga")
    assert reply.unknown_streak == 1 and not reply.handoff and not reply.unknown


def test_a_waiting_customer_is_not_asked() -> None:
    config = CONFIG.model_copy(update={"intents": TWO, "menu": []})
    torn = Shares([("upgrade", 0.5), ("harga", 0.4)])
    reply = decide(config, torn, "paket", unknown_streak=0, waiting=True)
    assert reply.choices == () and not reply.handoff


def test_a_few_keywords_without_examples_still_make_a_working_reader() -> None:
    reader = Reader(TWO, Understanding())
    assert reader.read("mau ganti paket").intent == "upgrade"
    assert reader.read("harga paketnya").intent == "harga"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("bisa ngobrol sama orang beneran?", "hubungi_cs"),  # no topic: the config's person intent
        ("i want to talk to a real person", "hubungi_cs"),
        ("tagihan saya salah, mau bicara dengan cs", "tagihan"),  # a topic: its team
        ("internet mati, tolong sambungkan ke operator", "gangguan"),
    ],
)
def test_a_request_for_a_person_goes_by_its_topic_else_the_person_intent(
    text: str, intent: str
) -> None:
    reply = decide(
        CONFIG,
        READER,
        text,
        unknown_streak=0,
        waiting=False,
        person_only=person_intents(CONFIG),
    )
    assert reply.handoff and reply.handoff_intent == intent
    assert CONFIG.intents[reply.handoff_intent].team != "sales"


def test_the_person_intent_is_the_first_that_only_asks_for_a_person() -> None:
    assert person_intent(CONFIG, person_intents(CONFIG)) == "hubungi_cs"
    assert person_intent(CONFIG, frozenset()) is None


def test_learned_examples_teach_the_reader_and_unknown_intents_are_ignored() -> None:
    phrase = "modem saya bunyi tit tit tit"
    taught = Reader(
        CONFIG.intents,
        CONFIG.bot.understanding,
        [Example(phrase, "gangguan")] * 3 + [Example(phrase, "no_such_intent")],
    )
    assert (
        taught.model.probabilities(phrase)["gangguan"]
        > READER.model.probabilities(phrase)["gangguan"]
    )
    assert "no_such_intent" not in taught.model.intents


def test_the_out_of_scope_class_is_never_an_intent_name() -> None:
    assert NONE not in CONFIG.intents
    assert len(out_of_scope_examples()) >= 50
    assert {example.intent for example in config_examples(CONFIG.intents)} == set(CONFIG.intents)


def test_the_example_config_has_ten_examples_per_intent_and_language() -> None:
    for name, intent in CONFIG.intents.items():
        for language in ("id", "en"):
            assert len(intent.examples.get(language, [])) >= 10, (name, language)
        assert intent.label is not None


# ---- the labelled-file test ---------------------------------------------------------------


def test_a_labelled_file_is_read_with_comments_and_blank_lines_skipped() -> None:
    cases = parse_labelled("# a comment\n\ntagihan saya\ttagihan\nresep soto\t-\n", CONFIG.intents)
    assert [(c.text, c.intent, c.line) for c in cases] == [
        ("tagihan saya", "tagihan", 3),
        ("resep soto", "-", 4),
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("tagihan saya\n", "F.tsv:1: expected TEXT<TAB>INTENT"),
        ("ok\ttagihan\nx\ty\tz\n", "F.tsv:2: expected TEXT<TAB>INTENT"),
        ("\ttagihan\n", "F.tsv:1: expected TEXT<TAB>INTENT"),
        ("tagihan saya\tbilling\n", "F.tsv:1: unknown intent 'billing'"),
        ("# only comments\n", "F.tsv: no labelled messages"),
        ("", "F.tsv: no labelled messages"),
    ],
)
def test_a_wrong_labelled_file_names_the_line(text: str, error: str) -> None:
    with pytest.raises(LabelledFileError, match=error.replace("(", r"\(")):
        parse_labelled(text, CONFIG.intents, source="F.tsv")


def test_the_evaluation_counts_right_asked_wrong_faq_and_out_of_scope() -> None:
    cases = parse_labelled(
        "gmn cara bayar tagihan\tpembayaran\n"  # right
        "gmn cara bayar tagihan\tpromo\n"  # read as pembayaran: a wrong FAQ
        "resep soto ayam dong\t-\n",  # out of scope, not answered: right
        CONFIG.intents,
    )
    result = evaluate(READER, CONFIG.intents, cases)
    assert (result.overall.total, result.overall.right, result.overall.wrong_faq) == (3, 2, 1)
    assert (result.out_of_scope.total, result.out_of_scope.right) == (1, 1)
    assert result.confusions[("promo", "pembayaran")] == 1
    table = as_text(result)
    assert "wrong FAQ" in table and "promo → pembayaran" in table


def test_the_held_apart_set_parses_and_covers_every_intent() -> None:
    cases = parse_labelled(HELD_APART.read_text(encoding="utf-8"), CONFIG.intents)
    assert len(cases) >= 250
    assert {c.intent for c in cases} == {*CONFIG.intents, "-"}
