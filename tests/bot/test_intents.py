"""Recognising what a customer wants (SPEC §3.2-3.3), against the example config."""

import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intents import DEFAULT_THRESHOLD, IntentMatch, IntentMatcher, is_human_request
from bot.normalise import SPELLINGS, normalise
from handoff.config import Intent
from handoff.config_loader import load_config

EXAMPLE = Path(__file__).parents[2] / "config" / "frontdoor.yaml"
INTENTS = load_config(EXAMPLE).intents
MATCHER = IntentMatcher(INTENTS)

# Every keyword and FAQ question of the example config, with its intent.
TERMS = [
    (name, term)
    for name, intent in INTENTS.items()
    for terms in (intent.keywords, intent.questions)
    for language in terms.values()
    for term in language
]
GARBAGE = bytes(range(256)).decode("latin-1") * 16  # "\x00\x01...\xff", 4096 characters


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("Tagihan Saya", "tagihan saya"),
        ("ＴＡＧＩＨＡＮ", "tagihan"),  # full-width letters (NFKC)
        ("Internet mati!!! 😡😡", "internet mati"),
        ("tolooong", "tolong"),
        ("halooo kakkk", "halo kak"),
        ("bangettt", "banget"),
        ("gmn cara bayar", "bagaimana cara bayar"),
        ("gimana", "bagaimana"),
        ("tdk bs login", "tidak bisa login"),
        ("gak konek, ga bisa, nggak jalan", "tidak konek tidak bisa tidak jalan"),
        ("sy udh tf tp blm masuk", "saya sudah transfer tapi belum masuk"),
        ("yg utk dgn sdh knp brp tlg", "yang untuk dengan sudah kenapa berapa tolong"),
        ("putus2 terus", "putus putus terus"),
        ("wi-fi", "wifi"),
        ("e-wallet", "ewallet"),
        ("j&t", "jnt"),
        ("I can't log in", "i cannot login"),
        ("kantor di mana?", "kantor dimana"),
        ("  tagihan \n\t saya  ", "tagihan saya"),
        ("makasih min", "terima kasih min"),
        ("Rp25.000", "rp25 000"),
    ],
)
def test_normalise_gives_plain_lower_case_words(text: str, normal: str) -> None:
    assert normalise(text) == normal


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "\x00\x1f\x7f", "!!!???", GARBAGE[:32]])
def test_normalise_leaves_nothing_of_text_without_words(text: str) -> None:
    assert normalise(text) == ""


def test_normalise_keeps_the_words_of_long_binary_garbage() -> None:
    assert len(GARBAGE) == 4096
    assert normalise(GARBAGE) == normalise(normalise(GARBAGE))


def test_no_keyword_has_a_letter_three_times_so_collapsing_stretched_letters_keeps_them() -> None:
    assert [term for _, term in TERMS if re.search(r"(\w)\1\1", term)] == []
    assert normalise("pembayaran tagihann") == "pembayaran tagihann"  # double letters stay


def test_abbreviations_change_only_the_chat_spellings_a_manager_wrote_on_purpose() -> None:
    spelt = {term for _, term in TERMS if any(w in SPELLINGS for w in term.lower().split())}
    assert spelt == {"gak konek", "ga konek", "gak bisa login"}


def test_no_abbreviation_expands_to_another_abbreviation() -> None:
    expanded = {word for full in SPELLINGS.values() for word in full}
    assert expanded.isdisjoint(SPELLINGS)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_normalise_is_total_and_idempotent(text: str) -> None:
    normal = normalise(text)
    assert normalise(normal) == normal


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.text(alphabet="tagihn bayr cs ovo-2'&", max_size=80))
def test_match_and_human_request_never_raise(text: str) -> None:
    found = MATCHER.match(text)
    assert 0 <= found.score <= 100
    assert found.known == (found.score >= MATCHER.threshold)
    assert isinstance(is_human_request(text), bool)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # typos and chat spellings
        ("tagihn", "tagihan"),
        ("tagiham saya kok mahal", "tagihan"),
        ("pembayarn", "pembayaran"),
        ("pembyaran lewat apa", "pembayaran"),
        ("gmn cara bayar", "pembayaran"),
        ("internet lemot bgt", "internet_lemot"),
        ("lemit banget internetnya", "internet_lemot"),
        ("internetnya lemooot bangettt", "internet_lemot"),
        ("operatr", "hubungi_cs"),
        # Indonesian
        ("kok tagihannya naik terus ya", "tagihan"),
        ("min, cek tagihan dong", "tagihan"),
        ("bayar pake gopay bisa gak", "pembayaran"),
        ("no va nya berapa", "pembayaran"),
        ("sy udh transfer tp blm masuk", "konfirmasi_pembayaran"),
        ("ini bukti tf nya ya kak", "konfirmasi_pembayaran"),
        ("internet mati total dari semalam!!!", "gangguan"),
        ("wifi gak konek sama sekali", "gangguan"),
        ("lampu LOS nya merah kak", "gangguan"),
        ("wifi putus2 terus", "internet_lemot"),
        ("cara ganti pw wifi gmn?", "wifi_password"),
        ("otp nya gak masuk2", "akun"),
        ("harga paket 50 mbps brp", "paket_internet"),
        ("mau pasang baru di bekasi", "pasang_baru"),
        ("mau upgrade paket ke 100 mbps", "upgrade_paket"),
        ("ada promo apa bulan ini", "promo"),
        ("ongkirnya ke medan berapa?", "ongkir"),
        ("pesanan saya belum sampai", "lacak_pesanan"),
        ("barangnya rusak mau retur", "retur"),
        ("saya kecewa banget sama layanannya", "komplain"),
        ("mau putus langganan aja", "berhenti_langganan"),
        ("jam berapa cs buka?", "jam_buka"),
        ("alamat kantor di mana?", "lokasi"),
        ("pakai j&t bisa?", "ongkir"),
        # English
        ("my bill is too high", "tagihan"),
        ("how can I pay", "pembayaran"),
        ("I already paid yesterday", "konfirmasi_pembayaran"),
        ("no internet since this morning", "gangguan"),
        ("how do i change the wi-fi password", "wifi_password"),
        ("I forgot my password", "akun"),
        ("where is my order??", "lacak_pesanan"),
        ("I want my money back", "refund"),
        ("cancel my subscription please", "berhenti_langganan"),
        ("what are your opening hours", "jam_buka"),
        ("talk to a person", "hubungi_cs"),
        # both languages in one message
        ("internet saya down dari pagi", "gangguan"),
        ("mau cancel subscription", "berhenti_langganan"),
        ("bisa bayar pakai e-wallet?", "pembayaran"),
    ],
)
def test_customer_phrasings_match_their_intent(text: str, intent: str) -> None:
    assert MATCHER.match(text).intent == intent


@pytest.mark.parametrize(
    "hidden",
    ["\u200b", "\u00ad", "\u200d", "\u2060", "\ufeff", "\u200e"],
    ids=["zero-width-space", "soft-hyphen", "zero-width-joiner", "word-joiner", "bom", "lrm"],
)
def test_an_invisible_character_inside_a_keyword_does_not_stop_it_matching(hidden: str) -> None:
    """Pasted from a web page or a PDF, words carry invisible characters (Unicode Cf)."""
    assert normalise(f"cara bayar taghi{hidden}han") == normalise("cara bayar taghihan")
    assert MATCHER.match(f"tagi{hidden}han saya kok mahal").intent == "tagihan"
    assert MATCHER.match(f"{hidden}cara bayar{hidden}").intent == "pembayaran"


def test_full_width_letters_read_as_plain_ones() -> None:
    assert normalise("ｔａｇｉｈａｎ") == "tagihan"


@pytest.mark.parametrize(
    "text",
    [
        "asdfgh qwerty",
        "xyz",
        "ok",
        "oke siap kak",
        "terima kasih",
        "makasih min",
        "thank you so much",
        "halo",
        "selamat pagi",
        "no",
        "yes",
        "saya mau tanya dong kak",
        "saya mau tanya soal layanan",
        "tolong dibantu ya kak",
        "123456",
        "",
        "😀😀😀",
        GARBAGE,
        "a" * 4096,
    ],
)
def test_greetings_thanks_and_gibberish_are_unknown(text: str) -> None:
    found = MATCHER.match(text)
    assert found == IntentMatch(None, found.score)
    assert found.score < DEFAULT_THRESHOLD


@pytest.mark.parametrize(("name", "term"), TERMS, ids=[f"{n}:{t}" for n, t in TERMS])
def test_every_keyword_and_question_matches_its_own_intent(name: str, term: str) -> None:
    found = MATCHER.match(term)
    # `ga konek` may be reported as `gak konek`, which it is once normalised.
    assert (found.intent, found.score) == (name, 100.0)


def test_no_two_intents_share_a_keyword_or_question() -> None:
    owners: dict[str, set[str]] = {}
    for name, term in TERMS:
        owners.setdefault(normalise(term), set()).add(name)
    assert {term: names for term, names in owners.items() if len(names) > 1} == {}


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("bayar pakai ovo", "pembayaran"),
        ("ovo", "pembayaran"),
        ("ovonya", "pembayaran"),  # a clitic ending is still the whole word
        ("java", None),  # not `va`
        ("cs", "hubungi_cs"),
        ("csr", None),
        ("focus", None),
        ("los", "gangguan"),
        ("losing", None),
    ],
)
def test_short_keywords_match_only_as_whole_words(text: str, intent: str | None) -> None:
    assert MATCHER.match(text).intent == intent


@pytest.mark.parametrize(
    "word",
    [
        "akan",
        "bull",
        "makan",
        "rumah",
        "teman",
        "kabar",
        "sabar",
        "cepat",
        "kirim",
        "gratis",
        "terima",
        "bagaimana",
        "selamat",
        "hello",
        "thanks",
        "question",
        "morning",
    ],
)
def test_everyday_words_are_not_typos_of_keywords(word: str) -> None:
    assert not MATCHER.match(word).known


