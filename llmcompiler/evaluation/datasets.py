"""The paper's benchmark datasets: where they live, how they are fetched and checked.

    load_dataset("parallelqa")               # cached copy, downloaded once, sha256-checked
    load_dataset(path="my_questions.json")   # your own file: validated, no checksum

A benchmark is downloaded on first use from the paper's public repository (or from the base
URL in ``LLMCOMPILER_DATASET_BASE_URL``, for mirrors and tests) into :func:`cache_dir`. The
download goes to a temporary file in the cache directory and is moved into place with
``os.replace`` only after its sha256 has matched, so the cache never holds a partial or
wrong file. A cached copy whose sha256 no longer matches is downloaded again.

Every dataset, downloaded or local, must be a JSON list of objects, each with ``"id"``,
``"question"`` and ``"answer"``; ids are unique and come back as strings. Anything else is a
:class:`DatasetError` whose one-line message names the file, the item and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmcompiler._files import atomic_write, cache_dir
from llmcompiler.exceptions import DatasetError

__all__ = [
    "BENCHMARKS",
    "DEFAULT_BASE_URL",
    "DatasetError",
    "DatasetSpec",
    "cache_dir",
    "dataset_path_for",
    "load_dataset",
    "validate_dataset",
]

DEFAULT_BASE_URL = "https://raw.githubusercontent.com/SqueezeAILab/LLMCompiler/main/datasets"
BASE_URL_ENV = "LLMCOMPILER_DATASET_BASE_URL"
DOWNLOAD_TIMEOUT = 60.0


@dataclass(frozen=True)
class DatasetSpec:
    """One published benchmark file."""

    name: str
    file: str
    sha256: str
    count: int  # number of questions in the published file (informative)

    @property
    def url(self) -> str:
        """Download address: ``$LLMCOMPILER_DATASET_BASE_URL/<file>``, else the paper's repository."""
        base = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        return f"{base.rstrip('/')}/{self.file}"


BENCHMARKS: dict[str, DatasetSpec] = {
    "hotpotqa": DatasetSpec(
        "hotpotqa",
        "hotpotqa_comparison.json",
        "b8c1b0c756dcf8fcb76ea18d6779ebf5140764e8fe851c3d49397eb0bef24dfb",
        1487,
    ),
    "movie": DatasetSpec(
        "movie",
        "movie_recommendations_formatted.json",
        "0ab8c79461cdcf48e4b9088deb634ed1b0c8a9739ac0290b56ffa423023fbe4e",
        500,
    ),
    "parallelqa": DatasetSpec(
        "parallelqa",
        "parallelqa_dataset.json",
        "a0dbed4051e678eb3898c830343db93a503c0e94509e3924f58b2498d7021cd4",
        113,
    ),
}


_default_cache_dir = cache_dir  # the parameters below are named cache_dir too


def _spec(name: str) -> DatasetSpec:
    try:
        return BENCHMARKS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(BENCHMARKS))
        raise DatasetError(
            f"unknown dataset {name!r}: valid names are {valid} (or give a file with --dataset PATH)"
        ) from None


