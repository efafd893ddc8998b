"""Stand-ins for the `src.*` modules that suites written for the original LLMCompiler import.

An original-style `tools.py` starts with imports such as ``from src.agents.tools import Tool``
and ``from src.docstore.wikipedia import DocstoreExplorer, ReActWikipedia``. While
`load_suite` loads such a suite (and while it calls its `generate_tools`), `original_imports`
makes those names importable, backed by this package; afterwards they are gone from
`sys.modules` again. The finder sits at the end of `sys.meta_path`, so a real module of the
same name always wins, and when the user has a real `src` package nothing is installed at all.

Objects the suite creates at import time (a module-level `DocstoreExplorer`) reach the run's
shared services through the `Binding` that is current while they are created:
`Suite.tools(context)` binds it to the run's `SuiteContext`.
"""

from __future__ import annotations

import contextvars
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["MODULES", "Binding", "current_binding", "original_imports", "real_src"]

#: original module name -> the module of ours whose `__all__` it offers
MODULES: dict[str, str] = {
    "src.tools.base": "llmcompiler.compat.tools",
    "src.agents.tools": "llmcompiler.compat.tools",
    "src.llm_compiler.constants": "llmcompiler.compat.constants",
    "src.docstore.wikipedia": "llmcompiler.compat.docstore",
    "src.chains.llm_math_chain": "llmcompiler.compat.math_chain",
    "src.utils.model_utils": "llmcompiler.compat.model_utils",
    "src.utils.evaluation_utils": "llmcompiler.compat.evaluation_utils",
}
# The original's ReAct prompts build a `langchain.prompts.prompt.PromptTemplate`; served only
# when the installed langchain (if any) has no such module.
LANGCHAIN_MODULES: dict[str, str] = {
    "langchain.prompts.prompt": "llmcompiler.compat.prompts",
    "langchain.prompts": "llmcompiler.compat.prompts",
}
_PACKAGES = {"src", "src.tools", "src.agents", "src.llm_compiler", "src.docstore", "src.chains", "src.utils"}


@dataclass
class Binding:
    """What the suite's objects use at call time: the run's `SuiteContext` once bound."""

    context: Any = None

    def require(self, what: str) -> Any:
        if self.context is None:
            from llmcompiler.exceptions import ConfigurationError

            raise ConfigurationError(f"{what} of an original-style suite runs only inside a run (Suite.tools(context))")
        return self.context


_BINDING: contextvars.ContextVar[Binding | None] = contextvars.ContextVar("llmcompiler_compat_binding", default=None)


def current_binding() -> Binding:
    """The binding of the suite being loaded (a fresh unbound one outside a load)."""
    return _BINDING.get() or Binding()


def real_src() -> str | None:
    """Where the user's own regular `src` package lives, or None (none, or only a folder)."""
    module = sys.modules.get("src")
    if module is not None and not getattr(module, "__llmcompiler_compat__", False):
        return getattr(module, "__file__", None)  # None: a folder without __init__.py
    try:
        spec = importlib.util.find_spec("src")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin in (None, "namespace"):
        return None
    return spec.origin


class _Loader(importlib.abc.Loader):
    def __init__(self, source: str | None) -> None:
        self.source = source

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        module.__llmcompiler_compat__ = True  # type: ignore[attr-defined]
        if self.source is None:
            module.__path__ = []
            return
        ours = importlib.import_module(self.source)
        module.__dict__.update({name: getattr(ours, name) for name in ours.__all__})


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, *, src: bool, langchain: bool) -> None:
        self.table: dict[str, str] = {}
        self.packages: set[str] = set()
        if src:
            self.table.update(MODULES)
            self.packages |= _PACKAGES
        if langchain:
            self.table.update(LANGCHAIN_MODULES)
            if _absent("langchain"):
                self.packages.add("langchain")

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in self.table:
            package = fullname == "langchain.prompts"
            return importlib.machinery.ModuleSpec(fullname, _Loader(self.table[fullname]), is_package=package)
        if fullname in self.packages:
            return importlib.machinery.ModuleSpec(fullname, _Loader(None), is_package=True)
        return None


def _absent(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return True


@contextmanager
def original_imports(binding: Binding) -> Iterator[None]:
    """The original's `src.*` names importable (unless the user has a real `src`), and
    `binding` current, for the duration of the block; what the block imported through them
    is removed from `sys.modules` afterwards."""
    finder = _Finder(src=real_src() is None, langchain=_absent("langchain.prompts.prompt"))
    sys.meta_path.append(finder)
    token = _BINDING.set(binding)
    try:
        yield
    finally:
        _BINDING.reset(token)
        sys.meta_path.remove(finder)
        for name in [n for n, m in sys.modules.items() if getattr(m, "__llmcompiler_compat__", False)]:
            del sys.modules[name]
