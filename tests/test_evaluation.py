"""llmcompiler.evaluation: scoring, datasets (files and loopback downloads), the result store,
reports and comparisons, and evaluate_results.py as a command."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from llmcompiler.evaluation import (
    BENCHMARKS,
    DatasetError,
    ResultStore,
    StoreError,
    cache_dir,
    compare,
    compare_answer,
    dataset_path_for,
    format_summary,
    load_dataset,
    normalize_answer,
    percentile,
    summarize,
)
from llmcompiler.evaluation import store as store_module

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"

# --------------------------------------------------------------------------- scoring


@pytest.mark.parametrize(
    ("answer", "label", "expected"),
    [
        # numeric labels: strictly within 10%
        ("10.5", "10", True),
        ("9.01", "10", True),
        ("10.99", "10", True),
        ("9", "10", False),  # the bounds are excluded
        ("11", "10", False),
        ("12", "10", False),
        ("8", "10", False),
        ("110", "100", True),  # 100 * 1.1 == 110.00000000000001, as in the original
        (" 42\n", "42", True),
        ("4.2e1", "42", True),
        ("42.0", "42", True),
        ("-9.5", "-10", True),  # deliberate: tolerance on abs(label)
        ("-12", "-10", False),
        ("0", "0", True),  # deliberate: an equal answer matches a zero label
        ("0.01", "0", False),
        ("nan", "nan", False),
        # a numeric label wants a float()-able answer: no separator or unit stripping
        ("1,000", "1000", False),
        ("42 meters", "42", False),
        ("about 42", "42", False),
        # a label float() rejects is text: normalisation removes the comma
        ("1000", "1,000", True),
        ("1,000", "1,000", True),
        # yes / no and text
        ("Yes", "yes", True),
        ("yes.", "yes", True),
        ("no", "yes", False),
        ("Yes, they are.", "yes", False),  # exact match after normalisation, no substring credit
        ("The Eiffel Tower!", "eiffel tower", True),
        ("an apple", "Apple", True),
        ("A  Beautiful   Mind", "beautiful mind", True),
        ("U.S.A.", "usa", True),
        ("Mariana Trench", "Puerto Rico Trench", False),
        ("theory", "ory", False),  # articles only as whole words
        # robustness
        (None, "yes", False),
        ("yes", None, False),
        (42, "42", True),
        (42, 42, True),
        (10.5, 10, True),
        (True, "1", False),
        (["yes"], "yes", True),  # compared through str(): "['yes']" normalises to "yes"
        ("", "", True),
    ],
)
def test_compare_answer(answer, label, expected):
    assert compare_answer(answer, label) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Quick, Brown Fox!", "quick brown fox"),
        ("  a  b  an c the  ", "b c"),
        ("don't stop", "dont stop"),
        ("Théâtre", "théâtre"),
        ("“quoted”", "“quoted”"),  # only ASCII punctuation is removed
        ("Anthem", "anthem"),
        (None, ""),
        (12, "12"),
        ("1,000.5", "10005"),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


# --------------------------------------------------------------------------- datasets from files


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_load_local_dataset(tmp_path):
    path = write_json(
        tmp_path / "qs.json",
        [
            {"id": 1, "question": "Q one?", "answer": "yes", "branch": 2},
            {"id": "b", "question": "Q two?", "answer": 3.5},
        ],
    )
    items = load_dataset(path=path)
    assert items == [
        {"id": "1", "question": "Q one?", "answer": "yes", "branch": 2},
        {"id": "b", "question": "Q two?", "answer": 3.5},
    ]


def test_local_path_wins_and_skips_checksum(tmp_path):
    path = write_json(tmp_path / "parallelqa_dataset.json", [{"id": "1", "question": "q", "answer": "a"}])
    assert len(load_dataset("parallelqa", path=path)) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        ("", "not valid JSON"),
        ('{"id": "1"}', "expected a JSON list of questions, got an object"),
        ("[]", "the list of questions is empty"),
        ('[{"id": "1", "question": "q", "answer": "a"}, "oops"]', "item 1: expected an object, got a string"),
        ('[{"question": "q", "answer": "a"}]', "item 0: missing 'id'"),
        ('[{"id": "1", "answer": "a"}]', "item 0: missing 'question'"),
        ('[{"id": "1", "question": "q"}]', "item 0: missing 'answer'"),
        ('[{"id": [1], "question": "q", "answer": "a"}]', "item 0: 'id' must be a string or an integer, got a list"),
        ('[{"id": true, "question": "q", "answer": "a"}]', "'id' must be a string or an integer, got a boolean"),
        ('[{"id": " ", "question": "q", "answer": "a"}]', "item 0: 'id' is empty"),
        ('[{"id": "1", "question": "", "answer": "a"}]', "item 0 (id '1'): 'question' must be a non-empty string, got an empty string"),
        ('[{"id": "1", "question": 5, "answer": "a"}]', "'question' must be a non-empty string, got a number"),
        ('[{"id": "1", "question": "q", "answer": null}]', "item 0 (id '1'): 'answer' must be a string or a number, got null"),
        (
            '[{"id": "1", "question": "q", "answer": "a"}, {"id": "2", "question": "q", "answer": "a"},'
            ' {"id": 1, "question": "q", "answer": "a"}]',
            "item 2: duplicate id '1' (first used by item 0)",
        ),
    ],
)
def test_malformed_dataset(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        load_dataset(path=path)
    text = str(info.value)
    assert text.startswith(str(path) + ": ")
    assert message in text
    assert "\n" not in text


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(path=tmp_path / "absent.json")
    (tmp_path / "latin1.json").write_bytes(b'[{"id": "1", "question": "caf\xe9", "answer": "a"}]')
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_dataset(path=tmp_path / "latin1.json")


def test_unknown_or_missing_name():
    with pytest.raises(DatasetError, match="unknown dataset 'hotpot': valid names are hotpotqa, movie, parallelqa"):
        load_dataset("hotpot")
    with pytest.raises(DatasetError, match="no dataset given"):
        load_dataset()
    with pytest.raises(DatasetError, match="unknown dataset"):
        dataset_path_for("nope")


def test_specs_and_cache_dir(monkeypatch, tmp_path):
    assert set(BENCHMARKS) == {"hotpotqa", "movie", "parallelqa"}
    monkeypatch.delenv("LLMCOMPILER_DATASET_BASE_URL", raising=False)
    assert BENCHMARKS["movie"].url == (
        "https://raw.githubusercontent.com/SqueezeAILab/LLMCompiler/main/datasets/movie_recommendations_formatted.json"
    )
    monkeypatch.setenv("LLMCOMPILER_DATASET_BASE_URL", "http://127.0.0.1:9/mirror/")
    assert BENCHMARKS["movie"].url == "http://127.0.0.1:9/mirror/movie_recommendations_formatted.json"

    monkeypatch.setenv("LLMCOMPILER_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "explicit"
    assert dataset_path_for("hotpotqa") == tmp_path / "explicit" / "hotpotqa_comparison.json"
    assert dataset_path_for("hotpotqa", cache_dir=tmp_path) == tmp_path / "hotpotqa_comparison.json"
    monkeypatch.delenv("LLMCOMPILER_CACHE_DIR")
    assert cache_dir() == tmp_path / "xdg" / "llmcompiler"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "llmcompiler"


# --------------------------------------------------------------------------- downloads over loopback

MADE_UP = json.dumps(
    [{"id": 1, "question": "Is it made up?", "answer": "yes", "branch": 2}, {"id": 2, "question": "2+2?", "answer": "4"}]
).encode()


class FileServer:
    """A tiny HTTP server on 127.0.0.1 serving ``files`` ({url path: bytes}) and counting GETs."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/datasets"

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def mirror(monkeypatch, tmp_path):
    """The parallelqa spec pointed at a made-up file on a loopback server; a fresh cache."""
    spec = BENCHMARKS["parallelqa"]
    with FileServer({f"/datasets/{spec.file}": MADE_UP}) as server:
        monkeypatch.setenv("LLMCOMPILER_DATASET_BASE_URL", server.base_url)
        monkeypatch.setenv("LLMCOMPILER_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.delenv(var, raising=False)
        yield server, spec, tmp_path / "cache"


def with_sha(monkeypatch, spec, sha: str):
    monkeypatch.setitem(BENCHMARKS, spec.name, dataclasses.replace(spec, sha256=sha))


def test_download_wrong_checksum_caches_nothing(mirror, monkeypatch):
    server, spec, cache = mirror
    with_sha(monkeypatch, spec, "0" * 64)
    with pytest.raises(DatasetError) as info:
        load_dataset("parallelqa")
    message = str(info.value)
    assert "checksum mismatch" in message and hashlib.sha256(MADE_UP).hexdigest() in message
    assert "nothing was cached" in message and "--dataset PATH" in message
    assert server.requests == [f"/datasets/{spec.file}"]
    assert list(cache.iterdir()) == []  # neither the file nor a temporary one


def test_download_right_checksum_is_cached_once(mirror, monkeypatch):
    server, spec, cache = mirror
    with_sha(monkeypatch, spec, hashlib.sha256(MADE_UP).hexdigest())
    first = load_dataset("parallelqa")
    assert [q["id"] for q in first] == ["1", "2"]
    assert (cache / spec.file).read_bytes() == MADE_UP
    assert [p.name for p in cache.iterdir()] == [spec.file]
    assert load_dataset("parallelqa") == first
    assert load_dataset("parallelqa", download=False) == first
    assert len(server.requests) == 1  # the later loads read the cache


def test_tampered_cache_is_downloaded_again(mirror, monkeypatch):
    server, spec, cache = mirror
    with_sha(monkeypatch, spec, hashlib.sha256(MADE_UP).hexdigest())
    cache.mkdir()
    (cache / spec.file).write_text("[]")
    with pytest.raises(DatasetError, match="does not match its sha256 and downloading is off"):
        load_dataset("parallelqa", download=False)
    assert len(load_dataset("parallelqa")) == 2
    assert (cache / spec.file).read_bytes() == MADE_UP
    assert len(server.requests) == 1


def test_not_cached_and_no_download(mirror):
    server, spec, cache = mirror
    with pytest.raises(DatasetError, match="is not there and downloading is off; allow the download or pass --dataset PATH"):
        load_dataset("parallelqa", download=False)
    assert server.requests == []


def test_download_http_error(mirror, monkeypatch):
    server, spec, cache = mirror
    server.files.clear()
    with pytest.raises(DatasetError) as info:
        load_dataset("parallelqa")
    message = str(info.value)
    assert f"{server.base_url}/{spec.file}" in message
    assert "HTTP 404" in message and "--dataset PATH" in message
    assert list(cache.iterdir()) == []


def test_download_connection_refused(monkeypatch, tmp_path):
    with socket.socket() as sock:  # a port nothing listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("LLMCOMPILER_DATASET_BASE_URL", f"http://127.0.0.1:{port}/datasets")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with pytest.raises(DatasetError, match=rf"cannot download movie from http://127\.0\.0\.1:{port}/datasets/.*--dataset PATH"):
        load_dataset("movie", cache_dir=tmp_path, timeout=5)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- result store


def record(answer="yes", label="yes", time=1.0, **extra):
    return {"question": "q?", "label": label, "answer": answer, "time": time, **extra}


def test_store_roundtrip_creates_parents(tmp_path):
    path = tmp_path / "a" / "b" / "results.json"
    store = ResultStore(path)
    assert len(store) == 0 and not path.exists()
    store.add("1", record())
    store.add(2, record("no"))
    assert "1" in store and 2 in store and "3" not in store
    assert json.loads(path.read_text()) == {"1": record(), "2": record("no")}
    store.close()
    with ResultStore(path) as again:
        assert again.records == store.records and list(again) == ["1", "2"]
        again.add("1", record("maybe"))  # replacing keeps file order
    assert list(json.loads(path.read_text())) == ["1", "2"]
    with ResultStore(path) as third:
        assert third.get("1")["answer"] == "maybe"
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # the lock file went with the last writer


@pytest.mark.parametrize("failing", ["fsync", "replace", "interrupt"])
def test_store_failed_write_keeps_old_file(tmp_path, monkeypatch, failing):
    path = tmp_path / "results.json"
    store = ResultStore(path)
    store.add("1", record())
    before = path.read_bytes()

    def boom(*args, **kwargs):
        if failing == "interrupt":
            raise KeyboardInterrupt
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module.os, failing if failing != "interrupt" else "fsync", boom)
    expected = KeyboardInterrupt if failing == "interrupt" else StoreError
    with pytest.raises(expected) as info:
        store.add("2", record("no"))
    monkeypatch.undo()
    if expected is StoreError:
        assert str(info.value) == f"cannot write {path}: No space left on device"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "results.json.lock"]  # no temporary file left
    assert "2" not in store and len(store) == 1
    store.add("3", record())
    store.close()
    assert list(ResultStore(path)) == ["1", "3"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{\"1\": {\"label\": ", "not valid JSON"),
        ("", "the file is empty"),
        ("[1, 2]", "expected a JSON object {id: record}, got a list"),
        ('{"1": "yes"}', "record '1' must be an object, got a string"),
        ('{"1": {"label": "x"}}', "record '1' has no 'answer'"),
        ('{"1": {"answer": "x"}}', "record '1' has no 'label'"),
    ],
)
def test_corrupt_store_is_left_alone(tmp_path, content, message):
    path = tmp_path / "results.json"
    path.write_text(content)
    stat = path.stat()
    with pytest.raises(StoreError) as info:
        ResultStore(path)
    assert message in str(info.value) and str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)
    assert path.read_text() == content and path.stat().st_mtime_ns == stat.st_mtime_ns


