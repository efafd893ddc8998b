"""The store's journal: a record reported stored survives SIGKILL, the file stays valid JSON,
and a resumed run asks nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

from llmcompiler.evaluation.store import ResultStore, load_results

WRITER = textwrap.dedent(
    """
    import sys
    from llmcompiler.evaluation.store import ResultStore

    store = ResultStore(sys.argv[1])
    with store.batched(every=7):
        for i in range(100000):
            rid = str(i)
            if rid in store:
                continue
            store.add(rid, {"question": "q" + rid, "label": rid, "answer": rid, "time": 0.0})
            print(rid, flush=True)  # reported stored
    """
)


def _kill_after(path, count):
    """Start a writer, read `count` reports, SIGKILL it mid-run; the ids it reported."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    reported = []
    try:
        assert proc.stdout is not None
        while len(reported) < count:
            line = proc.stdout.readline()
            assert line, "the writer ended early"
            reported.append(line.strip())
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return reported


def test_sigkill_mid_run_then_resume_loses_nothing_and_asks_nothing_twice(tmp_path):
    path = tmp_path / "results.json"
    first = _kill_after(path, 40)
    json.loads(path.read_text())  # the file is valid JSON as the writer left it
    assert set(first) <= set(load_results(path))  # readers see the journal too

    second = _kill_after(path, 25)
    assert not set(first) & set(second)  # the resumed run skipped every reported record
    with ResultStore(path) as store:
        assert set(first) | set(second) <= set(store)
        assert not path.with_name("results.json.journal").exists()  # folded in on open
    data = json.loads(path.read_text())
    assert set(first) | set(second) <= set(data)


def test_a_torn_last_journal_line_is_ignored(tmp_path):
    path = tmp_path / "results.json"
    with ResultStore(path) as store, store.batched(every=100):
        store.add("a", {"question": "q", "label": "1", "answer": "1", "time": 0.0})
        journal = path.with_name("results.json.journal")
        with journal.open("ab") as f:
            f.write(b'{"id": "b", "record": {"lab')  # a write cut off by the kill
        assert json.loads(path.read_text()) == {}  # not compacted yet: the journal holds "a"
        assert set(load_results(path)) == {"a"}
    assert set(json.loads(path.read_text())) == {"a"}


def test_without_batching_every_add_rewrites_the_file(tmp_path):
    path = tmp_path / "results.json"
    with ResultStore(path) as store:
        store.add("a", {"question": "q", "label": "1", "answer": "1", "time": 0.0})
        assert set(json.loads(path.read_text())) == {"a"}
        assert not path.with_name("results.json.journal").exists()


def test_the_wikipedia_pool_follows_the_run_concurrency():
    import asyncio

    from llmcompiler.tools.wikipedia import WikipediaSearch, sized_for

    async def limit(wiki):
        async with wiki:
            return wiki._state().session.connector.limit

    with sized_for(128):
        assert asyncio.run(limit(WikipediaSearch(api_url="http://127.0.0.1:9/w/api.php"))) == 512
        assert asyncio.run(limit(WikipediaSearch(api_url="http://127.0.0.1:9/w/api.php", max_connections=8))) == 8
    assert asyncio.run(limit(WikipediaSearch(api_url="http://127.0.0.1:9/w/api.php"))) == 16
