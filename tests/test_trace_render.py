"""Rendering a trace: the summary, the Mermaid DAG, the Gantt PNG and the HTML page (in a real
headless Chromium when one is installed)."""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import subprocess

import pytest

from llmcompiler import LLMCompiler, tool
from llmcompiler.llm import Price, ScriptedModel
from llmcompiler.runtime import events as ev
from llmcompiler.trace import (
    Timeline,
    gantt,
    gantt_png,
    load_trace,
    mermaid_from_events,
    save_trace,
    summarize_events,
    timeline_html,
    write_html,
)
from llmcompiler.trace import html as trace_html


@tool
async def lookup(key: str) -> str:
    """Look a key up."""
    await asyncio.sleep(0.08 if key == "gamma" else 0.04)
    return f"value of {key}"


@tool
async def combine(a, b) -> str:
    """Combine two values."""
    await asyncio.sleep(0.05)
    return f"{a} + {b}"


@tool
async def explode(x) -> str:
    """Always fails."""
    await asyncio.sleep(0.01)
    raise RuntimeError("boom")


# $3 fails, so $4 is skipped; $6 waits for $5, which the planner writes late and which takes
# longer than $2: $6 ends last and the critical path is $5 -> $6.
# $2's argument needs escaping in HTML.
PLAN = (
    "Thought: look them up\n"
    '1. lookup("alpha")\n'
    '2. lookup("beta <b> & \\"c\\"")\n'
    "3. explode($1)\n"
    '4. combine($3, "x")\n'
    '5. lookup("gamma")\n'
    "6. combine($2, $5)\n"
    "7. join()<END_OF_PLAN>"
)
TASK_IDS = [1, 2, 3, 4, 5, 6]


@pytest.fixture(scope="module")
def events():
    agent = LLMCompiler(
        tools=[lookup, combine, explode],
        planner=ScriptedModel([PLAN], ttft=0.01, tokens_per_second=300, name="scripted-planner"),
        joiner=ScriptedModel(["Thought: enough\nAction: Finish(forty-two)"], ttft=0.01, name="scripted-joiner"),
    )
    result = asyncio.run(agent.ainvoke("What do <alpha> & beta give?"))
    assert result.answer == "forty-two"
    return result.events


@pytest.fixture(scope="module")
def timeline(events):
    return Timeline.from_events(events)


def labels(timeline):
    return {s.idx: s.label for s in timeline.tasks}


# -- summary ------------------------------------------------------------------------------


def test_summary_counts_and_critical_path(events, timeline):
    s = summarize_events(events)
    assert s.question == "What do <alpha> & beta give?" and s.answer == "forty-two" and s.error is None
    assert s.rounds == 1 and s.tasks == {"done": 4, "failed": 1, "skipped": 1} and s.n_tasks == 6
    assert s.duration == pytest.approx(events[-1].t - events[0].t)
    spans = {sp.idx: sp for sp in timeline.tasks}
    last = max(spans.values(), key=lambda sp: sp.end)
    assert s.critical_path[-1] == last.idx == 6
    assert s.critical_path == [5, 6]  # $6 waited for $5 (written late), not for $2
    assert s.critical_labels == [spans[5].label, spans[6].label] and s.critical_labels[-1].startswith("6. combine(")
    assert s.critical_end == pytest.approx(last.end)
    # each link of the chain is a dependency of the next
    for before, after in zip(s.critical_path, s.critical_path[1:], strict=False):
        assert before in spans[after].deps


