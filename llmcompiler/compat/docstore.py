"""`src.docstore.wikipedia`: `ReActWikipedia` and `DocstoreExplorer` over the run's Wikipedia.

Both are made at import time by the original's `tools.py`; every lookup goes to the run's
shared `WikipediaSearch` (`SuiteContext.wikipedia()`: its URL, cache and HTTP session), so
`--wikipedia_url` and `--search_cache` apply to them as to our own suites. `search` (sync,
used by the original's ReAct tools) runs the lookup on an event loop of its own: the
runtime calls a sync tool in a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from llmcompiler.compat import Binding, current_binding
from llmcompiler.tools.wikipedia import split_sentences

__all__ = ["DocstoreExplorer", "ReActWikipedia"]


class ReActWikipedia:
    """The original's Wikipedia docstore; its options (`benchmark`, ...) have no effect here."""

    def __init__(self, benchmark: bool = False, skip_retry_when_postprocess: bool = False) -> None:
        self._binding: Binding = current_binding()

    async def asearch(self, entity: str) -> str:
        return str(await self._binding.require("a Wikipedia search").wikipedia().search(entity))

    def search(self, entity: str) -> str:
        return asyncio.run(self.asearch(entity))


class DocstoreExplorer:
    """`DocstoreExplorer(docstore, char_limit=None, one_sentence=False)`: what `search`
    returns, cut to its first sentence and/or its first `char_limit` characters."""

    def __init__(self, docstore: Any, char_limit: int | None = None, one_sentence: bool = False) -> None:
        self.docstore = docstore
        self.char_limit = char_limit
        self.one_sentence = one_sentence

    def _shorten(self, text: str) -> str:
        if self.one_sentence:
            sentences = split_sentences(text)
            text = sentences[0] if sentences else text
        if self.char_limit is not None:
            text = text[: self.char_limit]
        return text

    async def asearch(self, term: str) -> str:
        return self._shorten(await self.docstore.asearch(term))

    def search(self, term: str) -> str:
        return self._shorten(self.docstore.search(term))