def test_store_rejects_bad_records(tmp_path):
    store = ResultStore(tmp_path / "r.json")
    with pytest.raises(StoreError, match="has no 'label'"):
        store.add("1", {"answer": "x"})
    with pytest.raises(StoreError, match="cannot be written as JSON"):
        store.add("1", record(answer=object()))
    assert not (tmp_path / "r.json").exists() and len(store) == 0


# --------------------------------------------------------------------------- reports


def results_table() -> dict[str, dict]:
    """Ten questions, times 1..10 s; ids 3, 6 and 9 are wrong, 9 also errored."""
    out = {}
    for i in range(1, 11):
        wrong = i % 3 == 0
        out[f"q{i}"] = record(
            answer="nope" if wrong else "yes",
            time=float(i),
            branch=2 + i % 2,
            stats={"total": {"input_tokens": 100 * i, "output_tokens": 10 * i}, "cost": 0.01 * i if i <= 5 else None},
        )
    out["q9"]["error"] = "RateLimitError: slow down"
    return out


def test_percentile_matches_linear_interpolation():
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([4.0, 1.0, 3.0, 2.0], 90) == pytest.approx(3.7)


def test_summarize_numbers():
    s = summarize(results_table())
    assert (s.n, s.correct) == (10, 7)
    assert s.accuracy == pytest.approx(0.7)
    assert [w[0] for w in s.wrong] == ["q3", "q6", "q9"]
    assert s.errors == ("q9",)
    assert s.latency_mean == pytest.approx(5.5)
    assert s.latency_std == pytest.approx(2.8722813)  # population std, like numpy.std
    assert s.latency_p50 == pytest.approx(5.5)
    assert s.latency_p90 == pytest.approx(9.1)
    assert s.input_tokens_mean == pytest.approx(550) and s.output_tokens_mean == pytest.approx(55)
    assert s.n_with_cost == 5 and s.cost_mean == pytest.approx(0.03)
    assert list(s.by_branch) == ["2", "3"]
    even, odd = s.by_branch["2"], s.by_branch["3"]  # branch 2: even i, branch 3: odd i
    assert (even.n, even.correct, even.latency_mean) == (5, 4, pytest.approx(6.0))  # 6 wrong
    assert (odd.n, odd.correct, odd.latency_mean) == (5, 3, pytest.approx(5.0))  # 3, 9 wrong
    assert even.accuracy == pytest.approx(0.8) and odd.accuracy == pytest.approx(0.6)
    assert s.by_level == {}


