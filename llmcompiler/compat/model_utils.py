"""`src.utils.model_utils.get_model`: the run's own model, whatever the arguments say.

The original's `generate_tools` opens a model for its math chain with `get_model(model_type=...,
model_name=..., ...)`. Here every tool model is the run's (`SuiteContext.model`: the same
backend, address, key and limits as the planner), so the arguments are accepted and unused.
"""

from __future__ import annotations

from typing import Any

from llmcompiler.compat import Binding, current_binding

__all__ = ["get_model"]


class RunModel:
    """Stands for `SuiteContext.model` until a run binds it."""

    def __init__(self, binding: Binding) -> None:
        self._binding = binding

    def resolve(self) -> Any:
        return self._binding.require("the model of get_model()").model

    def opener(self) -> Any:
        """A callable opening a new model with the run's settings (for another event loop), or None."""
        return getattr(self._binding.require("the model of get_model()"), "open_model", None)


def get_model(**options: Any) -> RunModel:
    return RunModel(current_binding())