def test_summary_phases_add_up(events, timeline):
    s = summarize_events(events)
    p = s.phases
    assert set(p) == {"planner", "tools", "joiner", "overlap", "other"}
    assert all(v >= 0 for v in p.values())
    assert p["planner"] > 0 and p["tools"] > 0 and p["joiner"] > 0
    # streaming the plan lets tools run while the planner is still writing
    assert p["overlap"] > 0 and p["overlap"] <= min(p["planner"], p["tools"]) + 1e-9
    # tools: the union of busy time, less than the summed durations of tasks that overlapped
    summed = sum(sp.duration for sp in timeline.tasks)
    assert p["tools"] <= summed + 1e-9
    assert p["tools"] < summed  # $1 and $2 ran at the same time
    # the joiner runs alone, so the phases tile the run
    total = p["planner"] + p["tools"] - p["overlap"] + p["joiner"] + p["other"]
    assert total == pytest.approx(s.duration, abs=1e-6)
    assert p["planner"] == pytest.approx(next(sp.duration for sp in timeline.spans if sp.lane == "planner"))


def test_summary_tokens_and_cost(events):
    s = summarize_events(events)
    calls = [e for e in events if isinstance(e, ev.ModelCall)]
    assert set(s.roles) == {"planner", "joiner"}
    planner = s.roles["planner"]
    assert planner.calls == 1 and planner.models == ("scripted-planner",)
    assert planner.input_tokens == calls[0].usage.input_tokens > 0 and planner.output_tokens > 0
    assert s.input_tokens == sum(c.usage.input_tokens for c in calls)
    # no list price for a scripted model: unknown, never 0
    assert planner.cost is None and s.roles["joiner"].cost is None and s.cost is None
    assert "unknown" in s.format()
    # a price for one model prices that role only; the total stays unknown
    priced = summarize_events(events, prices={"scripted-planner": Price(1.0, 2.0)})
    expected = (planner.input_tokens * 1.0 + planner.output_tokens * 2.0) / 1e6
    assert priced.roles["planner"].cost == pytest.approx(expected) and expected > 0
    assert priced.roles["joiner"].cost is None and priced.cost is None
    # both priced (by prefix): a number for the run
    both = summarize_events(events, prices={"scripted": Price(1.0, 2.0)})
    assert both.cost == pytest.approx(both.roles["planner"].cost + both.roles["joiner"].cost)


def test_summary_format_is_compact_text(events):
    text = summarize_events(events).format()
    assert "What do <alpha> & beta give?" in text and "forty-two" in text
    assert "$5 -> $6" in text and "6 tasks (4 done, 1 failed, 1 skipped)" in text
    for name in ("planner streaming", "tools busy", "joiner", "tools during planner streaming"):
        assert name in text
    assert len(text.splitlines()) < 25


def test_summary_phases_read_as_a_sum_of_the_wall_time(events):
    """The overlap is in planner and in tools: it is shown as a line to take away, so the
    column adds up to the wall time and the shares to 100 %, never more."""
    s = summarize_events(events)
    lines = s.format().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("time per phase"))
    rows = [line[16:] for line in lines[start : start + 6]]
    names = [re.split(r"\s{2,}", row.strip())[0] for row in rows]
    assert names == [
        "planner streaming",
        "tools busy",
        "overlap (tools during planner streaming)",
        "joiner",
        "other (none of these busy)",
        "wall time",
    ]
    seconds = [float(re.search(r"(-?\d+\.\d+) s", row).group(1)) for row in rows]
    shares = [float(re.search(r"(-?\d+\.\d+) %", row).group(1)) for row in rows]
    assert seconds[2] == pytest.approx(-s.phases["overlap"], abs=1e-3) and seconds[2] < 0
    assert sum(seconds[:5]) == pytest.approx(seconds[5], abs=3e-3) and seconds[5] == pytest.approx(s.duration, abs=1e-3)
    assert sum(shares[:5]) == pytest.approx(100.0, abs=0.3) and shares[5] == 100.0


def test_the_html_phase_table_also_sums_to_the_wall_time(events, timeline):
    s = summarize_events(events)
    page = timeline_html(timeline, summary=s)
    rows = re.findall(r'<tr data-phase="(\w+)"><th>[^<]*</th><td>(-?\d+\.\d+) s</td>', page)
    assert [key for key, _ in rows] == ["planner", "tools", "overlap", "joiner", "other", "wall"]
    seconds = [float(value) for _, value in rows]
    assert seconds[2] < 0 and sum(seconds[:5]) == pytest.approx(seconds[5], abs=3e-3)