def test_summarize_subsets_and_missing_values():
    table = results_table()
    first = summarize(table, k=3)
    assert first.ids == ("q1", "q2", "q3") and first.correct == 2
    picked = summarize(table, ids=["q10", "q1", "missing"])
    assert picked.ids == ("q10", "q1") and picked.latency_mean == pytest.approx(5.5)
    bare = summarize({"a": {"label": "yes", "answer": "yes"}, "b": {"label": "1", "answer": None, "time": "slow", "level": "hard"}})
    assert (bare.n, bare.correct, bare.n_timed) == (2, 1, 0)
    assert bare.latency_mean is None and bare.input_tokens_mean is None and bare.cost_mean is None
    assert list(bare.by_level) == ["hard"]
    empty = summarize({})
    assert empty.accuracy is None and "Raw: 0 / 0 = n/a" in format_summary(empty)


def test_format_summary():
    table = results_table()
    text = format_summary(summarize(table), detail=True, records=table)
    lines = text.splitlines()
    assert lines[:6] == [
        "Results",
        "Raw: 7 / 10 = 0.7",
        "Mean time: 5.5",
        "Std time: 2.8723",
        "Average input tokens: 550.0",
        "Average output tokens: 55.0",
    ]
    assert "Latency p50: 5.5 s, p90: 9.1 s (10 of 10 timed)" in lines
    assert "Cost per question: $0.03 (5 of 10 priced)" in lines
    assert "Errors: 1 (q9)" in lines
    assert "By branch:" in lines and "  2: 4 / 5 = 0.8, mean time 6 s" in lines
    assert lines[-4:] == ["Wrong answers (3):", "  q3: nope <> yes", "  q6: nope <> yes", "  q9: nope <> yes"]
    assert "Wrong answers" not in format_summary(summarize(table))


def test_compare_over_common_ids():
    fast = results_table()
    slow = {rid: {**rec, "time": rec["time"] * 2, "stats": {"total": {"input_tokens": 300 * int(rec["time"]),
            "output_tokens": 20 * int(rec["time"])}, "cost": 0.05 * rec["time"]}} for rid, rec in fast.items()}
    slow["q3"] = {**slow["q3"], "answer": "yes"}
    slow["extra"] = record(time=100.0)
    del fast["q10"]
    text = compare(summarize(fast), summarize(slow), names=("compiler", "react"))
    lines = text.splitlines()
    assert lines[0] == "Comparison over the 9 ids common to both (compiler only: 0, react only: 2)"
    assert lines[1].split() == ["compiler", "react"]
    assert "questions 9 9".split() == next(line for line in lines if line.startswith("questions")).split()
    assert "Accuracy compiler - react: -11.11 points" in lines  # 6/9 vs 7/9
    assert "Speedup (react / compiler mean latency): 2.00x (compiler is 2.00x faster)" in lines
    assert "Tokens (react / compiler): input 3.00x, output 2.00x" in lines
    cost_line = next(line for line in lines if line.startswith("Cost"))
    # compiler's cost covers q1..q5 only (mean 0.03); react's all nine (mean 0.25)
    assert cost_line == "Cost (react / compiler): 8.33x (compiler is 8.33x cheaper)"


