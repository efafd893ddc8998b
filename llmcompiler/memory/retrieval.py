"""Ranking stored questions by their similarity to a new one.

BM25 (Okapi, k1=1.5, b=0.75) over word tokens is the default: it needs no model and no
download, and questions of one benchmark share their wording closely enough for lexical
overlap to find the similar ones. A retriever is anything with `rank(query, documents)`
returning (index, score) pairs, best first, scores > 0 only; the embeddings retriever
(`llmcompiler.memory.embeddings`) has the same shape.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

__all__ = ["BM25Retriever", "Retriever", "tokenize"]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Words that carry no topic: without this list, every question sharing "the" with the
# new one would score above zero and be shown to the planner as "similar".
_STOPWORDS = frozenset(
    """a an and are as at be by did do does for from had has have how i in is it its of on or
    s t than that the their them then there these they this to was were what when where which who
    whom whose why will with would you your""".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


class Retriever(Protocol):
    def rank(self, query: str, documents: Sequence[str]) -> list[tuple[int, float]]:
        """(index into documents, score) for every document scoring above zero, best first."""
        ...


class BM25Retriever:
    """Okapi BM25 scored over the given documents alone (their own idf), in pure Python."""

    name = "bm25"

    def __init__(self, *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        # a memory's questions are ranked again on every recall: split each one once
        self._tokens: dict[str, Counter[str]] = {}

    def _counts(self, text: str) -> Counter[str]:
        counts = self._tokens.get(text)
        if counts is None:
            counts = self._tokens[text] = Counter(tokenize(text))
        return counts

    def rank(self, query: str, documents: Sequence[str]) -> list[tuple[int, float]]:
        terms = set(tokenize(query))
        if not terms or not documents:
            return []
        docs = [self._counts(d) for d in documents]
        lengths = [sum(d.values()) for d in docs]
        average = sum(lengths) / len(docs) or 1.0
        frequency = Counter(t for d in docs for t in terms if t in d)
        n = len(docs)
        # the "+1" form of idf stays positive for a term found in most documents
        idf = {t: math.log((n - f + 0.5) / (f + 0.5) + 1.0) for t, f in frequency.items()}
        scored = []
        for i, (doc, length) in enumerate(zip(docs, lengths, strict=True)):
            score = 0.0
            for term, weight in idf.items():
                tf = doc.get(term, 0)
                if tf:
                    score += weight * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * length / average))
            if score > 0:
                scored.append((i, score))
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored
