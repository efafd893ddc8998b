"""What the code's process gets: an environment without credentials, resource limits, a checked interpreter.

    env = scrubbed_environ()                  # os.environ minus *_API_KEY, *_TOKEN, *_SECRET, ...
    preexec = limit_resources(config)         # applies RLIMIT_AS / NPROC / NOFILE in the child
    python = check_interpreter(config.python_interpreter, ipykernel=True)

These are hygiene, not a sandbox: the limits stop a memory bomb or a fork bomb from taking
the machine down, but the code can still read and write any file the user can, and reach the
network. Run untrusted code in a container or a VM.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from llmcompiler.code.executor import InterpreterConfig
from llmcompiler.exceptions import KernelUnavailableError

# Matched case-insensitively against the whole name.
_CREDENTIAL_SUFFIXES = ("_API_KEY", "_APIKEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PASSWD", "_CREDENTIALS")
_CREDENTIAL_PATTERN = re.compile(r"SECRET|PASSWORD|PRIVATE_KEY|ACCESS_KEY", re.IGNORECASE)
KNOWN_CREDENTIALS = frozenset(
    {
        "OPENAI_API_KEY",
        "OPENAI_ORG_ID",
        "OPENAI_ORGANIZATION",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_AD_TOKEN",
        "FRIENDLI_TOKEN",
        "ANTHROPIC_API_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "LANGCHAIN_API_KEY",
        "LANGSMITH_API_KEY",
        "SERPAPI_API_KEY",
        "PGPASSWORD",
        "NETRC",
        "SSH_AUTH_SOCK",
    }
)

# The inline backend turns `plt.show()` into an image/png display; a plain process draws off-screen.
JUPYTER_MPL_BACKEND = "module://matplotlib_inline.backend_inline"


def is_credential(name: str) -> bool:
    """True for a variable that likely holds a secret (see the module docstring)."""
    upper = name.upper()
    return upper in KNOWN_CREDENTIALS or upper.endswith(_CREDENTIAL_SUFFIXES) or bool(_CREDENTIAL_PATTERN.search(upper))


def scrubbed_environ(base: Mapping[str, str] | None = None, *, mpl_backend: str = "Agg") -> dict[str, str]:
    """`base` (default os.environ) without credentials, with unbuffered UTF-8 output and a headless matplotlib."""
    source = os.environ if base is None else base
    env = {name: value for name, value in source.items() if not is_credential(name)}
    # a PYTHONEXECUTABLE of ours would make the named interpreter report itself as ours
    env.pop("PYTHONEXECUTABLE", None)
    env["MPLBACKEND"] = mpl_backend
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8:backslashreplace"
    return env


def limit_resources(config: InterpreterConfig) -> Callable[[], None] | None:
    """A preexec function setting the config's limits in the child; None when no limit applies.

    Each limit lowers only the soft and hard values it names and never raises them above the
    current hard limit (an unprivileged process may not), and a limit the OS lacks is skipped.
    """
    try:
        import resource
    except ImportError:  # Windows: no rlimits
        return None
    wanted: list[tuple[int, int]] = []
    for attribute, value in (
        ("RLIMIT_AS", None if config.memory_limit_mb is None else config.memory_limit_mb * 1024 * 1024),
        ("RLIMIT_NPROC", config.max_processes),
        ("RLIMIT_NOFILE", config.max_open_files),
    ):
        kind = getattr(resource, attribute, None)
        if value is not None and kind is not None:
            wanted.append((kind, value))
    if not wanted:
        return None

    def apply() -> None:
        for kind, value in wanted:
            _soft, hard = resource.getrlimit(kind)
            capped = value if hard == resource.RLIM_INFINITY else min(value, hard)
            try:
                resource.setrlimit(kind, (capped, capped))
            except (ValueError, OSError):  # e.g. NPROC below what the user already runs: keep going
                pass

    return apply


def check_interpreter(path: str | os.PathLike[str] | None = None, *, ipykernel: bool = False) -> str:
    """The absolute path of a runnable Python; KernelUnavailableError naming it and what is wrong.

    `None` is the interpreter running llmcompiler. A bare name (`python3.12`) is looked up on
    PATH. With `ipykernel`, the interpreter must be able to import it (checked by running it).
    """
    if path is None:
        found = sys.executable
    else:
        text = os.fspath(path)
        if os.sep in text or (os.altsep and os.altsep in text):
            candidate = Path(text).expanduser()
            if not candidate.exists():
                raise KernelUnavailableError(f"the Python interpreter {text} does not exist")
            if candidate.is_dir() or not os.access(candidate, os.X_OK):
                raise KernelUnavailableError(f"the Python interpreter {text} is not an executable file")
            found = str(candidate.absolute())
        else:
            located = shutil.which(text)
            if located is None:
                raise KernelUnavailableError(f"the Python interpreter {text} is not on PATH")
            found = located
    if ipykernel:
        _require_ipykernel(found)
    return found


def _require_ipykernel(python: str) -> None:
    probe = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('ipykernel') else 3)"
    try:
        completed = subprocess.run(
            [python, "-c", probe], stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as problem:
        raise KernelUnavailableError(f"the Python interpreter {python} cannot be run: {problem}") from None
    if completed.returncode == 3:
        raise KernelUnavailableError(
            f"ipykernel is not installed in {python}: {python} -m pip install ipykernel "
            "(or use the subprocess backend, which needs no Jupyter)"
        )
    if completed.returncode != 0:
        stderr = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        why = stderr[-1] if stderr else f"exit status {completed.returncode}"
        raise KernelUnavailableError(f"the Python interpreter {python} does not run: {why}")