def test_compare_without_records_or_common_ids():
    a = summarize({"x": record(time=4.0)})
    b = summarize({"y": record(time=2.0)})
    text = compare(a, b)
    assert text.splitlines()[0] == "No ids in common: comparing all 1 / 1 records"
    assert "Speedup (B / A mean latency): 0.50x (A is 2.00x slower)" in text
    assert "Cost (B / A): n/a" in text
    detached = dataclasses.replace(a, records=None)
    assert compare(detached, b).splitlines()[0] == "Comparison over all 1 / 1 records"


# --------------------------------------------------------------------------- evaluate_results.py


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "evaluate_results.py"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


@pytest.fixture
def result_files(tmp_path):
    table = results_table()
    a = write_json(tmp_path / "compiler.json", table)
    b = write_json(tmp_path / "react.json", {rid: {**rec, "time": rec["time"] * 3} for rid, rec in table.items()})
    return a, b


def test_cli_one_file(result_files):
    proc = run_cli("--file", str(result_files[0]))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["Results", "Raw: 7 / 10 = 0.7", "Mean time: 5.5"]
    assert "Wrong answers" not in proc.stdout


def test_cli_two_files_both_spellings(result_files):
    a, b = map(str, result_files)
    one = run_cli("--file", a, b)
    two = run_cli("--file", a, "--file", b)
    assert one.returncode == 0 and two.returncode == 0
    assert one.stdout == two.stdout
    assert one.stdout.count("Raw: 7 / 10 = 0.7") == 2
    assert "== compiler vs react" in one.stdout
    assert "Speedup (react / compiler mean latency): 3.00x (compiler is 3.00x faster)" in one.stdout


