"""What a customer wants, from the words they type (SPEC §3.2): pure, no Telegram, no I/O.

Text is normalised first (`bot.normalise`: case, punctuation, stretched letters, chat spellings),
then matched word by word against every intent's keywords and FAQ questions, in every language:

* a word with affixes matches the keyword words of its root (`diganti` and `ganti`, `upgrading`
  and `upgrade`, `dibayar` and `pembayaran`);
* words of five letters or more (on both sides) may differ by typos: similarity is rapidfuzz's
  OSA distance (a wrong, missing, extra or swapped letter is one edit) as a share of the longer
  word, so the default threshold of 80 allows one edit in 5-9 letters and two in 10-14; shorter
  words (`va`, `cs`, `ovo`) must be exact, so they never hide inside unrelated words;
* a term of several words scores the share of its words found close together (at most
  `MAX_INSERTED` other words among them, in any order), a word that few intents use counting more
  than a common one (`saya`, `my`): "cek dulu tagihan saya" still matches `cek tagihan`;
* the intent of the best-scoring term wins; equal scores go to the intent whose terms account for
  more of the message, then to the longer term, then to the intent written first in the config.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.normalise import normalise, stem
from handoff.config import Intent

DEFAULT_THRESHOLD = 80.0
MIN_FUZZY_LENGTH = 5  # "akun"/"akan", "bill"/"bull": one edit in four letters is another word
MAX_INSERTED = 2  # extra words allowed among the words of a term
SAME_ROOT = 95.0  # `dibayar` for `pembayaran`: as good as a typo-free word, less than the word


@dataclass(frozen=True)
class IntentMatch:
    """What a message asks for: the intent (None when unknown), how well, and by which term.

    `term` is the keyword or FAQ question as written in the config. For an unknown message
    `score` is how close the nearest term came, which helps to tune the threshold.
    """

    intent: str | None
    score: float
    term: str | None = None

    @property
    def known(self) -> bool:
        return self.intent is not None


@dataclass(frozen=True)
class _Term:
    group: int
    text: str
    words: tuple[int, ...]  # vocabulary indexes
    weights: tuple[float, ...]  # rarer words weigh more; they add up to 1


_Hits = dict[int, dict[int, float]]  # vocabulary index -> {position in the message: similarity}


class _TermIndex:
    """Terms in groups (intents), their words, and how rare each word is among the groups."""

    def __init__(self, groups: Mapping[str, Iterable[str]], threshold: float) -> None:
        if not 0 < threshold <= 100:
            raise ValueError(f"threshold must be above 0 and at most 100, got {threshold}")
        self.threshold = threshold
        self.groups = list(groups)
        self.vocabulary: dict[str, int] = {}
        self.terms: list[_Term] = []
        self.terms_with: list[set[int]] = []  # vocabulary index -> terms using it
        self.groups_with: list[set[int]] = []  # vocabulary index -> groups using it
        written: list[tuple[int, str, list[int]]] = []
        for group, texts in enumerate(groups.values()):
            for text in dict.fromkeys(texts):
                if words := [self._word_index(word) for word in normalise(text).split()]:
                    written.append((group, text, words))
                    for index in words:
                        self.groups_with[index].add(group)
        # A word that many intents use ("saya", "internet", "my") says less about which one the
        # customer means. The square root keeps it from saying nothing: with 1/n, "no" alone
        # scored 80 for `no internet`.
        self.rarity = [1 / math.sqrt(len(users)) for users in self.groups_with]
        seen: set[tuple[int, tuple[int, ...]]] = set()
        for group, text, words in written:
            if (group, tuple(words)) in seen:
                continue  # `billing` in both languages, `customer service` twice
            seen.add((group, tuple(words)))
            for index in words:
                self.terms_with[index].add(len(self.terms))
            total = sum(self.rarity[index] for index in words)
            weights = tuple(self.rarity[index] / total for index in words)
            self.terms.append(_Term(group, text, tuple(words), weights))
        self._long_words = [w for w in self.vocabulary if len(w) >= MIN_FUZZY_LENGTH]
        self.words = list(self.vocabulary)
        self._by_root: dict[str, list[int]] = {}
        for word, index in self.vocabulary.items():
            self._by_root.setdefault(stem(word), []).append(index)
        self._lookup = lru_cache(maxsize=8192)(self._lookup_uncached)

    def _word_index(self, word: str) -> int:
        if word not in self.vocabulary:
            self.vocabulary[word] = len(self.vocabulary)
            self.terms_with.append(set())
            self.groups_with.append(set())
        return self.vocabulary[word]

    def _lookup_uncached(self, form: str, fuzzy: bool) -> tuple[tuple[int, float], ...]:
        if not fuzzy or len(form) < MIN_FUZZY_LENGTH:
            exact = self.vocabulary.get(form)
            return () if exact is None else ((exact, 100.0),)
        found = process.extract(
            form,
            self._long_words,
            scorer=OSA.normalized_similarity,
            # Half a point of slack: rapidfuzz turns the cutoff into a distance, and 1 - 1/5
            # lands a hair below 0.8, which would lose every one-letter typo of a five-letter word.
            score_cutoff=(self.threshold - 0.5) / 100,
            limit=None,
        )
        return tuple(
            (self.vocabulary[word], score)
            for word, similarity, _ in found
            if (score := round(100 * similarity, 1)) >= self.threshold
        )

    def _same_root(self, word: str) -> list[tuple[int, float]]:
        """Keyword words with the root of a word that carries affixes: `ongkirnya` is `ongkir`
        itself, `dibayar` is close to `pembayaran`. A bare word (`kirim`, `apa`) is left to its
        exact and typo matches: `kiriman` is a delivery, `kirim` could be anything."""
        root = stem(word)
        if root == word:
            return []
        found = self._by_root.get(root, ())
        return [(i, 100.0 if self.words[i] == root else SAME_ROOT) for i in found]

    def scan(self, words: list[str]) -> _Hits:
        """Where each vocabulary word occurs in the message, and how closely."""
        hits: _Hits = {}
        for position, word in enumerate(words):
            found = [*self._lookup(word, True)]
            found += self._same_root(word)
            for index, similarity in found:
                at = hits.setdefault(index, {})
                if similarity > at.get(position, 0.0):
                    at[position] = similarity
        return hits

    def best_terms(self, hits: _Hits) -> dict[int, tuple[float, _Term]]:
        """The best-scoring term of each group that has any of its words in the message (ties:
        the longer term, then the one written first).

        Terms are scored most promising first, and a term whose words, all found at 100 %,
        could not beat its group's best so far is not scored at all: long messages touch dozens
        of terms, and the windowed score is the matcher's costliest step."""
        best: dict[int, tuple[tuple[float, int, int], _Term]] = {}
        candidates = set().union(*(self.terms_with[index] for index in hits))
        bounds = {i: round(_at_most(self.terms[i], hits), 1) for i in candidates}
        for term_index in sorted(candidates, key=lambda i: (-bounds[i], i)):
            term = self.terms[term_index]
            if term.group in best and bounds[term_index] < best[term.group][0][0]:
                continue
            rank = (round(_term_score(term, hits), 1), len(term.text), -term_index)
            if term.group not in best or rank > best[term.group][0]:
                best[term.group] = (rank, term)
        return {group: (rank[0], term) for group, (rank, term) in best.items()}

    def evidence(self, hits: _Hits, group: int) -> float:
        """How much of the message a group's terms account for, rare words counting more."""
        covered: dict[int, float] = {}
        for index, at in hits.items():
            if group in self.groups_with[index]:
                for position, similarity in at.items():
                    value = similarity * self.rarity[index]
                    covered[position] = max(covered.get(position, 0.0), value)
        return round(sum(covered.values()), 6)


