"""Plans: `Task`/`Ref`, the streaming `PlanParser`, and task-graph helpers.

This package imports nothing else from llmcompiler. The graph helpers need networkx and
are loaded on first use, so `import llmcompiler.plan` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmcompiler.plan.grammar import plan_gbnf, plan_regex
from llmcompiler.plan.parser import END_OF_PLAN, PlanParser
from llmcompiler.plan.task import JOIN, Ref, Task

if TYPE_CHECKING:
    from llmcompiler.plan.graph import critical_path as critical_path
    from llmcompiler.plan.graph import to_mermaid as to_mermaid
    from llmcompiler.plan.graph import to_networkx as to_networkx
    from llmcompiler.plan.graph import validate as validate
    from llmcompiler.plan.graph import waves as waves

_GRAPH = ("critical_path", "to_mermaid", "to_networkx", "validate", "waves")

__all__ = ["END_OF_PLAN", "JOIN", "PlanParser", "Ref", "Task", "plan_gbnf", "plan_regex", *_GRAPH]


def __getattr__(name: str) -> Any:
    if name in _GRAPH:
        from llmcompiler.plan import graph

        return getattr(graph, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_GRAPH])
