"""`get_model`: one call from a provider name to a model that speaks the protocol.

Each `model_type`, what it needs, and where it connects:

- openai: OPENAI_API_KEY; OPENAI_BASE_URL or the SDK default.
- azure: AZURE_OPENAI_ENDPOINT (or AZURE_ENDPOINT), AZURE_OPENAI_API_KEY, OPENAI_API_VERSION
  (or AZURE_OPENAI_API_VERSION); the deployment is `model_name` or AZURE_DEPLOYMENT_NAME;
  the endpoint.
- vllm: a server (`vllm serve MODEL --port N`); VLLM_API_KEY only if it was started with
  --api-key; http://localhost:N/v1 from `vllm_port`, or `base_url` / VLLM_BASE_URL.
- friendli: FRIENDLI_TOKEN; FRIENDLI_BASE_URL or https://api.friendli.ai/serverless/v1.
- langchain: `model_name` "module:attribute" naming a BaseChatModel (or a factory of one),
  or `model=` an instance.
- scripted: `replies=` (see ScriptedModel).

Every OpenAI-compatible request names its `max_tokens` (`DEFAULT_MAX_TOKENS` when none is
given), since llama.cpp and vLLM stop completions at 16 tokens without one. A langchain
model keeps its own limit; a scripted one simulates `max_tokens` when given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmcompiler._imports import import_user_module
from llmcompiler._validate import positive_int
from llmcompiler.exceptions import ConfigurationError, MissingCredentialsError
from llmcompiler.llm.base import ChatModel
from llmcompiler.llm.langchain import LangChainModel, is_langchain_chat_model
from llmcompiler.llm.scripted import ScriptedModel

if TYPE_CHECKING:
    from llmcompiler.llm.openai_compat import Endpoint

FRIENDLI_BASE_URL = "https://api.friendli.ai/serverless/v1"
STRUCTURED_FIELDS = ("structured_outputs", "guided_regex")


def get_model(
    model_type: str,
    model_name: str | None = None,
    *,
    temperature: float | None = 0.0,
    stream: bool = True,
    base_url: str | None = None,
    api_key: str | None = None,
    vllm_port: int | None = None,
    endpoint: Endpoint = "chat",
    max_tokens: int | None = None,
    max_retries: int = 3,
    retry_base_delay: float = 0.5,
    request_timeout: float = 120.0,
    regex: str | None = None,
    structured_field: str = "structured_outputs",
    grammar: str | None = None,
    system_role: bool = True,
    extra_body: Mapping[str, Any] | None = None,
    model: Any = None,
    **scripted: Any,
) -> ChatModel:
    """A model for `model_type`; see the module docstring for what each type needs.

    `endpoint="completions"` uses the completions API (non-chat base models, e.g. LLaMA-2
    70B on vLLM). `regex` constrains the output on vLLM with its structured-output request
    fields (use `llmcompiler.plan.plan_regex(tools)` for a planner); `structured_field`
    picks the request format: "structured_outputs" (vLLM >= 0.10) or "guided_regex"
    (older servers). It is sent only when given. `grammar` is a GBNF grammar sent as
    llama.cpp's `grammar` request field (use `llmcompiler.plan.plan_gbnf(tools)`), on any
    OpenAI-compatible type.

    `max_tokens` (a positive int) is sent with every request; None sends
    `DEFAULT_MAX_TOKENS`. `system_role=False` moves the system message's text into the
    first user message, for chat templates that drop or reject a system role (Gemma's in
    llama-cpp-python).
    """
    kind = (model_type or "").strip().lower()
    if kind not in MODEL_TYPES:
        raise ConfigurationError(f"unknown model_type {model_type!r}; valid: {', '.join(MODEL_TYPES)}")
    if max_tokens is not None:
        positive_int("max_tokens", max_tokens)
    if kind in ("scripted", "langchain") and (regex is not None or grammar is not None):
        raise ConfigurationError(
            f"constrained output (regex or grammar) needs an OpenAI-compatible server, not model_type {kind!r}"
        )
    if not system_role and kind in ("scripted", "langchain"):
        raise ConfigurationError(f"system_role=False is for OpenAI-compatible servers, not model_type {kind!r}")
    if kind == "scripted":
        return ScriptedModel(**{"max_tokens": max_tokens, **scripted})
    if scripted:
        raise ConfigurationError(f"unexpected options for {kind}: {', '.join(sorted(scripted))}")
    if kind == "langchain":
        return _langchain(model_name, model)

    import openai  # imported here: `import llmcompiler` stays light

    from llmcompiler.llm.openai_compat import OpenAIModel, RetryPolicy

    body = dict(extra_body or {})
    if regex is not None:
        if kind != "vllm":
            raise ConfigurationError("regex-constrained output is a vLLM feature; use it with model_type='vllm'")
        if structured_field not in STRUCTURED_FIELDS:
            raise ConfigurationError(f"structured_field must be one of {', '.join(STRUCTURED_FIELDS)}")
        body.update(
            {"structured_outputs": {"regex": regex}}
            if structured_field == "structured_outputs"
            else {"guided_regex": regex}
        )
    if grammar is not None:
        if not isinstance(grammar, str) or not grammar.strip():
            raise ConfigurationError("grammar must be the text of a GBNF grammar")
        body["grammar"] = grammar
    common = {"max_retries": 0, "timeout": request_timeout}  # retries are ours: see openai_compat
    where = _Where(model_name=model_name, base_url=base_url, api_key=api_key, vllm_port=vllm_port, common=common)
    client, name, key_variable = _CLIENTS[kind](openai, where)
    return OpenAIModel(
        client,
        name,
        endpoint=endpoint,
        temperature=temperature,
        max_tokens=max_tokens,
        stream=stream,
        extra_body=body or None,
        system_role=system_role,
        retry=RetryPolicy(max_retries=max_retries, base_delay=retry_base_delay),
        provider=kind,
        key_variable=key_variable,
    )


def as_model(obj: Any, *, role: str = "model") -> ChatModel:
    """`obj` as a ChatModel: protocol objects as they are, langchain chat models adapted."""
    if is_langchain_chat_model(obj):
        return LangChainModel(obj)
    if callable(getattr(obj, "stream", None)):
        return obj
    raise ConfigurationError(
        f"the {role} must be a model with stream(messages, *, stop=()) (see llmcompiler.llm.ChatModel) "
        f"or a langchain-core BaseChatModel, not {type(obj).__name__}"
    )


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _need_name(model_name: str | None, kind: str) -> str:
    if not model_name:
        raise ConfigurationError(f"model_type {kind!r} needs a model_name")
    return model_name


@dataclass(frozen=True, kw_only=True)
class _Where:
    """What an OpenAI-compatible provider's client is built from."""

    model_name: str | None
    base_url: str | None
    api_key: str | None
    vllm_port: int | None
    common: dict[str, Any]  # options every client gets


