"""The memory of solved questions: SQLite storage and retrieval as in-context examples.

    memory = SolutionMemory()                        # <cache dir>/memory.sqlite3
    await memory.aremember(question, result, suite="movie", model="gpt-4o")
    similar = await memory.arecall(question, suite="movie", k=3)
    text = memory.examples_text(similar)             # goes ahead of the suite's examples

Agents take `memory=`, `memory_suite=` and `memory_k=` and recall before their first
planner call; storing is the caller's decision (the cascade, the CLI). See docs/memory.md.
"""

from llmcompiler.memory.retrieval import BM25Retriever, Retriever, tokenize
from llmcompiler.memory.store import Solution, SolutionMemory, default_memory_path

__all__ = ["BM25Retriever", "Retriever", "Solution", "SolutionMemory", "default_memory_path", "tokenize"]
