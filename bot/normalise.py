"""Customers' words in one spelling (SPEC §3.2): pure, no Telegram, no I/O.

`normalise` lower-cases, drops punctuation and emoji, shortens stretched letters and writes chat
spellings out (indoNLP's dictionary of Indonesian slang, under this product's own list);
`stem` reduces a word to its root with the Snowball stemmers, Indonesian then English, so
`diganti`, `tagihannya`, `upgrading` and `installed` meet `ganti`, `tagihan`, `upgrade`, `install`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

import snowballstemmer
from indoNLP.preprocessing import SLANG_DATA
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Where indoNLP's dictionary has no entry, or one that reads wrong for a support desk: it turns
# `u` into `lu`, `pass` into `pas` and `make` into `memakai` (English chat), and `ga` into
# `enggak` where keywords say `tidak`; single letters and English stop words (`i`, `in`, `or`
# it reads as Indonesian) are left out of it. A word mapped to itself is kept as written: `min` (admin)
# is how customers address anyone ("makasih min"), and reading it as `admin` would ask for a
# person every time.
OWN_SPELLINGS = {
    "ga": "tidak",
    "gak": "tidak",
    "gk": "tidak",
    "nggak": "tidak",
    "ngga": "tidak",
    "enggak": "tidak",
    "engga": "tidak",
    "ndak": "tidak",
    "tdk": "tidak",
    "gw": "saya",
    "gue": "saya",
    "sy": "saya",
    "gmana": "bagaimana",
    "bgmn": "bagaimana",
    "gimana": "bagaimana",
    "klo": "kalau",
    "kalo": "kalau",
    "byr": "bayar",
    "tf": "transfer",
    "trf": "transfer",
    "inet": "internet",
    "pw": "password",
    "pass": "password",
    "komplen": "komplain",
    "gpp": "tidak apa apa",
    "tq": "terima kasih",
    "thx": "thanks",
    "pls": "please",
    "plz": "please",
    "u": "you",
    "ur": "your",
    "cant": "cannot",
    "min": "min",
    "make": "make",
    "minta": "minta",
}
# Words written apart (or with a hyphen) that keywords write as one.
COMPOUNDS = {
    ("wi", "fi"): "wifi",
    ("e", "wallet"): "ewallet",
    ("e", "mail"): "email",
    ("log", "in"): "login",
    ("di", "mana"): "dimana",
    ("can", "not"): "cannot",
}

_APOSTROPHE = re.compile(r"(?<=[a-z])['’`](?=[a-z])")  # don't, i'm
_AMPERSAND = re.compile(r"(?<=[a-z])&(?=[a-z])")  # j&t, as customers also write jnt
_NOT_WORD = re.compile(r"[\W_]+")  # punctuation, emoji, symbols, control characters
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}")  # tolooong; no keyword has a letter three times
_REDUPLICATED = re.compile(r"\b([^\W\d_]{2,})2\b")  # putus2 is putus-putus


def _without_format_characters(text: str) -> str:
    """Invisible characters (zero-width space and joiners, soft hyphen, byte-order mark: Unicode
    category Cf) taken out, so `tagi\u00adhan` is `tagihan`, not two words."""
    if text.isascii():
        return text
    return "".join(c for c in text if c.isascii() or unicodedata.category(c) != "Cf")


def _plain(text: str) -> str:
    text = _without_format_characters(text)
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    text = _APOSTROPHE.sub("", text)
    text = _AMPERSAND.sub("n", text)
    text = _NOT_WORD.sub(" ", text)
    text = _STRETCHED.sub(r"\1", text)
    return _REDUPLICATED.sub(r"\1 \1", text)


def _written_out(
    dictionary: Mapping[str, str], own: Mapping[str, str]
) -> dict[str, tuple[str, ...]]:
    """Each chat spelling with the words it stands for, followed to the end: the dictionary's
    `klo` → `kalo` and `kalo` → `kalau` make `klo` → `kalau`, so normalising twice changes nothing."""

    def entries(source: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
        return {
            key: tuple(_plain(value).split())
            for entry, value in source.items()
            if (key := _plain(entry).strip()) and " " not in key
        }

    plain = {
        key: words
        for key, words in entries(dictionary).items()
        if len(key) > 1 and key not in ENGLISH_STOP_WORDS
    } | entries(own)
    plain = {key: words for key, words in plain.items() if key not in words}  # `apa` → `apa apa`

    def resolve(word: str, seen: frozenset[str]) -> tuple[str, ...]:
        if word not in plain or word in seen:
            return (word,)
        return tuple(w for part in plain[word] for w in resolve(part, seen | {word}))

    return {key: resolve(key, frozenset()) for key in plain}


SPELLINGS = _written_out(SLANG_DATA, OWN_SPELLINGS)


@lru_cache(maxsize=1024)  # one message is read by the keyword matcher and by the model
def normalise(text: str) -> str:
    """Lower-case words without punctuation, stretched letters or chat spellings."""
    written = _joined(_plain(text).split())  # `wi fi` before the dictionary reads `fi` as `di`
    return " ".join(_joined([word for token in written for word in SPELLINGS.get(token, (token,))]))


def _joined(words: list[str]) -> list[str]:
    joined: list[str] = []
    for word in words:
        if joined and (joined[-1], word) in COMPOUNDS:
            joined[-1] = COMPOUNDS[joined[-1], word]
        else:
            joined.append(word)
    return joined


_INDONESIAN = snowballstemmer.stemmer("indonesian")
_ENGLISH = snowballstemmer.stemmer("english")
# Jakarta's spoken suffix -in (`balikin`, `gantiin`, `kirimin`) stands for -kan or -i; Snowball
# knows the written language only, so the word is stemmed as if written with -kan.
_SPOKEN_SUFFIX = re.compile(r"^([^\W\d_]{3,}(?:[^aiueo\W\d_]|i))in$")


MIN_ROOT_LENGTH = 4  # Snowball makes `berapa` `apa`: a short root says too little
# Snowball takes an ending off a word of two syllables or more; chat words are shorter (`csnya`).
_SHORT_WITH_CLITIC = re.compile(r"^([^\W\d_]{2,3})(?:nya|ku|mu)$")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The root of a normalised word: Indonesian affixes, then English endings, taken off."""
    if spoken := _SPOKEN_SUFFIX.match(word):
        word = spoken.group(1) + "kan"
    elif short := _SHORT_WITH_CLITIC.match(word):
        return short.group(1)
    root = str(_ENGLISH.stemWord(_INDONESIAN.stemWord(word)))
    return root if len(root) >= MIN_ROOT_LENGTH else word