def test_cli_k_and_detail(result_files):
    proc = run_cli("--file", str(result_files[0]), "--k", "4", "--detail")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1] == "Raw: 3 / 4 = 0.75"
    assert lines[-2:] == ["Wrong answers (1):", "  q3: nope <> yes"]


@pytest.mark.parametrize("content", ["{broken", "[]", None])
def test_cli_bad_file_exits_2_with_one_line(tmp_path, result_files, content):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    proc = run_cli("--file", str(result_files[0]), str(path))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith(f"evaluate_results.py: error: {path}: ")
    assert "Traceback" not in proc.stderr


def test_cli_usage_errors(result_files):
    a = str(result_files[0])
    assert run_cli("--file", a, a, a).returncode == 2
    assert run_cli("--file", a, "--k", "0").returncode == 2
    assert run_cli().returncode == 2


def test_evaluation_imports_no_cli_configs_or_benchmarks():
    code = (
        "import sys, llmcompiler.evaluation, llmcompiler.evaluation.evaluate\n"
        "bad = [m for m in sys.modules if m == 'llmcompiler.cli' or m.split('.')[0] in ('configs', 'benchmarks')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)


# --------------------------------------------------------------------------- the real files (opt-in)


@pytest.mark.skipif(
    os.environ.get("LLMCOMPILER_TEST_SHARED_DATASETS") != "1",
    reason="set LLMCOMPILER_TEST_SHARED_DATASETS=1 to check the reference datasets in ../shared/datasets",
)
@pytest.mark.parametrize(("name", "count"), [("hotpotqa", 1487), ("movie", 500), ("parallelqa", 113)])
def test_shared_reference_datasets(name, count):
    spec = BENCHMARKS[name]
    path = SHARED_DATASETS / spec.file
    assert hashlib.sha256(path.read_bytes()).hexdigest() == spec.sha256
    items = load_dataset(path=path)
    assert len(items) == count == spec.count
    assert all(isinstance(q["id"], str) for q in items)
    if name == "parallelqa":
        assert {q["branch"] for q in items} == {2, 3, 4, 5}
    if name == "hotpotqa":
        assert {q["level"] for q in items} == {"hard"}
    # the reference file, served as the cache, passes the checksum path too
    assert load_dataset(name, cache_dir=SHARED_DATASETS, download=False) == items