def test_a_typo_in_a_word_of_five_letters_or_more_still_matches_at_a_lower_score() -> None:
    assert MATCHER.match("lemot") == IntentMatch("internet_lemot", 100.0, "lemot")
    assert MATCHER.match("lemit") == IntentMatch("internet_lemot", 80.0, "lemot")
    assert MATCHER.match("pembyaarn").intent == "pembayaran"  # two edits in ten letters


def test_a_stricter_threshold_turns_typos_away() -> None:
    strict = IntentMatcher(INTENTS, threshold=95)
    assert strict.match("tagiham").intent is None
    assert strict.match("tagihan").intent == "tagihan"


def test_a_threshold_outside_0_to_100_is_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        IntentMatcher(INTENTS, threshold=0)


def test_an_unknown_message_reports_how_close_the_nearest_term_came() -> None:
    found = MATCHER.match("saya mau tanya soal layanan")
    assert found.intent is None and found.term is None
    assert 50 < found.score < DEFAULT_THRESHOLD


def test_a_multi_word_keyword_matches_inside_a_longer_sentence_in_any_order() -> None:
    assert MATCHER.match("tolong cek dulu tagihan saya").term == "cek tagihan"
    assert MATCHER.match("jam berapa buka").term == "buka jam berapa"


def test_equal_scores_go_to_the_intent_that_accounts_for_more_of_the_message() -> None:
    # `berapa` is a paket_internet keyword; `ongkir` and the rest of the message point elsewhere.
    assert MATCHER.match("berapa ongkirnya").intent == "ongkir"
    assert MATCHER.match("berapa tagihan saya").intent == "tagihan"
    assert MATCHER.match("berapa").intent == "paket_internet"


def test_a_term_shared_by_two_intents_goes_to_the_one_written_first() -> None:
    first = Intent(keywords={"id": ["promo"]}, team="sales")
    second = Intent(keywords={"en": ["promo"]}, team="support")
    assert IntentMatcher({"a": first, "b": second}).match("promo").intent == "a"
    assert IntentMatcher({"b": second, "a": first}).match("promo").intent == "b"


def test_a_config_without_intents_knows_nothing() -> None:
    assert IntentMatcher({}).match("tagihan") == IntentMatch(None, 0.0)


@pytest.mark.parametrize(
    "text",
    [
        "/human",
        "/human@FrontdoorBot",
        "cs",
        "CS!!",
        "agen",
        "manusia",
        "operator",
        "operatr",
        "admin",
        "customer service",
        "talk to a person",
        "can I speak to someone",
        "mau ngobrol sama admin dong",
        "saya ingin bicara dengan manusia",
        "i need a real person, the internet is down",
        "hubungkan ke cs, tagihan saya salah",
        "csnya mana?",
    ],
)
def test_explicit_requests_for_a_person_are_recognised(text: str) -> None:
    assert is_human_request(text)


@pytest.mark.parametrize(
    "text",
    [
        "cs buka sampai jam berapa",  # asks about opening hours
        "until what time is customer service open",
        "halo admin, internet mati",  # addresses the admin, asks about an outage
        "admin tolong cek tagihan saya",
        "makasih min",
        "min",
        "ok",
        "internet mati",
        "someone stole my modem",
        "agenda",
        "amin",
        "/start",
        "",
        GARBAGE,
    ],
)
def test_other_messages_are_not_requests_for_a_person(text: str) -> None:
    assert not is_human_request(text)


@pytest.mark.parametrize("term", [term for name, term in TERMS if name == "hubungi_cs"])
def test_human_requests_agree_with_the_example_hubungi_cs_intent(term: str) -> None:
    assert is_human_request(term)
    assert MATCHER.match(term).intent == "hubungi_cs"


@pytest.mark.parametrize("term", [term for name, term in TERMS if name != "hubungi_cs"])
def test_no_other_keyword_or_question_is_taken_for_a_request_for_a_person(term: str) -> None:
    assert not is_human_request(term)


def test_a_thousand_mixed_messages_match_in_well_under_a_second() -> None:
    phrasings = [
        "tagihn saya bulan ini brp",
        "internet lemot bgt dari pagi",
        "gmn cara bayar pakai qris",
        "my bill is too high",
        "asdfgh qwerty",
        "saya mau bicara dengan cs",
        "terima kasih kak",
        "lampu los merah, internet mati total",
        "ongkir ke surabaya berapa ya",
        "ok",
    ]
    # A fresh matcher, so each new word pays for its fuzzy look-up as in a real first hour.
    messages = [f"{phrasings[i % len(phrasings)]} {i}" for i in range(1000)]
    matcher = IntentMatcher(INTENTS)
    started = time.perf_counter()
    for message in messages:
        matcher.match(message)
    assert time.perf_counter() - started < 1.0