def test_summary_survives_a_saved_trace(events, tmp_path):
    loaded = load_trace(save_trace(events, tmp_path / "run.json"))
    assert summarize_events(loaded) == summarize_events(events)
    assert mermaid_from_events(loaded) == mermaid_from_events(events)


def test_summary_of_no_events():
    s = summarize_events([])
    assert s.n_tasks == 0 and s.critical_path == [] and s.duration == 0 and s.cost == 0
    assert s.format()


# -- Mermaid ------------------------------------------------------------------------------


def test_mermaid_has_every_task_and_edge(events):
    text = mermaid_from_events(events)
    assert text.startswith("flowchart LR\n")
    tasks = [e.task for e in events if isinstance(e, ev.TaskParsed)]
    assert [t.idx for t in tasks] == [*TASK_IDS, 7]  # join() included
    for task in tasks:
        assert re.search(rf'^    t{task.idx}\["\${task.idx} ', text, re.M), task.idx
        for dep in task.deps:
            assert f"    t{dep} --> t{task.idx}\n" in text
    edges = re.findall(r"^    t\d+ --> t\d+$", text, re.M)
    assert len(edges) == sum(len(t.deps) for t in tasks)
    assert "class t1,t2,t5,t6 done" in text and "class t3 failed" in text and "class t4 skipped" in text
    assert "<b>" not in text  # labels use Mermaid's entity codes


# -- PNG ----------------------------------------------------------------------------------


def colour_bands(image, colours, *, min_height=1):
    """Heights of the horizontal bands of pixel rows that hold any of `colours` exactly."""
    from PIL import ImageColor

    rgb = image.convert("RGB")
    width, height = rgb.size
    targets = {bytes(ImageColor.getrgb(c)) for c in colours}
    data = rgb.tobytes()
    stride = 3 * width
    hits = [
        any(data[i : i + 3] in targets for i in range(y * stride, (y + 1) * stride, 3))
        for y in range(height)
    ]
    bands, run = [], 0
    for hit in [*hits, False]:
        if hit:
            run += 1
        elif run:
            bands.append(run)
            run = 0
    return [b for b in bands if b >= min_height]


STATUS_COLOURS = [gantt.COLOURS[s] for s in ("done", "failed", "skipped")]


def test_gantt_png_has_one_bar_per_task(timeline, tmp_path):
    from PIL import Image

    path = gantt_png(timeline, tmp_path / "run.png")
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG"
        bands = colour_bands(image, STATUS_COLOURS)
        legend = image.text["Legend"]
    # one band per task, then the legend's row of swatches under the time axis
    *bars, swatches = bands
    assert len(bars) == len(TASK_IDS), bands
    assert min(bars) >= 8  # real bars, even for the skipped task that never ran
    assert swatches < min(bars)
    assert legend == "planner streaming, joiner, task written, waiting to start, task done, task failed, task skipped"


def test_gantt_png_legend_title_and_time_axis(timeline, tmp_path):
    from PIL import Image

    long_title = "Which of these " + "very " * 60 + "long questions?"
    path = gantt_png(timeline, tmp_path / "run.png", title=long_title, xmax=timeline.duration * 3)
    with Image.open(path) as image:
        image.load()
        text = dict(image.text)
        # the legend's swatches: every lane colour the picture uses, in one row below the bars
        planner_bands = colour_bands(image, [gantt.COLOURS["planner"]])
    assert text["Title"].endswith("…") and len(text["Title"]) == gantt.TITLE_CHARS
    assert text["Title"].startswith("Which of these very")
    assert float(text["Time axis"].split()[2]) == pytest.approx(timeline.duration * 3 * 1.02, rel=1e-5)
    assert len(planner_bands) == 2  # the planner's bar and its swatch
    short = gantt_png(timeline, tmp_path / "short.png", title="Short question?")
    with Image.open(short) as image:
        image.load()
        assert image.text["Title"] == "Short question?"
        assert float(image.text["Time axis"].split()[2]) == pytest.approx(timeline.duration * 1.02, rel=1e-5)