def _openai_client(openai: Any, where: _Where) -> tuple[Any, str, str]:
    key = where.api_key or _env("OPENAI_API_KEY")
    if not key:
        raise MissingCredentialsError("OPENAI_API_KEY", "OpenAI")
    client = openai.AsyncOpenAI(api_key=key, base_url=where.base_url or _env("OPENAI_BASE_URL"), **where.common)
    return client, _need_name(where.model_name, "openai"), "OPENAI_API_KEY"


def _azure_client(openai: Any, where: _Where) -> tuple[Any, str, str]:
    endpoint = where.base_url or _env("AZURE_OPENAI_ENDPOINT") or _env("AZURE_ENDPOINT")
    if not endpoint:
        raise MissingCredentialsError(
            "AZURE_OPENAI_ENDPOINT", "Azure OpenAI", what="an endpoint", alternatives=("AZURE_ENDPOINT",)
        )
    key = where.api_key or _env("AZURE_OPENAI_API_KEY")
    if not key:
        raise MissingCredentialsError("AZURE_OPENAI_API_KEY", "Azure OpenAI")
    version = _env("OPENAI_API_VERSION") or _env("AZURE_OPENAI_API_VERSION")
    if not version:
        raise MissingCredentialsError(
            "OPENAI_API_VERSION", "Azure OpenAI", what="an API version", alternatives=("AZURE_OPENAI_API_VERSION",)
        )
    deployment = where.model_name or _env("AZURE_DEPLOYMENT_NAME")
    if not deployment:
        raise MissingCredentialsError("AZURE_DEPLOYMENT_NAME", "Azure OpenAI", what="a deployment name (or model_name)")
    client = openai.AsyncAzureOpenAI(
        azure_endpoint=endpoint, api_key=key, api_version=version, azure_deployment=deployment, **where.common
    )
    return client, deployment, "AZURE_OPENAI_API_KEY"


def _vllm_client(openai: Any, where: _Where) -> tuple[Any, str, str]:
    port = where.vllm_port
    url = where.base_url or (f"http://localhost:{int(port)}/v1" if port else None) or _env("VLLM_BASE_URL")
    if not url:
        raise ConfigurationError(
            "vllm needs the server's address: pass vllm_port (the N of `vllm serve MODEL --port N`) "
            "or base_url, or set VLLM_BASE_URL"
        )
    client = openai.AsyncOpenAI(api_key=where.api_key or _env("VLLM_API_KEY") or "EMPTY", base_url=url, **where.common)
    return client, _need_name(where.model_name, "vllm"), "VLLM_API_KEY"


def _friendli_client(openai: Any, where: _Where) -> tuple[Any, str, str]:
    key = where.api_key or _env("FRIENDLI_TOKEN")
    if not key:
        raise MissingCredentialsError("FRIENDLI_TOKEN", "Friendli")
    url = where.base_url or _env("FRIENDLI_BASE_URL") or FRIENDLI_BASE_URL
    client = openai.AsyncOpenAI(api_key=key, base_url=url, **where.common)
    return client, _need_name(where.model_name, "friendli"), "FRIENDLI_TOKEN"


# The OpenAI-compatible providers: how each builds its client, the model's name and the
# variable its key comes from. Every other line of get_model is the same for all of them.
_CLIENTS: dict[str, Callable[[Any, _Where], tuple[Any, str, str]]] = {
    "openai": _openai_client,
    "azure": _azure_client,
    "vllm": _vllm_client,
    "friendli": _friendli_client,
}
MODEL_TYPES = (*_CLIENTS, "langchain", "scripted")


def _langchain(model_name: str | None, model: Any) -> ChatModel:
    if model is not None:
        return as_model(model)
    if not model_name or ":" not in model_name:
        raise ConfigurationError(
            "model_type 'langchain' needs model='a BaseChatModel' or model_name='module:attribute' naming one"
        )
    module_name, _, attribute = model_name.partition(":")
    try:
        target = getattr(import_user_module(module_name), attribute)  # found in the cwd, as `python -m` would
    except Exception as exc:  # the user's module: anything may go wrong in it
        raise ConfigurationError(f"cannot load {model_name!r}: {type(exc).__name__}: {exc}") from exc
    if not is_langchain_chat_model(target) and callable(target):
        try:
            target = target()
        except Exception as exc:
            raise ConfigurationError(
                f"cannot load {model_name!r}: {attribute}() raised {type(exc).__name__}: {exc}"
            ) from exc
    return as_model(target)
