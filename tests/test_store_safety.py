"""The result store under abuse: strict JSON (item 14), one writer at a time (item 15), and no
resuming by a run of a different method, suite, dataset or model (item 16)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmcompiler.evaluation import store as store_module
from llmcompiler.evaluation.runner import dataset_fingerprint, producer
from llmcompiler.evaluation.store import PRODUCER_KEY, ResultStore, StoreError, load_results

sys.path.insert(0, str(Path(__file__).parent))
from test_bench_e2e import bench_args, dataset, run_script, servers  # noqa: E402, F401, F811  (fixtures)


def record(answer="yes", label="yes", time=1.0, **extra):
    return {"question": "q?", "label": label, "answer": answer, "time": time, **extra}


def strict(text):
    def refuse(name):
        raise AssertionError(f"{name} in a results file")

    return json.loads(text, parse_constant=refuse)


# -- item 14: strict JSON -----------------------------------------------------------------


def test_nan_and_infinity_are_written_as_null(tmp_path):
    path = tmp_path / "r.json"
    with ResultStore(path) as store:
        store.add("1", record(time=float("nan"), stats={"cost": float("inf"), "per_call": [1.5, float("-inf")]}))
        store.update({"2": record(time=2.5)})
        assert store.get("1")["time"] is None  # memory holds what the file holds
    data = strict(path.read_text())
    assert data["1"]["time"] is None and data["1"]["stats"] == {"cost": None, "per_call": [1.5, None]}
    assert data["2"]["time"] == 2.5


def test_an_older_file_with_nan_still_loads_and_is_rewritten_strictly(tmp_path):
    path = tmp_path / "old.json"
    path.write_text('{"1": {"label": "a", "answer": "a", "time": NaN, "stats": {"cost": Infinity}}}')
    assert load_results(path)["1"]["time"] is None
    with ResultStore(path) as store:
        assert store.get("1")["stats"]["cost"] is None
        store.add("2", record())
    assert strict(path.read_text())["1"] == {"label": "a", "answer": "a", "time": None, "stats": {"cost": None}}


def test_unwritable_values_are_still_one_store_error(tmp_path):
    with ResultStore(tmp_path / "r.json") as store:
        with pytest.raises(StoreError, match="cannot be written as JSON"):
            store.add("1", record(answer={1, 2}))
        assert len(store) == 0


# -- item 15: one writer ------------------------------------------------------------------


def test_a_second_store_in_this_process_names_the_holder(tmp_path):
    path = tmp_path / "results.json"
    first = ResultStore(path)
    with pytest.raises(StoreError) as caught:
        ResultStore(path)
    message = str(caught.value)
    assert message.startswith(f"{path} is in use by pid {os.getpid()} (") and "this process" in message
    assert message.endswith("; wait for it or use another --store") and "\n" not in message
    first.add("1", record())
    first.close()
    first.close()  # twice is fine
    assert first.closed and first.get("1")["answer"] == "yes"  # still readable
    with pytest.raises(StoreError, match="the store is closed"):
        first.add("2", record())
    with ResultStore(path) as second:
        second.add("2", record())
        assert load_results(path).keys() == {"1", "2"}  # readers need no lock
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_a_store_dropped_without_close_gives_the_lock_back(tmp_path):
    path = tmp_path / "results.json"
    ResultStore(path).add("1", record())
    with ResultStore(path) as store:
        assert list(store) == ["1"]


def test_a_corrupt_or_mismatched_store_keeps_no_lock(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("[]")
    with pytest.raises(StoreError, match="got a list"):
        ResultStore(path)
    path.write_text(json.dumps({"1": record(method="react")}))
    with pytest.raises(StoreError, match="was written by react"):
        ResultStore(path, produced_by={"method": "llmcompiler"})
    with ResultStore(path) as store:  # neither failure left the file locked
        assert len(store) == 1


HOLD = """
import sys
from llmcompiler.evaluation.store import ResultStore
store = ResultStore(sys.argv[1])
store.add("child", {"label": "a", "answer": "a", "time": 1.0})
print("holding", flush=True)
sys.stdin.readline()
"""

TRY = """
import sys
from llmcompiler.evaluation.store import ResultStore, StoreError
try:
    ResultStore(sys.argv[1])
except StoreError as exc:
    print(exc)
    sys.exit(3)
