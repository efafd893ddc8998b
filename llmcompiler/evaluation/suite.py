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

Suites written for the original LLMCompiler load unchanged (docs/original-compat.md): their
`CONFIGS["prompts"]` (`planner_prompt`, `output_prompt` per prompt set) or, for ReAct,
`CONFIGS["prompt"]`; `tools = [...]` or `generate_tools(args)` / `generate_tools(args,
model_name)`; their absolute imports `configs.FOLDER.NAME`, which resolve to the folder
being loaded while it loads; and the `src.*` modules their files import, served by
`llmcompiler.compat` during the load only. Such a suite's `max_replans` keeps the
original's meaning: the number of planning rounds, so `max_replans: 1` is one plan.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmcompiler._imports import import_user_module
from llmcompiler.compat import Binding, original_imports, real_src
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
    open_model: Callable[[], Any] | None = None  # a new model like `model`, for another event loop; caller closes
    args: argparse.Namespace | None = None  # the command's options, for an original-style generate_tools(args)
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
    """A loaded suite. `original` is true for a suite in the original LLMCompiler's layout
    (its CONFIGS has `prompts` or `prompt`); `warnings` are one-line notes found while
    loading (an empty prompt, an unused key), for the command to print."""

    name: str
    source: str
    configs: dict[str, Any]
    modules: dict[str, types.ModuleType]
    original: bool = False
    warnings: list[str] = field(default_factory=list)
    binding: Binding = field(default_factory=Binding, repr=False)
    imports: Callable[[], AbstractContextManager[None]] = field(default=nullcontext, repr=False)

    def prompts(self, *, llama: bool = False) -> tuple[str, str]:
        """(planner examples, joiner examples); llama prompts fall back to the gpt ones."""
        if self.original:
            chosen = _original_prompt_set(self.configs.get("prompts"), llama=llama)
            if chosen is None:
                return "", ""
            return str(chosen.get("planner_prompt") or ""), str(chosen.get("output_prompt") or "")
        module = self.modules.get("llama_prompts") if llama else None
        module = module or self.modules.get("gpt_prompts")
        if module is None:
            return "", ""
        return _named(module, "PLANNER_EXAMPLES", "PLANNER_PROMPT"), _named(module, "JOINER_EXAMPLES", "OUTPUT_PROMPT")

    def react_examples(self, *, llama: bool = False) -> str:
        if self.original and isinstance(self.configs.get("prompt"), Mapping):
            prompts = self.configs["prompt"]
            return _template_text(prompts.get("llama") if llama and prompts.get("llama") else prompts.get("gpt"))
        module = self.modules.get("react_prompts")
        if module is None:
            return ""
        if llama and getattr(module, "REACT_LLAMA_EXAMPLES", None):
            return module.REACT_LLAMA_EXAMPLES
        return getattr(module, "REACT_EXAMPLES", "")

    def replans(self) -> int:
        """Extra plans the joiner may ask for (our `max_replans`). An original-style suite's
        `max_replans` counts planning rounds, as the original's loop did: one less."""
        value = self.setting("max_replans", 1 if self.original else 2)
        return int(value) - 1 if self.original else int(value)

    def tools(self, context: SuiteContext) -> list[Any]:
        """The suite's tools; whatever goes wrong in the suite's code is one ConfigurationError
        naming the file and the function (the original exception is its __cause__)."""
        module = self.modules["tools"]
        where = getattr(module, "__file__", None) or f"{self.source}/tools.py"
        factory = getattr(module, "get_tools", None)
        self.binding.context = context  # objects an original-style tools.py made at import reach the run through it
        if not callable(factory) and not hasattr(module, "TOOLS"):
            return self._original_tools(module, where, context)
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
        else:
            call, tools = "TOOLS", module.TOOLS
        return _tool_list(tools, where, call)

    def _original_tools(self, module: types.ModuleType, where: str, context: SuiteContext) -> list[Any]:
        """`generate_tools(args)` / `generate_tools(args, model_name)`, or `tools`, as the
        original's run_llm_compiler.py took them."""
        factory = getattr(module, "generate_tools", None)
        if callable(factory):
            args = context.args if context.args is not None else self._default_args()
            model_name = getattr(args, "model_name", None) or self.setting("default_model")
            try:
                wanted = len(inspect.signature(factory).parameters)
            except (TypeError, ValueError):
                wanted = 1
            call = "generate_tools(args, model_name)" if wanted >= 2 else "generate_tools(args)"
            try:
                with self.imports():  # a generate_tools that imports src.* in its body finds it too
                    tools = factory(args, model_name) if wanted >= 2 else factory(args)
            except LLMCompilerError:
                raise
            except Exception as exc:
                raise ConfigurationError(f"{where}: {call} raised {type(exc).__name__}: {exc}") from exc
            return _tool_list(tools, where, call)
        if hasattr(module, "tools"):
            return _tool_list(module.tools, where, "tools")
        raise ConfigurationError(
            f"{where} must define get_tools(context) or TOOLS (or, as in the original LLMCompiler, "
            "tools = [...] or generate_tools(args))"
        )

    def _default_args(self) -> argparse.Namespace:
        """The options an original-style generate_tools reads, when no command gave any."""
        return argparse.Namespace(
            model_type="openai",
            model_name=None,
            api_key=None,
            vllm_port=None,
            stream=True,
            react=False,
            benchmark_name=self.name,
        )

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
            max_replans=max_replans if max_replans is not None else self.replans(),
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

    `rpm` / `tpm`: requests and tokens per minute that every model the pool opens over HTTP
    shares (one `RateLimiter` per pool, so per run; `detached()` models, used on another
    event loop, are not limited), counted over `window` seconds. `limiter`: a limiter of
    its own instead (anything with `for_model(name)`: a Ray worker's proxy of the run's).
    """

    def __init__(
        self,
        model_type: str,
        model_name: str | None,
        *,
        react: bool = False,
        max_tokens: int | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        window: float = 60.0,
        limiter: Any = None,
        **options: Any,
    ) -> None:
        from llmcompiler.llm.ratelimit import RateLimiter

        if limiter is None and (rpm is not None or tpm is not None):
            limiter = RateLimiter(rpm=rpm, tpm=tpm, window=window)
        self._limiter = limiter
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
        model = get_model(*self._args, **{**self._options, "max_tokens": limit, **overrides})
        if self._limiter is not None and hasattr(model, "rate_limit"):  # models over HTTP only
            model.rate_limit = self._limiter.for_model(model.name)
        self._models.append(model)
        return model

    def detached(self) -> Any:
        """A new model like `first()` (the one tools get) that the pool does not close: the
        caller does, on the event loop it used it on."""
        from llmcompiler.llm import get_model
        from llmcompiler.llm.base import ROLE_MAX_TOKENS

        limit = self._max_tokens if self._max_tokens is not None else ROLE_MAX_TOKENS.get(self._first_role)
        return get_model(*self._args, **{**self._options, "max_tokens": limit})

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
    folder: Path | None = None
    if path.is_dir():
        folder = path.resolve()
        package = _package_for_folder(folder)
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
    binding = Binding()

    def imports() -> AbstractContextManager[None]:
        return _suite_imports(folder, package, binding)

    modules: dict[str, types.ModuleType] = {}
    with imports():
        for part in _PARTS:
            name = f"{package.__name__}.{part}"
            if importlib.util.find_spec(name) is None:
                if part in _REQUIRED:
                    raise ConfigurationError(f"the tool suite {source!r} has no {part}.py")
                continue
            try:
                modules[part] = importlib.import_module(name)
            except Exception as exc:
                raise ConfigurationError(
                    f"{source}/{part}.py failed to load: {type(exc).__name__}: {exc}{_import_hint(exc, folder)}"
                ) from exc
    configs = getattr(modules.get("configs"), "CONFIGS", {})
    if not isinstance(configs, Mapping):
        raise ConfigurationError(f"{source}/configs.py: CONFIGS must be a dict")
    name = str(configs.get("name") or Path(str(spec)).name or source)
    original = "prompts" in configs or "prompt" in configs
    suite = Suite(
        name=name,
        source=source,
        configs=dict(configs),
        modules=modules,
        original=original,
        binding=binding,
        imports=imports,
    )
    suite.warnings.extend(_check_original(suite) if original else _check_ours(suite))
    return suite


def _tool_list(tools: Any, where: str, call: str) -> list[Any]:
    if isinstance(tools, (str, bytes)) or not isinstance(tools, Iterable):
        raise ConfigurationError(f"{where}: {call} must be a list of tools, not {type(tools).__name__}")
    return list(tools)


def _named(module: types.ModuleType, *names: str) -> str:
    """The first of `names` the module defines (ours first, then the original's), else ""."""
    for name in names:
        if hasattr(module, name):
            return str(getattr(module, name) or "")
    return ""


def _original_prompt_set(prompts: Any, *, llama: bool) -> Mapping[str, Any] | None:
    if not isinstance(prompts, Mapping):
        return None
    chosen = prompts.get("llama") if llama else None
    chosen = chosen or prompts.get("gpt")
    return chosen if isinstance(chosen, Mapping) else None


def _template_text(prompt: Any) -> str:
    """A ReAct prompt as text: a string as written; a prompt template's text up to its
    question slot (the ReAct agent adds the question and the steps itself)."""
    if prompt is None:
        return ""
    text = prompt if isinstance(prompt, str) else getattr(prompt, "template", None)
    if not isinstance(text, str):
        raise ConfigurationError(f"a ReAct prompt must be a string or a PromptTemplate, not {type(prompt).__name__}")
    cut = text.rfind("{input}")
    if cut >= 0:
        text = text[: text.rfind("Question:", 0, cut) if "Question:" in text[:cut] else cut]
    return text.replace("{{", "{").replace("}}", "}").strip() + "\n"


def _check_original(suite: Suite) -> list[str]:
    """Refuse what the original would have failed on; note what is loaded empty or unused."""
    where = f"{suite.source}/configs.py"
    configs = suite.configs
    notes: list[str] = []
    if "prompts" in configs:
        prompts = configs["prompts"]
        if not isinstance(prompts, Mapping) or not isinstance(prompts.get("gpt"), Mapping):
            raise ConfigurationError(f"{where}: CONFIGS['prompts'] must be a dict with a 'gpt' dict of prompts")
        for kind, chosen in prompts.items():
            if not isinstance(chosen, Mapping):
                raise ConfigurationError(f"{where}: CONFIGS['prompts'][{kind!r}] must be a dict")
            for key in ("planner_prompt", "output_prompt"):
                value = chosen.get(key)
                if value is not None and not isinstance(value, str):
                    raise ConfigurationError(
                        f"{where}: CONFIGS['prompts'][{kind!r}][{key!r}] must be a string, not {type(value).__name__}"
                    )
                if not value:
                    notes.append(f"warning: {where}: CONFIGS['prompts'][{kind!r}][{key!r}] is empty or missing")
            for key in ("planner_prompt_replan", "output_prompt_final"):
                if chosen.get(key):
                    notes.append(
                        f"warning: {where}: CONFIGS['prompts'][{kind!r}][{key!r}] is not used here "
                        "(every round uses planner_prompt and output_prompt)"
                    )
        rounds = configs.get("max_replans", 1)
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ConfigurationError(
                f"{where}: max_replans is {rounds!r}; in an original-style suite it counts planning rounds "
                "and must be a whole number >= 1 (1 = one plan, no replanning)"
            )
    elif not _template_text(configs["prompt"].get("gpt") if isinstance(configs["prompt"], Mapping) else None).strip():
        notes.append(f"warning: {where}: CONFIGS['prompt']['gpt'] (the ReAct prompt) is empty or missing")
    return notes


def _check_ours(suite: Suite) -> list[str]:
    notes = []
    if "gpt_prompts" not in suite.modules and "llama_prompts" not in suite.modules:
        notes.append(
            f"warning: the suite {suite.source!r} has no gpt_prompts.py: the planner and joiner get no examples"
        )
    for part in ("gpt_prompts", "llama_prompts"):
        module = suite.modules.get(part)
        if module is None:
            continue
        for names in (("PLANNER_EXAMPLES", "PLANNER_PROMPT"), ("JOINER_EXAMPLES", "OUTPUT_PROMPT")):
            if not _named(module, *names):
                notes.append(
                    f"warning: {suite.source}/{part}.py defines no {names[0]} (nor {names[1]}); it loads as empty"
                )
    return notes


def _import_hint(exc: Exception, folder: Path | None) -> str:
    missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    if not missing:
        return ""
    if missing.split(".")[0] == "configs" and folder is not None:
        return f" (a suite imports its own files as configs.{folder.name}.NAME while it loads)"
    if missing.split(".")[0] not in ("src", "langchain"):
        return ""
    where = real_src() or _foreign_src()
    if where is not None:
        return f" (the src package at {where} is imported instead of llmcompiler's stand-ins)"
    if missing.split(".")[0] == "src":
        return " (llmcompiler stands in for the original's src.* modules listed in docs/original-compat.md only)"
    return ""


def _foreign_src() -> str | None:
    """Where a `src` folder on sys.path (a namespace package, such as the original's own
    checkout) was imported from, when it was."""
    module = sys.modules.get("src")
    if module is None or getattr(module, "__llmcompiler_compat__", False):
        return None
    return next(iter(getattr(module, "__path__", None) or []), None)


class _ExistingModule(importlib.abc.Loader):
    """Serves a module already loaded under another name (keeping its own spec)."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self.spec


class _FolderAlias(importlib.abc.MetaPathFinder):
    """`configs.FOLDER` and `configs.FOLDER.NAME` are the suite's own package and files."""

    def __init__(self, alias: str, package: str) -> None:
        self.alias, self.package = alias, package

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == self.alias:
            real = self.package
        elif fullname.startswith(self.alias + "."):
            real = self.package + fullname[len(self.alias) :]
            if importlib.util.find_spec(real) is None:
                return None
        else:
            return None
        module = importlib.import_module(real)
        return importlib.machinery.ModuleSpec(fullname, _ExistingModule(module), is_package=hasattr(module, "__path__"))


def _is_configs(name: str) -> bool:
    return name == "configs" or name.startswith("configs.")


@contextmanager
def _suite_imports(folder: Path | None, package: types.ModuleType, binding: Binding) -> Iterator[None]:
    """While a suite loads: the original's `src.*` names, and (for a folder) `configs` as the
    folder's parent, `configs.FOLDER` as the folder itself; what was there before comes back."""
    with original_imports(binding):
        if folder is None:
            yield
            return
        saved = {name: module for name, module in sys.modules.items() if _is_configs(name)}
        for name in saved:
            del sys.modules[name]
        root = types.ModuleType("configs", "the parent folder of a suite being loaded")
        root.__path__ = [str(folder.parent)]
        sys.modules["configs"] = root
        finder = _FolderAlias(f"configs.{folder.name}", package.__name__)
        sys.meta_path.insert(0, finder)
        try:
            yield
        finally:
            sys.meta_path.remove(finder)
            for name in [name for name in sys.modules if _is_configs(name)]:
                del sys.modules[name]
            sys.modules.update(saved)


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