# -- HTML ---------------------------------------------------------------------------------


def page_for(events, timeline):
    return timeline_html(timeline, title="a <run>", mermaid=mermaid_from_events(events), summary=summarize_events(events))


def test_html_is_self_contained(events, timeline):
    page = page_for(events, timeline)
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"\b(src|href)\s*=", page) and "url(" not in page and "@import" not in page
    assert "<svg" in page and "<style>" in page and "<table" in page
    assert len(page) < 60_000  # no observations in it


def test_html_shows_every_task_escaped(events, timeline):
    page = page_for(events, timeline)
    for idx, label in labels(timeline).items():
        assert html.escape(label) in page, label
        assert page.count(f'data-task="{idx}"') >= 2  # its bar and its table row
    assert '2. lookup(&quot;beta &lt;b&gt; &amp; \\&quot;c\\&quot;&quot;)' in page
    assert "&lt;b&gt;" in page and "lookup(\"beta <b>" not in page
    assert "What do &lt;alpha&gt; &amp; beta give?" in page and "forty-two" in page
    assert "<title>a &lt;run&gt;</title>" in page
    # the summary and the Mermaid text are on the page
    assert "Critical path" in page and "tools during planner streaming" in page
    assert '<pre class="mermaid-source">flowchart LR' in page and "t5 --&gt; t6" in page
    # rows in the order of the PNG
    order = [int(m) for m in re.findall(r'<g class="row task [a-z]+" data-task="(\d+)"', page)]
    assert order == [s.idx for s in gantt.rows(timeline) if s.lane == "task"] == TASK_IDS
    # the waiting segment from parsed to start: $6 waited for $5
    row6 = page.split('<g class="row task done" data-task="6"', 1)[1].split("</g>", 1)[0]
    assert 'class="waiting"' in row6


def test_html_without_summary_or_mermaid(timeline, tmp_path):
    page = timeline_html(timeline)
    assert "What do &lt;alpha&gt; &amp; beta give?" in page and '<pre class="mermaid-source">' not in page
    assert "unknown (no price)" in page
    path = write_html(timeline, tmp_path / "out" / "run.html", title="t")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in path.parent.iterdir()] == ["run.html"]  # no temp file left


def browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def run_browser(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = browser()
    if binary is None:
        pytest.skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH")
    command = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", *args,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=45)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_html_opens_in_headless_chromium(events, timeline, tmp_path):
    path = write_html(timeline, tmp_path / "run.html", mermaid=mermaid_from_events(events), summary=summarize_events(events))
    dom = run_browser(tmp_path, "--dump-dom", path.resolve().as_uri()).stdout
    assert "<svg" in dom and "forty-two" in dom
    for idx, label in labels(timeline).items():
        assert html.escape(label, quote=False) in dom, label  # the DOM serializer leaves quotes in text
        assert f'data-task="{idx}"' in dom
    assert len(re.findall(r'<g class="row task [a-z]+" data-task="\d+"', dom)) == len(TASK_IDS)

    # and it draws one bar per task: count bands of the status colours in a screenshot
    # (the legend's dots use them too, but they are lower than a bar)
    from PIL import Image

    shot = tmp_path / "shot.png"
    run_browser(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", path.resolve().as_uri())
    with Image.open(shot) as image:
        image.load()
        bands = colour_bands(image, STATUS_COLOURS, min_height=trace_html.BAR_HEIGHT - 2)
    assert len(bands) == len(TASK_IDS), bands