print("opened")
"""


@pytest.mark.timeout(60)
def test_two_processes_one_store(tmp_path):
    path = tmp_path / "results.json"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), "--api_key", "sk-secret"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout.readline() == "holding\n", child.stderr.read()
        # this process cannot open it, nor can a third one
        with pytest.raises(StoreError) as caught:
            ResultStore(path)
        message = str(caught.value)
        assert f"is in use by pid {child.pid} (" in message and " -c " in message and "since " in message
        assert "\n" not in message  # the -c script's lines are folded
        assert "sk-secret" not in message and "--api_key '***'" in message
        third = subprocess.run([sys.executable, "-c", TRY, str(path)], capture_output=True, text=True, timeout=30)
        assert third.returncode == 3 and f"pid {child.pid}" in third.stdout
        assert list(load_results(path)) == ["child"]
    finally:
        child.kill()  # no close(): the kernel drops the lock of a dead process
        child.wait(timeout=30)
    assert (tmp_path / "results.json.lock").exists()  # left behind by the killed writer, unlocked
    with ResultStore(path) as store:
        store.add("parent", record())
    assert list(load_results(path)) == ["child", "parent"]
    # and the other way round: this process holds it, a child is refused
    with ResultStore(path):
        refused = subprocess.run([sys.executable, "-c", TRY, str(path)], capture_output=True, text=True, timeout=30)
        assert refused.returncode == 3 and f"in use by pid {os.getpid()} (" in refused.stdout
    opened = subprocess.run([sys.executable, "-c", TRY, str(path)], capture_output=True, text=True, timeout=30)
    assert opened.stdout == "opened\n"


def test_the_command_line_in_the_lock_hides_secrets(monkeypatch):
    monkeypatch.setattr(sys, "orig_argv", ["/usr/bin/python3", "run.py", "--api_key", "sk-1", "--token=abc", "--store", "r.json"])
    line = store_module._command_line()
    assert line == "python3 run.py --api_key '***' '--token=***' --store r.json"


# -- item 16: what produced the store -----------------------------------------------------

EXAMPLES = [{"id": "1", "question": "q1?", "answer": "a"}, {"id": "2", "question": "q2?", "answer": ["b", "c"]}]


def run_of(**changes):
    settings = {"method": "llmcompiler", "suite": "hotpotqa", "examples": EXAMPLES, "model": "openai:gpt-4o"}
    return producer(**{**settings, **changes})


def test_the_dataset_fingerprint_follows_the_questions_not_the_file():
    assert dataset_fingerprint(EXAMPLES) == dataset_fingerprint([dict(e) for e in EXAMPLES])
    assert dataset_fingerprint(EXAMPLES).startswith("sha256:") and len(dataset_fingerprint(EXAMPLES)) == 23
    edited = [EXAMPLES[0], {**EXAMPLES[1], "answer": "b"}]
    assert dataset_fingerprint(edited) != dataset_fingerprint(EXAMPLES)
    assert dataset_fingerprint(EXAMPLES[:1]) != dataset_fingerprint(EXAMPLES)


def test_records_carry_their_producer_and_a_mismatch_is_refused(tmp_path):
    path = tmp_path / "results.json"
    with ResultStore(path, produced_by=run_of()) as store:
        store.add("1", record())
    saved = strict(path.read_text())["1"]
    assert saved[PRODUCER_KEY] == run_of() and saved["label"] == "yes"
    with ResultStore(path, produced_by=run_of()) as store:  # the same run resumes
        assert store.expect(run_of()) == 0
    for changes, differs in [
        ({"method": "react"}, "method llmcompiler -> react"),
        ({"suite": "movie"}, "suite hotpotqa -> movie"),
        ({"model": "vllm:llama"}, "model openai:gpt-4o -> vllm:llama"),
        ({"examples": EXAMPLES[:1]}, "dataset sha256:"),
        ({"stream": False}, "stream true -> false"),
        ({"endpoint": "completions", "prompts": "llama"}, "endpoint chat -> completions, prompts gpt -> llama"),
    ]:
        with ResultStore(path) as store:
            with pytest.raises(StoreError) as caught:
                store.expect(run_of(**changes))
        message = str(caught.value)
        assert message.startswith(f"{path} was written by llmcompiler on hotpotqa with openai:gpt-4o; this run is ")
        assert differs in message and message.endswith("; pass a new --store or delete the file")
        assert "\n" not in message
    assert strict(path.read_text())["1"] == saved  # refusing wrote nothing


def test_records_without_a_producer_are_counted_and_method_alone_is_checked(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"1": record(), "2": record(method="llmcompiler"), "3": record(**{PRODUCER_KEY: {"method": "llmcompiler"}})}))
    with ResultStore(path) as store:
        assert store.expect(run_of()) == 2  # 3 names only its method: compared on that, and it matches
        store.add("4", record())
        assert store.get("4")[PRODUCER_KEY] == run_of() and PRODUCER_KEY not in store.get("1")
    with ResultStore(path) as store:
        with pytest.raises(StoreError, match=r"written by llmcompiler; this run is react on hotpotqa .*record '2'"):
            store.expect(run_of(method="react"))


# -- through run_llm_compiler.py ----------------------------------------------------------


async def test_a_copied_store_cannot_be_resumed_by_another_method(servers, dataset, tmp_path):  # noqa: F811
    env = {"OPENAI_API_KEY": "test-key"}
    original = tmp_path / "compiler.json"
    code, _, err = await run_script("run_llm_compiler.py", *bench_args(servers, dataset, original, "--N", "4"), env=env)
    assert code == 0, err
    results = strict(original.read_text())
    assert len(results) == 4 and all({"label", "answer", "time"} <= set(r) for r in results.values())  # the original's evaluate reads these
    stamp = results["q1"][PRODUCER_KEY]
    assert stamp["method"] == "llmcompiler" and stamp["suite"] == "hotpotqa" and stamp["model"] == "openai:scripted-gpt"
    assert stamp["dataset"].startswith("sha256:") and not (tmp_path / "compiler.json.lock").exists()

    copied = tmp_path / "copied.json"
    copied.write_bytes(original.read_bytes())
    older = tmp_path / "older.json"  # as an older version wrote it: no producer, no method, one question short
    older.write_text(json.dumps({k: {f: v for f, v in r.items() if f not in (PRODUCER_KEY, "method")} for k, r in list(results.items())[:3]}))
    (code, out, err), (older_code, _, older_err) = await asyncio.gather(
        run_script("run_llm_compiler.py", *bench_args(servers, dataset, copied, "--react"), env=env),
        run_script("run_llm_compiler.py", *bench_args(servers, dataset, older), env=env),
    )
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"error: {copied} was written by llmcompiler on hotpotqa with openai:scripted-gpt; this run is react")
    assert "method llmcompiler -> react" in err and err.rstrip().endswith("pass a new --store or delete the file")
    assert copied.read_bytes() == original.read_bytes() and not (tmp_path / "copied.json.lock").exists()

    assert older_code == 0, older_err
    assert f"warning: 3 of the 3 records in {older} do not say what produced them" in older_err
    assert "resumed: 3 questions already in" in older_err
    resumed = strict(older.read_text())
    assert sorted(resumed) == ["q1", "q2", "q3", "q4", "q5"] and resumed["q5"][PRODUCER_KEY] == stamp


async def test_a_second_run_on_a_store_in_use_stops_with_the_holder(servers, dataset, tmp_path):  # noqa: F811
    path = tmp_path / "busy.json"
    with ResultStore(path) as held:
        held.add("q1", record())
        before = path.read_bytes()
        code, out, err = await run_script("run_llm_compiler.py", *bench_args(servers, dataset, path), env={"OPENAI_API_KEY": "k"})
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert err.startswith(f"error: {path} is in use by pid {os.getpid()} (") and "wait for it or use another --store" in err
        assert path.read_bytes() == before
    assert not servers[0].requests  # refused before any question


def test_bench_closes_the_store_on_every_exit_path(tmp_path, monkeypatch):
    from llmcompiler.evaluation.bench import main as bench_main

    closed: list[Path] = []
    real_close = ResultStore.close

    def close(self):
        if not self.closed:
            closed.append(self.path)
        real_close(self)

    monkeypatch.setattr(ResultStore, "close", close)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    configs = Path(__file__).resolve().parent.parent / "configs"
    common = ["--benchmark_name", "hotpotqa", "--base_url", "http://127.0.0.1:9/v1", "--no_progress"]
    missing = tmp_path / "missing.json"
    assert bench_main([*common, "--store", str(tmp_path / "a.json"), "--dataset", str(missing)], configs_dir=configs) == 2
    mismatched = tmp_path / "b.json"
    mismatched.write_text(json.dumps({"q1": record(method="react")}))
    questions = tmp_path / "q.json"
    questions.write_text(json.dumps([{"id": "q1", "question": "q?", "answer": "yes"}]))
    assert bench_main([*common, "--store", str(mismatched), "--dataset", str(questions)], configs_dir=configs) == 2
    assert closed == [tmp_path / "a.json", mismatched]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "q.json"]  # no lock files left
