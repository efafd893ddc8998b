"""Tool suites: a folder (or package) holding tools, prompts and settings for one benchmark.

The layout, shared by `configs/hotpotqa`, `configs/movie`, `configs/parallelqa` and by any
suite a user writes (see `configs/README.md`):

    configs.py        CONFIGS = {"name", "dataset", "default_model", "max_replans", "react_max_steps", ...}
    tools.py          get_tools(context) -> list of tools   (or TOOLS = [...])
    gpt_prompts.py    PLANNER_EXAMPLES, JOINER_EXAMPLES      (chat models)
    llama_prompts.py  PLANNER_EXAMPLES, JOINER_EXAMPLES      (completion models; optional)
    react_prompts.py  REACT_EXAMPLES, REACT_LLAMA_EXAMPLES   (the ReAct baseline; optional)

`load_suite(spec)` takes a folder path or a dotted module path. A folder needs no
`__init__.py`: it is loaded as a package of its own, under a private name, so two suites
never clash in `sys.modules`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import re
import sys
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmcompiler._imports import import_user_module
from llmcompiler.exceptions import ConfigurationError, LLMCompilerError

if TYPE_CHECKING:
    from llmcompiler.code.executor import InterpreterConfig
    from llmcompiler.code.tools import Interpreter


@dataclass
class SuiteContext:
    """What `get_tools(context)` may use: the model for tools that call one, and shared services.

    The code interpreter's settings (`interpreter_config`, an `InterpreterConfig`, and
    `workspace`, a folder or None for a new temporary one) are read when a suite first asks
    for `interpreter()`; `aclose` stops its kernels and processes (the folder stays).
    """

    model: Any = None
    wikipedia_url: str | None = None
    search_cache: str | None = None
    _wikipedia: Any = field(default=None, repr=False)
    interpreter_config: InterpreterConfig | None = None
    workspace: str | Path | None = None
    _interpreter: Interpreter | None = field(default=None, repr=False)

    def wikipedia(self) -> Any:
        """The one `WikipediaSearch` shared by every tool of the run (one HTTP session)."""
        if self._wikipedia is None:
            from llmcompiler.tools.wikipedia import WikipediaSearch

            self._wikipedia = WikipediaSearch(api_url=self.wikipedia_url, cache_path=self.search_cache)
        return self._wikipedia

    def interpreter(self) -> Interpreter:
        """The one `Interpreter` (workspace and executor) shared by every code tool of the run."""
        if self._interpreter is None:
            from llmcompiler.code.tools import Interpreter

            self._interpreter = Interpreter(config=self.interpreter_config, workspace=self.workspace)
        return self._interpreter

    @property
    def has_interpreter(self) -> bool:
        """Whether `interpreter()` was called (so a workspace exists)."""
        return self._interpreter is not None

    async def aclose(self) -> None:
        try:
            if self._wikipedia is not None:
                await self._wikipedia.aclose()
        finally:  # no kernel may outlive the run, whatever else failed to close
            if self._interpreter is not None:
                await self._interpreter.aclose()


@dataclass
class Suite:
    name: str
    source: str
    configs: dict[str, Any]
    modules: dict[str, types.ModuleType]

    def prompts(self, *, llama: bool = False) -> tuple[str, str]:
        """(planner examples, joiner examples); llama prompts fall back to the gpt ones."""
        module = self.modules.get("llama_prompts") if llama else None
        module = module or self.modules.get("gpt_prompts")
        if module is None:
            return "", ""
        return getattr(module, "PLANNER_EXAMPLES", ""), getattr(module, "JOINER_EXAMPLES", "")

    def react_examples(self, *, llama: bool = False) -> str:
        module = self.modules.get("react_prompts")
        if module is None:
            return ""
        if llama and getattr(module, "REACT_LLAMA_EXAMPLES", None):
            return module.REACT_LLAMA_EXAMPLES
        return getattr(module, "REACT_EXAMPLES", "")

    def tools(self, context: SuiteContext) -> list[Any]:
        """The suite's tools; whatever goes wrong in the suite's code is one ConfigurationError
        naming the file and the function (the original exception is its __cause__)."""
        module = self.modules["tools"]
        where = getattr(module, "__file__", None) or f"{self.source}/tools.py"
        factory = getattr(module, "get_tools", None)
        if callable(factory):
            wanted: bool
            try:
                wanted = bool(inspect.signature(factory).parameters)
            except (TypeError, ValueError):  # a builtin or C callable has no signature: pass the context
                wanted = True
            call = "get_tools(context)" if wanted else "get_tools()"
            try:
                tools = factory(context) if wanted else factory()
            except LLMCompilerError:
                raise  # already one precise line (a missing key, a bad setting)
            except Exception as exc:
                raise ConfigurationError(f"{where}: {call} raised {type(exc).__name__}: {exc}") from exc
        elif hasattr(module, "TOOLS"):
            call, tools = "TOOLS", module.TOOLS
        else:
            raise ConfigurationError(f"{where} must define get_tools(context) or TOOLS")
        if isinstance(tools, (str, bytes)) or not isinstance(tools, Iterable):
            raise ConfigurationError(f"{where}: {call} must be a list of tools, not {type(tools).__name__}")
        return list(tools)

    def setting(self, key: str, default: Any = None) -> Any:
        return self.configs.get(key, default)

    def build_agent(
        self,
        tools: list[Any],
        models: ModelPool,
        *,
        react: bool = False,
        llama: bool = False,
        examples: bool = True,
        max_replans: int | None = None,
        timeout: float | None = None,
        stream: bool = True,
        plan_grammar: str = "off",
        memory: Any = None,
        memory_k: int = 3,
    ) -> Any:
        """LLMCompiler (planner and joiner from `models`) or ReAct with this suite's settings.

        `examples=False` leaves the suite's in-context examples out (tools from elsewhere).
        `plan_grammar` constrains the planner alone to the plan format over these tools:
        "vllm" sends `plan_regex(tools)` as vLLM's structured output, "gbnf" sends
        `plan_gbnf(tools)` as llama.cpp's `grammar`; the joiner and ReAct are never
        constrained.
        `memory` (a `SolutionMemory`) shows the agent the `memory_k` most similar solved
        questions of this suite (by its name) ahead of its examples.
        """
        from llmcompiler.agents import LLMCompiler, ReActAgent

        if plan_grammar not in PLAN_GRAMMARS:
            raise ConfigurationError(f"plan_grammar must be one of {', '.join(PLAN_GRAMMARS)}, not {plan_grammar!r}")

        if react:
            return ReActAgent(
                tools=tools,
                model=models.first(),
                examples=self.react_examples(llama=llama) if examples else "",
                max_steps=int(self.setting("react_max_steps", 10)),
                timeout=timeout,
                memory=memory,
                memory_suite=self.name,
                memory_k=memory_k,
            )
        planner_examples, joiner_examples = self.prompts(llama=llama) if examples else ("", "")
        if plan_grammar == "off":
            planner = models.first()
        elif isinstance(models, ModelPool):  # its own model: first() also serves the tools
            planner = models.new("planner", **_grammar_options(plan_grammar, tools))
        else:
            raise ConfigurationError(
                f"--plan_grammar {plan_grammar} needs a model served over HTTP, not scripted replies"
            )
        return LLMCompiler(
            tools=tools,
            planner=planner,
            joiner=models.new(),
            planner_examples=planner_examples,
            joiner_examples=joiner_examples,
            max_replans=max_replans if max_replans is not None else int(self.setting("max_replans", 2)),
            stream=stream,
            timeout=timeout,
            memory=memory,
            memory_suite=self.name,
            memory_k=memory_k,
        )


PLAN_GRAMMARS = ("off", "vllm", "gbnf")


def _grammar_options(kind: str, tools: list[Any]) -> dict[str, str]:
    """`get_model` options constraining a planner to plans over `tools` (the run's own)."""
    from llmcompiler.plan.grammar import plan_gbnf, plan_regex
    from llmcompiler.tools import as_tools

    names = list(as_tools(tools))
    return {"regex": plan_regex(names)} if kind == "vllm" else {"grammar": plan_gbnf(names)}


class ModelPool:
    """Models opened with one set of `get_model` options, closed together by `aclose`.

    `first()` is the planner (the ReAct model with `react=True`), also the model tools ask;
    `new(role)` opens another one, a joiner unless told otherwise, with `overrides` on top
    of the pool's options. Each role gets its own completion limit: `max_tokens` for all of
    them, or when None the role's `ROLE_MAX_TOKENS`.

    Opening the first model checks the credentials, so a missing key stops a command before
    any work is done.
    """

    def __init__(
        self,
        model_type: str,
        model_name: str | None,
        *,
        react: bool = False,
        max_tokens: int | None = None,
        **options: Any,
    ) -> None:
        self._args = (model_type, model_name)
        self._first_role = "react" if react else "planner"
        self._max_tokens = max_tokens
        self._options = options
        self._models: list[Any] = []
        self._first: Any = None

    def new(self, role: str = "joiner", **overrides: Any) -> Any:
        from llmcompiler.llm import get_model
        from llmcompiler.llm.base import ROLE_MAX_TOKENS

        limit = self._max_tokens if self._max_tokens is not None else ROLE_MAX_TOKENS.get(role)
        self._models.append(get_model(*self._args, **{**self._options, "max_tokens": limit, **overrides}))
        return self._models[-1]

    def first(self) -> Any:
        """The same model on every call (not whichever was opened first: that may be a
        planner with a grammar, which tools must not get)."""
        if self._first is None:
            self._first = self.new(self._first_role)
        return self._first

    async def aclose(self) -> None:
        for model in self._models:
            closer = getattr(model, "aclose", None)
            if closer is not None:
                await closer()


_MODULE_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_PARTS = ("configs", "tools", "gpt_prompts", "llama_prompts", "react_prompts")
_REQUIRED = ("tools",)


def load_suite(spec: str | Path) -> Suite:
    """Load a suite from a folder path, a packaged suite's name (`code`, `general`, `hotpotqa`, ...)
    or a dotted module path; errors name what is missing.

    A folder of that name wins over a packaged suite, and a packaged suite over a top-level
    module (`code` would otherwise be the standard library's)."""
    path = Path(spec).expanduser()
    packaged = _packaged_suite(spec)
    if path.is_dir():
        package = _package_for_folder(path.resolve())
        source = str(path)
    elif packaged is not None:
        package = importlib.import_module(packaged)
        source = packaged
    elif isinstance(spec, str) and _MODULE_PATH.fullmatch(spec):
        try:
            package = import_user_module(spec)
        except ImportError as exc:
            raise ConfigurationError(f"cannot load the tool suite {spec!r}: not a folder, and {exc}") from exc
        except Exception as exc:  # the user's package's __init__ ran and failed
            raise ConfigurationError(f"the tool suite {spec!r} failed to load: {type(exc).__name__}: {exc}") from exc
        source = spec
    else:
        raise ConfigurationError(f"cannot load the tool suite {str(spec)!r}: no such folder")
    modules: dict[str, types.ModuleType] = {}
    for part in _PARTS:
        name = f"{package.__name__}.{part}"
        if importlib.util.find_spec(name) is None:
            if part in _REQUIRED:
                raise ConfigurationError(f"the tool suite {source!r} has no {part}.py")
            continue
        try:
            modules[part] = importlib.import_module(name)
        except Exception as exc:
            raise ConfigurationError(f"{source}/{part}.py failed to load: {type(exc).__name__}: {exc}") from exc
    configs = getattr(modules.get("configs"), "CONFIGS", {})
    if not isinstance(configs, Mapping):
        raise ConfigurationError(f"{source}/configs.py: CONFIGS must be a dict")
    name = str(configs.get("name") or Path(str(spec)).name or source)
    return Suite(name=name, source=source, configs=dict(configs), modules=modules)


def _packaged_suite(spec: str | Path) -> str | None:
    """`llmcompiler.suites.NAME` for a bare NAME the package ships, else None."""
    if not isinstance(spec, str) or not spec.isidentifier():
        return None
    name = f"llmcompiler.suites.{spec}"
    try:
        found = importlib.util.find_spec(name)
    except ImportError:
        return None
    return name if found is not None and found.submodule_search_locations else None


def _package_for_folder(folder: Path) -> types.ModuleType:
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:10]
    name = f"_llmcompiler_suite_{folder.name.replace('-', '_')}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    init = folder / "__init__.py"
    if init.exists():
        module_spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
        assert module_spec is not None and module_spec.loader is not None
        package = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = package
        try:
            module_spec.loader.exec_module(package)
        except Exception as exc:
            del sys.modules[name]  # a fixed __init__.py is read again on the next load
            raise ConfigurationError(f"{init} failed to load: {type(exc).__name__}: {exc}") from exc
    else:
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        package.__file__ = None
        sys.modules[name] = package
    return package
