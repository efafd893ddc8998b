"""`src.chains.llm_math_chain.LLMMathChain`: `from_llm(llm=...)`, then `run(text)` -> "Answer: N".

`run` asks the model for an expression and evaluates it with our math tool
(`llmcompiler.tools.math`); the text may carry the question and its context, as the
original's parallelqa tools pass it. The original calls `run` synchronously inside an
`async` tool, so `run` does its work on an event loop of its own in a helper thread, with a
model of its own (`SuiteContext.open_model`: the run's settings; a model's connections
belong to one loop), and the run's loop waits meanwhile, as it did in the original.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

from llmcompiler.compat.model_utils import RunModel

__all__ = ["LLMMathChain"]


class LLMMathChain:
    def __init__(self, llm: Any) -> None:
        self.llm = llm

    @classmethod
    def from_llm(cls, llm: Any, verbose: bool = False, **options: Any) -> LLMMathChain:
        return cls(llm)

    def _model(self) -> Any:
        return self.llm.resolve() if isinstance(self.llm, RunModel) else self.llm

    async def arun(self, text: str) -> str:
        """On the run's loop, with the run's model."""
        return await _solve(self._model(), text)

    def run(self, text: str) -> str:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self._detached(text)).result()

    async def _detached(self, text: str) -> str:
        opener = self.llm.opener() if isinstance(self.llm, RunModel) else None
        if opener is None:  # a model the suite made itself, or a context without an opener
            return await _solve(self._model(), text)
        model = opener()
        try:
            return await _solve(model, text)
        finally:
            closer = getattr(model, "aclose", None)
            if closer is not None:
                await closer()


async def _solve(model: Any, text: str) -> str:
    from llmcompiler.tools.math import make_math_tool

    return f"Answer: {await make_math_tool(model).func(str(text))}"