def dataset_path_for(name: str, *, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the cached copy of benchmark ``name`` lives (whether or not it is there yet)."""
    spec = _spec(name)
    root = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    return root / spec.file


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(spec: DatasetSpec, target: Path, *, timeout: float) -> None:
    """Fetch ``spec.url`` into ``target``, atomically, only if its sha256 matches."""
    url = spec.url
    hint = "download it yourself and pass --dataset PATH"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot create the cache directory {target.parent}: {exc.strerror or exc}") from exc
    opened = False
    try:
        with atomic_write(target, binary=True, suffix=".part") as out:  # removed unless the checksum matched
            opened = True
            digest = hashlib.sha256()
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for block in iter(lambda: response.read(1 << 16), b""):
                        digest.update(block)
                        out.write(block)
            except urllib.error.HTTPError as exc:
                raise DatasetError(
                    f"cannot download {spec.name} from {url}: HTTP {exc.code} {exc.reason}; {hint}"
                ) from exc
            except urllib.error.URLError as exc:
                raise DatasetError(f"cannot download {spec.name} from {url}: {exc.reason}; {hint}") from exc
            except (OSError, ValueError) as exc:  # timeouts, resets, malformed URLs
                raise DatasetError(f"cannot download {spec.name} from {url}: {exc}; {hint}") from exc
            actual = digest.hexdigest()
            if actual != spec.sha256.lower():
                raise DatasetError(
                    f"checksum mismatch for {spec.name} downloaded from {url}: sha256 {actual}, expected "
                    f"{spec.sha256}; "
                    f"nothing was cached; {hint}"
                )
    except OSError as exc:
        if not opened:
            raise DatasetError(f"cannot write to the cache directory {target.parent}: {exc.strerror or exc}") from exc
        raise DatasetError(f"cannot move the download into {target}: {exc.strerror or exc}") from exc


def load_dataset(
    name: str | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> list[dict[str, Any]]:
    """The questions of benchmark ``name``, or of the local file ``path``.

    ``path`` wins when both are given: the user's file is read and validated, with no
    checksum. A benchmark is read from ``cache_dir`` (default :func:`cache_dir`) when its
    cached copy has the expected sha256; otherwise it is downloaded (unless ``download`` is
    false), verified and cached. Raises :class:`DatasetError`.
    """
    if path is not None:
        return validate_dataset(_read_json(Path(path)), source=str(path))
    if name is None:
        raise DatasetError("no dataset given: name a benchmark (" + ", ".join(sorted(BENCHMARKS)) + ") or a file")
    spec = _spec(name)
    target = dataset_path_for(name, cache_dir=cache_dir)
    cached_ok = False
    if target.is_file():
        try:
            cached_ok = _sha256_file(target) == spec.sha256.lower()
        except OSError as exc:
            raise DatasetError(f"cannot read the cached dataset {target}: {exc.strerror or exc}") from exc
    if not cached_ok:
        if not download:
            state = "does not match its sha256" if target.exists() else "is not there"
            raise DatasetError(
                f"the cached copy of {name} at {target} {state} and downloading is off; "
                f"allow the download or pass --dataset PATH"
            )
        _download(spec, target, timeout=timeout)
    return validate_dataset(_read_json(target), source=str(target))


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def validate_dataset(data: Any, *, source: str = "<data>") -> list[dict[str, Any]]:
    """Check the dataset shape; return copies of the items with string ids.

    Rules: a non-empty JSON list; every item an object with ``"id"`` (a string or an
    integer, unique once stringified), ``"question"`` (a non-empty string) and ``"answer"``
    (a string or a number). Other keys (``level``, ``branch``, ...) are kept as they are.
    """
    if not isinstance(data, list):
        raise DatasetError(f"{source}: expected a JSON list of questions, got {_kind(data)}")
    if not data:
        raise DatasetError(f"{source}: the list of questions is empty")
    seen: dict[str, int] = {}
    items: list[dict[str, Any]] = []
    for index, item in enumerate(data):
        where = f"{source}: item {index}"
        if not isinstance(item, dict):
            raise DatasetError(f"{where}: expected an object, got {_kind(item)}")
        for key in ("id", "question", "answer"):
            if key not in item:
                raise DatasetError(f"{where}: missing {key!r}")
        raw_id = item["id"]
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
            raise DatasetError(f"{where}: 'id' must be a string or an integer, got {_kind(raw_id)}")
        qid = str(raw_id)
        if not qid.strip():
            raise DatasetError(f"{where}: 'id' is empty")
        if qid in seen:
            raise DatasetError(f"{where}: duplicate id {qid!r} (first used by item {seen[qid]})")
        seen[qid] = index
        question = item["question"]
        if not isinstance(question, str) or not question.strip():
            raise DatasetError(
                f"{where} (id {qid!r}): 'question' must be a non-empty string, got "
                f"{'an empty string' if isinstance(question, str) else _kind(question)}"
            )
        answer = item["answer"]
        if isinstance(answer, bool) or not isinstance(answer, (str, int, float)):
            raise DatasetError(f"{where} (id {qid!r}): 'answer' must be a string or a number, got {_kind(answer)}")
        record = dict(item)
        record["id"] = qid
        items.append(record)
    return items
