"""Classifiers operators train from their own labelled items (phân loại theo nhãn của cán bộ).

Multinomial naive Bayes over segmented words (and their folded forms), Laplace smoothing, in pure Python:
nothing is downloaded, a model is a small JSON document, and training on a few thousand items takes well
under a second. `train()` holds out a fifth of each class (every fifth item, in a fixed order) to report the
accuracy, then fits on everything.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from toancanh.core.errors import BadRequest

MIN_PER_CLASS = 3
MAX_VOCABULARY = 20_000
MODEL_VERSION = 1


@dataclass
class NaiveBayes:
    classes: list[str]
    priors: dict[str, float]  # log P(class)
    log_likelihood: dict[str, dict[str, float]]  # class -> word -> log P(word | class)
    unseen: dict[str, float]  # class -> log P(unknown word | class)

    def scores(self, tokens: Sequence[str]) -> dict[str, float]:
        out = {}
        for c in self.classes:
            ll, miss = self.log_likelihood[c], self.unseen[c]
            out[c] = self.priors[c] + sum(ll.get(t, miss) for t in tokens if t in self._vocab)
        return out

    @property
    def _vocab(self) -> set[str]:
        v = getattr(self, "_v", None)
        if v is None:
            v = set()
            for ll in self.log_likelihood.values():
                v.update(ll)
            self._v = v
        return v

    def predict(self, tokens: Sequence[str]) -> tuple[str, float]:
        """The most likely class and its posterior probability (the confidence shown)."""
        scores = self.scores(tokens)
        best = max(scores, key=lambda c: (scores[c], c))
        top = scores[best]
        total = sum(math.exp(s - top) for s in scores.values())
        return best, 1.0 / total

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MODEL_VERSION,
            "classes": self.classes,
            "priors": self.priors,
            "log_likelihood": self.log_likelihood,
            "unseen": self.unseen,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NaiveBayes:
        return cls(data["classes"], data["priors"], data["log_likelihood"], data["unseen"])


def fit(docs: Sequence[Sequence[str]], labels: Sequence[str], alpha: float = 1.0) -> NaiveBayes:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    n_docs: Counter[str] = Counter()
    for tokens, label in zip(docs, labels, strict=True):
        counts[label].update(tokens)
        n_docs[label] += 1
    overall: Counter[str] = Counter()
    for c in counts.values():
        overall.update(c)
    vocab = [w for w, _ in overall.most_common(MAX_VOCABULARY)]
    classes = sorted(n_docs)
    total_docs = sum(n_docs.values())
    priors = {c: math.log(n_docs[c] / total_docs) for c in classes}
    ll: dict[str, dict[str, float]] = {}
    unseen: dict[str, float] = {}
    for c in classes:
        cnt = counts[c]
        denom = sum(cnt[w] for w in vocab) + alpha * (len(vocab) + 1)
        ll[c] = {w: math.log((cnt[w] + alpha) / denom) for w in vocab if cnt[w]}
        unseen[c] = math.log(alpha / denom)
    return NaiveBayes(classes, priors, ll, unseen)


@dataclass
class Trained:
    model: NaiveBayes
    accuracy: float
    n_train: int
    n_test: int
    per_class: dict[str, dict[str, float]]  # class -> {n, precision, recall}


def train(docs: Sequence[Sequence[str]], labels: Sequence[str]) -> Trained:
    """Fit on labelled items, reporting the accuracy on a held-out fifth of each class."""
    if len(docs) != len(labels):
        raise BadRequest("Số mẫu và số nhãn khác nhau", "Samples and labels differ in number")
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    if len(by_class) < 2:
        raise BadRequest(
            "Cần nhãn của ít nhất 2 loại để huấn luyện", "Training needs labels of at least 2 classes"
        )
    few = sorted(c for c, idx in by_class.items() if len(idx) < MIN_PER_CLASS)
    if few:
        raise BadRequest(
            f"Mỗi loại cần ít nhất {MIN_PER_CLASS} mục đã gán nhãn; còn thiếu: {', '.join(few)}",
            f"Each class needs at least {MIN_PER_CLASS} labelled items; too few: {', '.join(few)}",
        )
    test = {idx[k] for idx in by_class.values() for k in range(2, len(idx), 5)}
    train_idx = [i for i in range(len(docs)) if i not in test]
    held = fit([docs[i] for i in train_idx], [labels[i] for i in train_idx])
    tp: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    for i in sorted(test):
        guess, _ = held.predict(docs[i])
        predicted[guess] += 1
        actual[labels[i]] += 1
        if guess == labels[i]:
            tp[guess] += 1
    n_test = len(test)
    accuracy = sum(tp.values()) / n_test if n_test else 0.0
    per_class = {
        c: {
            "n": float(len(by_class[c])),
            "precision": tp[c] / predicted[c] if predicted[c] else 0.0,
            "recall": tp[c] / actual[c] if actual[c] else 0.0,
        }
        for c in sorted(by_class)
    }
    return Trained(fit(docs, labels), accuracy, len(train_idx), n_test, per_class)
