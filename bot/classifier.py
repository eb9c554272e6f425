"""A model of what customers mean, trained at start-up from the config's words (SPEC §3.2).

scikit-learn's logistic regression over two views of the normalised text: the roots of its words
(and pairs of them), for phrasings that share no keyword with an intent, and character n-grams,
for spellings nobody listed. Logistic regression gives probabilities that read as confidence
(it is fitted on log-loss), which `bot.understanding` weighs against the keyword matcher.
Pure: no Telegram, no I/O.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline

from bot.normalise import normalise, stem

REGULARISATION = 30.0  # LogisticRegression's C: the data are few, short and clean


@dataclass(frozen=True)
class Example:
    """A text and the intent it means: from the config, or learned from agents' corrections."""

    text: str
    intent: str


def _roots(normal: str) -> list[str]:
    roots = [stem(word) for word in normal.split()]
    return roots + [f"{a} {b}" for a, b in itertools.pairwise(roots)]


class IntentModel:
    """Probabilities of each intent for a text; `intents` are the labels it was trained on.

    scikit-learn fits the model; reading a message is done here from the fitted numbers (the
    vocabularies, IDF weights and coefficients), because a pipeline's per-call checks cost
    ~5 ms a message where the arithmetic itself takes a few dozen microseconds.
    """

    def __init__(self, examples: Iterable[Example]) -> None:
        texts, labels = _unique(examples)
        self.intents: tuple[str, ...] = tuple(sorted(set(labels)))
        self._views: list[_View] = []
        self.fitted: Pipeline | None = None
        if len(self.intents) < 2:
            return  # nothing to choose between: the keywords decide alone
        vectorizers = [
            TfidfVectorizer(analyzer=_roots, sublinear_tf=True),
            TfidfVectorizer(
                analyzer="char_wb", lowercase=False, ngram_range=(2, 4), sublinear_tf=True
            ),
        ]
        # A looser tolerance than the default fits in a third of the time, to the same answers;
        # balanced classes, so that a config with few examples is not outweighed by the shipped
        # out-of-scope list (or one intent with many examples by the others).
        model = LogisticRegression(
            C=REGULARISATION, tol=1e-3, max_iter=500, class_weight="balanced"
        )
        self.fitted = make_pipeline(
            FeatureUnion([(str(i), v) for i, v in enumerate(vectorizers)]), model
        ).fit(texts, labels)  # kept to check the arithmetic below against (tests)
        self.intents = tuple(str(label) for label in model.classes_)
        weights = model.coef_.T  # one row per feature, one column per intent
        start = 0
        for vectorizer in vectorizers:
            size = len(vectorizer.vocabulary_)
            self._views.append(
                _View(
                    vectorizer.build_analyzer(),
                    {str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
                    vectorizer.idf_,
                    weights[start : start + size],
                )
            )
            start += size
        self._intercept = model.intercept_

    def probabilities(self, text: str, exclude: Collection[str] = ()) -> dict[str, float]:
        """Each intent's probability for `text`, those in `exclude` left out (the rest scaled
        to add up to 1); empty when there is nothing to go by."""
        normal = normalise(text)
        if not self._views or not normal:
            return {}
        logits = self._intercept + sum(view.logits(normal) for view in self._views)
        odds = np.exp(logits - logits.max())
        kept = {
            intent: float(p)
            for intent, p in zip(self.intents, odds, strict=True)
            if intent not in exclude
        }
        total = sum(kept.values())
        return {intent: p / total for intent, p in kept.items()} if total > 0 else {}


@dataclass(frozen=True)
class _View:
    """One vectorizer's part of the model: TF-IDF features (sublinear, L2-normed) × weights."""

    analyse: Callable[[str], list[str]]
    columns: dict[str, int]
    idf: np.ndarray
    weights: np.ndarray

    def logits(self, normal: str) -> np.ndarray | float:
        counts = Counter(f for f in self.analyse(normal) if f in self.columns)
        if not counts:
            return 0.0
        columns = np.fromiter((self.columns[f] for f in counts), dtype=np.intp, count=len(counts))
        values = (1 + np.log(np.fromiter(counts.values(), dtype=float))) * self.idf[columns]
        values /= np.linalg.norm(values)
        return values @ self.weights[columns]


def _unique(examples: Iterable[Example]) -> tuple[list[str], list[str]]:
    """Normalised texts, each once, with the intent it last stood for (a later correction wins)."""
    chosen: dict[str, str] = {}
    for example in examples:
        if normal := normalise(example.text):
            chosen[normal] = example.intent
    return list(chosen), list(chosen.values())


@lru_cache(maxsize=8)
def trained(examples: tuple[Example, ...]) -> IntentModel:
    """One model per set of examples: a reload with unchanged intents trains nothing."""
    return IntentModel(examples)
