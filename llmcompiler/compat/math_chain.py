"""`src.chains.llm_math_chain.LLMMathChain`: `from_llm(llm=...)`, then `run(text)` -> "Answer: N".

`run` asks the model for an expression and evaluates it with our math tool
(`llmcompiler.tools.math`); the text may carry the question and its context, as the
original's parallelqa tools pass it. The original calls `run` synchronously inside an
`async` tool, so `run` does its work on an event loop of its own in a helper thread, and
the run's loop waits meanwhile, as it did in the original.
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
        from llmcompiler.tools.math import make_math_tool

        solve = make_math_tool(self._model()).func
        return f"Answer: {await solve(str(text))}"

    def run(self, text: str) -> str:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self.arun(text)).result()
