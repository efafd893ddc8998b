"""What a new user hits on the command line: numbers that mean nothing, `--model_type scripted`
with a replies file, suites whose code fails, and modules in the current directory.

Each class of mistake is run once through the installed entry point or the root scripts, as
a user runs them; the full matrix of flags runs in-process (the same `main`), which is fast.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from llmcompiler.cli import main

ROOT = Path(__file__).resolve().parent.parent

PLAN = '1. double(21)\n2. join()<END_OF_PLAN>'
FINISH = "Thought: $1 is 42.\nAction: Finish(42)"
TOOLS_MODULE = '''
def double(x: int) -> int:
    """Twice x."""
    return 2 * x

TOOLS = [double]
'''


def entry_point() -> list[str]:
    script = Path(sys.executable).with_name("llmcompiler")
    found = str(script) if script.exists() else shutil.which("llmcompiler")
    assert found, "the llmcompiler console script is not installed (pip install -e .)"
    return [found]


async def run(*command: str, cwd: Path) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "LLMCOMPILER_", "FRIENDLI_"))}
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, out.decode(), err.decode()


@pytest.fixture(autouse=True)
def _own_sys_path(monkeypatch):
    # in-process runs import from their cwd (a tmp_path) and leave it on sys.path, as python -m does
    monkeypatch.setattr(sys, "path", list(sys.path))


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# -- item 11: every number is checked -----------------------------------------------------

NUMBERS = [
    (["ask", "q", "--timeout", "nan"], "--timeout must be a finite number of seconds > 0, got 'nan'", "llmcompiler ask"),
    (["ask", "q", "--timeout", "inf"], "--timeout must be a finite number of seconds > 0, got 'inf'", "llmcompiler ask"),
    (["ask", "q", "--timeout", "0"], "--timeout must be a finite number of seconds > 0, got '0'", "llmcompiler ask"),
    (["ask", "q", "--max_replans", "-1"], "--max_replans must be a whole number >= 0, got '-1'", "llmcompiler ask"),
    (["ask", "q", "--vllm_port", "70000"], "--vllm_port must be a port number from 1 to 65535, got '70000'", "llmcompiler ask"),
    (["bench", "--store", "s.json", "--N", "0"], "--N must be a whole number >= 1, got '0'", "llmcompiler bench"),
    (["bench", "--store", "s.json", "--N", "-1"], "--N must be a whole number >= 1, got '-1'", "llmcompiler bench"),
    (["bench", "--store", "s.json", "--N", "2.5"], "--N must be a whole number >= 1, got '2.5'", "llmcompiler bench"),
    (["bench", "--store", "s.json", "--concurrency", "0"], "--concurrency must be a whole number >= 1, got '0'", "llmcompiler bench"),
    (["bench", "--store", "s.json", "--sleep_per_iter", "nan"], "--sleep_per_iter must be a finite number of seconds >= 0, got 'nan'", "llmcompiler bench"),
    (["bench", "--store", "s.json", "--timeout", "-5"], "--timeout must be a finite number of seconds > 0, got '-5'", "llmcompiler bench"),
    (["bench", "--store", "s.json", "--max_replans", "1e3"], "--max_replans must be a whole number >= 0, got '1e3'", "llmcompiler bench"),
    (["bench", "--store", "s.json", "--vllm_port", "0"], "--vllm_port must be a port number from 1 to 65535, got '0'", "llmcompiler bench"),
    (["demo", "--speed", "nan"], "--speed must be a finite number > 0, got 'nan'", "llmcompiler demo"),
    (["demo", "--speed", "0"], "--speed must be a finite number > 0, got '0'", "llmcompiler demo"),
    (["evaluate", "--file", "a.json", "--k", "0"], "--k must be a whole number >= 1, got '0'", "llmcompiler evaluate"),
    (["evaluate", "--file", "a.json", "--k", "-3"], "--k must be a whole number >= 1, got '-3'", "llmcompiler evaluate"),
    (["bench", "runtime", "--scale", "nan"], "--scale must be a finite number > 0, got 'nan'", "llmcompiler bench runtime"),
    (["bench", "runtime", "--repeats", "0"], "--repeats must be a whole number >= 1, got '0'", "llmcompiler bench runtime"),
    (["bench", "runtime", "--ttft", "-1"], "--ttft must be a finite number of seconds >= 0, got '-1'", "llmcompiler bench runtime"),
    (["bench", "runtime", "--dag-sizes", "100,x"], "--dag-sizes must be comma-separated whole numbers >= 1, got '100,x'", "llmcompiler bench runtime"),
    (["bench", "runtime", "--tokens-per-second", "inf"], "--tokens-per-second must be a finite number > 0, got 'inf'", "llmcompiler bench runtime"),
]


@pytest.mark.parametrize("argv, message, prog", NUMBERS, ids=[" ".join(a[:1] + a[-2:]) for a, _, _ in NUMBERS])
def test_a_meaningless_number_is_one_line_and_status_2(argv, message, prog, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert one_line(capsys.readouterr().err) == f"error: {message} (see {prog} --help)"


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--N", "3", "--concurrency", "1_000", "--sleep_per_iter", "0", "--max_replans", "0", "--timeout", "0.5"],
         {"N": 3, "concurrency": 1000, "sleep_per_iter": 0.0, "max_replans": 0, "timeout": 0.5}),
        (["--vllm_port", "8000", "--timeout", "1e2"], {"vllm_port": 8000, "timeout": 100.0}),
    ],
)  # fmt: skip
def test_sensible_numbers_still_parse(argv, expected):
    from llmcompiler.evaluation.bench import build_parser

    args = vars(build_parser().parse_args(["--store", "s.json", *argv]))
    assert {k: args[k] for k in expected} == expected
    assert type(args["timeout"]) is float


async def test_the_scripts_say_their_own_names(tmp_path):
    runs = await asyncio.gather(
        run(sys.executable, str(ROOT / "run_llm_compiler.py"), "--store", "s.json", "--N", "0", cwd=tmp_path),
        run(sys.executable, str(ROOT / "evaluate_results.py"), "--file", "a.json", "--k", "nan", cwd=tmp_path),
        run(*entry_point(), "ask", "q", "--timeout", "nan", cwd=tmp_path),
    )
    messages = [(code, one_line(err)) for code, _, err in runs]
    assert messages == [
        (2, "error: --N must be a whole number >= 1, got '0' (see run_llm_compiler.py --help)"),
        (2, "error: --k must be a whole number >= 1, got 'nan' (see evaluate_results.py --help)"),
        (2, "error: --timeout must be a finite number of seconds > 0, got 'nan' (see llmcompiler ask --help)"),
    ]
    assert not (tmp_path / "s.json").exists()  # refused before anything ran


# -- item 17: --model_type scripted --replies FILE ------------------------------------------


async def test_ask_with_scripted_replies_and_tools_from_the_current_directory(tmp_path):
    (tmp_path / "mytools.py").write_text(TOOLS_MODULE)
    (tmp_path / "replies.json").write_text(json.dumps({"planner": PLAN, "joiner": FINISH, "ttft": 0.01, "tokens_per_second": 400}))
    code, out, err = await run(
        *entry_point(), "ask", "twice 21?", "--tools", "mytools:TOOLS", "--model_type", "scripted",
        "--replies", "replies.json", "--trace", "t.json", cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    assert out.strip() == "42"
    from llmcompiler.trace import load_trace

    models = {e.model for e in load_trace(tmp_path / "t.json") if type(e).__name__ == "ModelCall"}
    assert models == {"scripted"}  # not the suite's default model: no made-up price


async def test_bench_with_one_reply_per_role_answers_every_question(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "tools.py").write_text(TOOLS_MODULE.replace("TOOLS = [double]", "def get_tools(context):\n    return [double]"))
    (suite / "configs.py").write_text('CONFIGS = {"name": "doubling", "max_replans": 0}')
    dataset = [{"id": str(i), "question": f"twice 21, take {i}?", "answer": "42"} for i in range(3)]
    (tmp_path / "questions.json").write_text(json.dumps(dataset))
    (tmp_path / "replies.json").write_text(json.dumps({"planner": [PLAN], "joiner": [FINISH]}))
    code, out, err = await run(
        sys.executable, str(ROOT / "run_llm_compiler.py"), "--config", "suite", "--dataset", "questions.json",
        "--store", "out.json", "--model_type", "scripted", "--replies", "replies.json", "--no_progress", cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    records = json.loads((tmp_path / "out.json").read_text())
    assert sorted(records) == ["0", "1", "2"]
    assert {r["answer"] for r in records.values()} == {"42"} and not any(r.get("error") for r in records.values())


@pytest.mark.parametrize(
    "argv, files, message",
    [
        (["--model_type", "scripted"], {}, "--model_type scripted needs --replies FILE"),
        (["--model_type", "scripted", "--replies", "none.json"], {}, "no replies file none.json"),
        (["--model_type", "scripted", "--replies", "r.json"], {"r.json": "{oops"}, "the replies file r.json is not valid JSON"),
        (["--model_type", "scripted", "--replies", "r.json"], {"r.json": "42"}, "must hold a list of replies or an object"),
        (["--model_type", "scripted", "--replies", "r.json", "--react"], {"r.json": '{"planner": "x", "joiner": "y"}'},
         'the replies file r.json has no "react" replies'),
        (["--replies", "r.json"], {"r.json": "[]"}, "it needs --model_type scripted, not 'openai'"),
    ],
)  # fmt: skip
def test_replies_mistakes_are_one_line(tmp_path, monkeypatch, capsys, argv, files, message):
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    monkeypatch.chdir(tmp_path)
    assert main(["ask", "q", *argv]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("error: ") and message in line


# -- item 18: whatever a suite's code raises is one line ------------------------------------

SUITES = {
    "raises": ("def get_tools(context):\n    return {}['missing']\n", "get_tools(context) raised KeyError: 'missing'"),
    "no_args": ("def get_tools():\n    raise RuntimeError('no network')\n", "get_tools() raised RuntimeError: no network"),
    "not_a_list": ("def get_tools(context):\n    return 5\n", "get_tools(context) must be a list of tools, not int"),
    "import_fails": ("import json\nTOOLS = undefined_name\n", "tools.py failed to load: NameError"),
}


@pytest.mark.parametrize("name", SUITES)
def test_a_failing_suite_is_one_line_naming_the_file_and_function(tmp_path, capsys, name):
    source, message = SUITES[name]
    (tmp_path / name).mkdir()
    (tmp_path / name / "tools.py").write_text(source)
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps({"planner": PLAN, "joiner": FINISH}))
    argv = ["ask", "q", "--config", str(tmp_path / name), "--model_type", "scripted", "--replies", str(replies)]
    assert main(argv) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"error: {tmp_path / name}") and "tools.py" in line and message in line


def test_a_failing_package_init_is_one_line(tmp_path, capsys):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("raise OSError('disk on fire')\n")
    (tmp_path / "pkg" / "tools.py").write_text("TOOLS = []\n")
    assert main(["ask", "q", "--config", str(tmp_path / "pkg"), "--model_type", "scripted", "--replies", "x.json"]) == 2
    assert "__init__.py failed to load: OSError: disk on fire" in one_line(capsys.readouterr().err)


async def test_debug_shows_the_original_traceback(tmp_path):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "tools.py").write_text(SUITES["raises"][0])
    (tmp_path / "r.json").write_text(json.dumps({"planner": PLAN, "joiner": FINISH}))
    argv = ["ask", "q", "--config", "suite", "--model_type", "scripted", "--replies", "r.json"]
    code, _, err = await run(*entry_point(), *argv, cwd=tmp_path)
    assert code == 2 and one_line(err).endswith("get_tools(context) raised KeyError: 'missing'")
    code, _, err = await run(*entry_point(), *argv, "--debug", cwd=tmp_path)
    assert code == 2
    assert "Traceback" in err and "KeyError: 'missing'" in err and "The above exception was the direct cause" in err
    assert err.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.parametrize(
    "module, spec, message",
    [
        ("raise ValueError('bad config')\n", "broken:TOOLS", "--tools broken:TOOLS: importing broken failed: ValueError: bad config"),
        ("def make():\n    raise KeyError('k')\n", "broken:make", "--tools broken:make: make() raised KeyError: 'k'"),
        ("TOOLS = []\n", "broken:NOPE", "--tools broken:NOPE: the module broken has no 'NOPE'"),
        ("TOOLS = 3\n", "broken:TOOLS", "broken:TOOLS must be a list of tools"),
    ],
)
def test_a_failing_tools_module_is_one_line(tmp_path, monkeypatch, capsys, module, spec, message):
    (tmp_path / "broken.py").write_text(module)
    (tmp_path / "r.json").write_text(json.dumps({"planner": PLAN, "joiner": FINISH}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "broken", raising=False)
    assert main(["ask", "q", "--tools", spec, "--model_type", "scripted", "--replies", "r.json"]) == 2
    assert message in one_line(capsys.readouterr().err)
    sys.modules.pop("broken", None)


# -- item 20: modules in the current directory, as `python -m` finds them ---------------------

LANGCHAIN_MODULE = '''
from llmcompiler.llm import ScriptedModel

def reply(messages):
    if messages[0].content.startswith("You plan how to answer"):
        return "1. double(4)\\n2. join()<END_OF_PLAN>"
    return "Action: Finish(8)"

def make():
    return ScriptedModel(reply, name="local-model")
'''


async def test_console_script_finds_tools_suites_and_models_in_the_cwd(tmp_path):
    # the console script has its own bin/ folder first on sys.path, not the cwd
    (tmp_path / "localtools.py").write_text(TOOLS_MODULE)
    (tmp_path / "localmodel.py").write_text(LANGCHAIN_MODULE)
    package = tmp_path / "localpkg" / "suite"
    package.mkdir(parents=True)
    (tmp_path / "localpkg" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "tools.py").write_text("from localtools import TOOLS\n")  # a sibling of the cwd, too
    model = ["--model_type", "langchain", "--model_name", "localmodel:make"]
    runs = await asyncio.gather(
        run(*entry_point(), "ask", "twice 4?", "--tools", "localtools:TOOLS", *model, cwd=tmp_path),
        run(*entry_point(), "ask", "twice 4?", "--config", "localpkg.suite", *model, cwd=tmp_path),
        run(*entry_point(), "ask", "twice 4?", "--config", "localpkg.suite", *model, cwd=tmp_path / "localpkg"),
    )
    for code, out, err in runs[:2]:
        assert code == 0, err
        assert out.strip() == "8"
    code, _, err = runs[2]  # elsewhere the same name is not found: the cwd is what is searched
    assert code == 2 and "cannot load the tool suite 'localpkg.suite'" in one_line(err)
