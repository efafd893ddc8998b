"""benchmarks/cascade.py: the simulation runs, its four configurations order as they should,
and its table lands between the page's markers."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_benchmark():
    spec = importlib.util.spec_from_file_location("_cascade_benchmark", ROOT / "benchmarks" / "cascade.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def movie_like(path: Path, n: int) -> Path:
    """Questions in the movie set's shape, over a few titles so that they repeat."""
    rng = random.Random(7)
    films = [f"Film Number {i}" for i in range(12)]
    rows = []
    for i in range(n):
        picked = rng.sample(films, 4)
        question = f"Find a movie similar to {', '.join(picked)}\nOptions:\nAlpha\nBeta\nGamma\nDelta\n"
        rows.append({"id": str(i), "question": question, "answer": rng.choice(["Alpha", "Beta", "Gamma", "Delta"])})
    path.write_text(json.dumps(rows))
    return path


def test_the_simulation_and_its_table(tmp_path, capsys):
    benchmark = load_benchmark()
    page = tmp_path / "page.md"
    page.write_text(f"before\n{benchmark.BEGIN}\nold table\n{benchmark.END}\nafter\n")
    out = tmp_path / "rows.json"
    dataset = movie_like(tmp_path / "movies.json", 40)
    code = benchmark.main(
        ["--dataset", str(dataset), "--N", "40", "--markdown", str(page), "--out", str(out), "--quiet"]
    )
    assert code == 0
    rows = {r["configuration"]: r for r in json.loads(out.read_text())}
    cheap, strong, cascade, memory = (rows[k] for k in ("cheap alone", "strong alone", "cascade", "cascade + memory"))
    assert cheap["strong_runs"] == 0 and strong["strong_runs"] == 40
    assert cascade["success_rate"] >= max(cheap["success_rate"], strong["success_rate"])
    assert cheap["cost"] < cascade["cost"] < strong["cost"]
    assert memory["strong_runs"] <= cascade["strong_runs"] and memory["stored"] == memory["solved"]
    assert cascade["stored"] == 0
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old table" not in text
    assert "| cascade + memory |" in text and "| configuration | success rate |" in capsys.readouterr().out


def test_a_missing_dataset_is_one_line(tmp_path, capsys):
    assert load_benchmark().main(["--dataset", str(tmp_path / "none.json")]) == 2
    assert capsys.readouterr().err.startswith("error: no dataset at")
