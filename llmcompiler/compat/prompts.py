"""`langchain.prompts.prompt.PromptTemplate` for the original's ReAct prompts, when the
installed langchain has none: langchain-core's class, which the package depends on."""

from __future__ import annotations

from langchain_core.prompts import PromptTemplate

__all__ = ["PromptTemplate"]