def _at_most(term: _Term, hits: _Hits) -> float:
    """A bound on `_term_score`: the share of the term's words found anywhere, each at 100 %."""
    return 100 * sum(w for index, w in zip(term.words, term.weights, strict=True) if index in hits)


def _term_score(term: _Term, hits: _Hits) -> float:
    """The weighted share of a term's words found close together in the message, 0-100.

    Close together means within a window as long as the term plus `MAX_INSERTED` words, in any
    order: Indonesian moves words around freely ("jam berapa buka", "buka jam berapa").
    """
    found = [hits.get(index, {}) for index in term.words]
    if len(found) == 1:
        return max(found[0].values(), default=0.0)
    span = len(found) + MAX_INSERTED
    best = 0.0
    for start in sorted({position for at in found for position in at}):
        used: set[int] = set()
        score = 0.0
        for at, weight in zip(found, term.weights, strict=True):
            similarity, position = max(
                (
                    (at[position], position)
                    for position in range(start, start + span)
                    if position in at and position not in used
                ),
                default=(0.0, -1),
            )
            used.add(position)
            score += similarity * weight
        best = max(best, score)
    return best


class KeywordMatcher:
    """Matches messages against named lists of keywords, typos forgiven; built once, used for
    every message. `match` and `scores` call the names groups (an intent, a canned reply)."""

    def __init__(
        self, groups: Mapping[str, Iterable[str]], *, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        self._index = _TermIndex(groups, threshold)

    @property
    def threshold(self) -> float:
        return self._index.threshold

    def match(self, text: str, exclude: Collection[str] = ()) -> IntentMatch:
        """The group of the best-matching keyword, or an unknown match; groups named in
        `exclude` are left out."""
        index = self._index
        hits, best = self._best(text, exclude)
        if not best:
            return IntentMatch(None, 0.0)
        top = max(score for score, _ in best.values())
        if top < index.threshold:
            return IntentMatch(None, top)
        tied = [(group, term) for group, (score, term) in best.items() if score == top]
        group, term = max(
            tied, key=lambda tie: (index.evidence(hits, tie[0]), len(tie[1].text), -tie[0])
        )
        return IntentMatch(index.groups[group], top, term.text)

    def scores(self, text: str, exclude: Collection[str] = ()) -> dict[str, float]:
        """Every group with a keyword matched at the threshold or above, and how well."""
        _, best = self._best(text, exclude)
        return {
            self._index.groups[group]: score
            for group, (score, _) in best.items()
            if score >= self._index.threshold
        }

    def _best(
        self, text: str, exclude: Collection[str]
    ) -> tuple[_Hits, dict[int, tuple[float, _Term]]]:
        index = self._index
        hits = index.scan(normalise(text).split())
        best = {
            group: found
            for group, found in index.best_terms(hits).items()
            if index.groups[group] not in exclude
        }
        return hits, best


# Built-in phrases, so that any config hands over on an explicit request (SPEC §3.3). Words for
# a person ask for one wherever they appear; words for the staff only next to a request verb,
# or alone with polite filler: "cs buka sampai jam berapa" asks about opening hours, and
# "halo admin, internet mati" about an outage.
_PERSON = (
    "human",
    "manusia",
    "agen",
    "agent",
    "operator",
    "real person",
    "actual person",
    "orang asli",
    "bukan bot",
    "not a bot",
)
_STAFF = (
    "cs",
    "admin",
    "customer service",
    "customer care",
    "call center",
    "layanan pelanggan",
    "petugas",
    "staff",
    "person",
    "someone",
    "orang",
)
_REQUEST = (
    "bicara",
    "berbicara",
    "ngomong",
    "ngobrol",
    "hubungi",
    "hubungkan",
    "sambungkan",
    "panggil",
    "minta",
    "talk",
    "speak",
    "chat",
    "contact",
    "connect",
    "reach",
)
_FILLER = frozenset(
    {
        "saya",
        "aku",
        "mau",
        "ingin",
        "pengen",
        "tolong",
        "bisa",
        "dengan",
        "sama",
        "ke",
        "dong",
        "ya",
        "kak",
        "min",
        "halo",
        "hai",
        "hi",
        "hello",
        "please",
        "i",
        "want",
        "to",
        "a",
        "an",
        "the",
        "with",
        "can",
        "could",
        "may",
        "me",
        "need",
        "would",
        "like",
        "langsung",
        "saja",
        "sekarang",
        "now",
        "yang",
        "segera",
        "ada",
        "mana",
        "nya",
    }
)
_HUMAN_PHRASES = _TermIndex(
    {"person": _PERSON, "staff": _STAFF, "request": _REQUEST}, DEFAULT_THRESHOLD
)


class IntentMatcher(KeywordMatcher):
    """Matches messages against the keywords and questions of a config's intents."""

    def __init__(
        self, intents: Mapping[str, Intent], *, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        super().__init__(
            {
                name: [
                    term
                    for terms in (intent.keywords, intent.questions)
                    for language in terms.values()
                    for term in language
                ]
                for name, intent in intents.items()
            },
            threshold=threshold,
        )


def is_human_request(text: str) -> bool:
    """Whether the customer explicitly asks for a person: `/human`, "cs", "talk to a person"."""
    words = normalise(text).split()
    hits = _HUMAN_PHRASES.scan(words)
    found = {
        _HUMAN_PHRASES.groups[group]: score
        for group, (score, _) in _HUMAN_PHRASES.best_terms(hits).items()
        if score >= _HUMAN_PHRASES.threshold
    }
    if "person" in found:
        return True
    if "staff" not in found:
        return False
    if "request" in found:
        return True
    covered = {position for at in hits.values() for position in at}
    return all(i in covered or word in _FILLER for i, word in enumerate(words))
