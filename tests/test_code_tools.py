"""The `python` and `code` tools and the code suite, on real interpreter processes (and one real kernel test).

Models are `ScriptedModel`s: their replies are the code; the code itself really runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmcompiler.agents import LLMCompiler
from llmcompiler.code.executor import InterpreterConfig
from llmcompiler.code.tools import Interpreter, extract_code
from llmcompiler.evaluation import SuiteContext, load_suite
from llmcompiler.exceptions import ConfigurationError, InterpreterError, ToolError, WorkspaceError
from llmcompiler.llm import ScriptedModel
from llmcompiler.plan import PlanParser

SUBPROCESS = InterpreterConfig(backend="subprocess", timeout=30)


def block(code: str) -> str:
    return f"Here it is.\n```python\n{code}\n```\n"


@pytest.fixture
async def interpreter(tmp_path: Path):
    async with Interpreter(config=SUBPROCESS, workspace=tmp_path / "ws") as running:
        yield running


# -- code(task, context) ----------------------------------------------------------------------


async def test_a_traceback_goes_back_to_the_model_and_its_next_try_works(interpreter: Interpreter, tmp_path: Path):
    source = tmp_path / "numbers.csv"
    source.write_text("n\n3\n4\n")
    interpreter.add_files([source])
    model = ScriptedModel(
        [
            block("import csv\nrows = list(csv.DictReader(open('numbers.csv')))\nprint(sum(int(r['N']) for r in rows))"),
            block("import csv\nrows = list(csv.DictReader(open('numbers.csv')))\nprint('Sum:', sum(int(r['n']) for r in rows))"),
        ]
    )
    code = interpreter.code_tool(model)
    observation = await code.func("add up column n of numbers.csv", context=["the column is named n"])

    assert observation.startswith("Sum: 7\n")
    assert "Code (worked on try 2):\n```python\nimport csv" in observation and "r['n']" in observation
    first, second = model.calls
    assert "numbers.csv (6 bytes), first lines:" in first[0].content  # the workspace listing
    assert "Task: add up column n of numbers.csv" in first[1].content and "the column is named n" in first[1].content
    retry = second[-1].content
    assert second[-2].role == "assistant" and "r['N']" in second[-2].content
    assert "KeyError: 'N'" in retry and 'File "<cell' in retry


async def test_the_task_fails_after_max_attempts_with_the_last_traceback(interpreter: Interpreter):
    model = ScriptedModel(["No code, sorry.", block("raise ValueError('still wrong')")])
    code = interpreter.code_tool(model, max_attempts=2)
    with pytest.raises(ToolError) as failure:
        await code.func("anything")
    message = str(failure.value)
    assert message.startswith("the task failed after 2 tries; last attempt 2: the code raised an exception")
    assert "ValueError: still wrong" in message and "raise ValueError('still wrong')" in message
    assert len(model.calls) == 2
    assert "no ```python block" in model.calls[1][-1].content  # the first reply's feedback
    with pytest.raises(ConfigurationError, match="max_attempts must be a whole number >= 1"):
        interpreter.code_tool(model, max_attempts=0)


async def test_created_files_are_listed_in_the_observation_and_by_the_interpreter(interpreter: Interpreter):
    model = ScriptedModel([block("import os\nos.makedirs('out')\nopen('out/report.txt', 'w').write('x')\nprint('done')")])
    observation = await interpreter.code_tool(model).func("write a report")
    assert "done\ncreated file: out/report.txt\nCode:" in observation
    assert interpreter.created_files() == (interpreter.root / "out" / "report.txt",)


async def test_two_code_tasks_of_one_plan_run_at_the_same_time(interpreter: Interpreter):
    # each cell waits for the other's marker file: both finish only if they run at once
    def waiting(me: str, other: str) -> str:
        return block(
            "import pathlib, time\n"
            f"pathlib.Path('{me}.started').write_text('1')\n"
            "deadline = time.monotonic() + 20\n"
            f"while not pathlib.Path('{other}.started').exists():\n"
            "    if time.monotonic() > deadline:\n"
            f"        raise SystemExit('{other} never started')\n"
            "    time.sleep(0.01)\n"
            f"print('{me} saw {other}')"
        )

    def programmer(messages):
        return waiting("a", "b") if "task a" in messages[1].content else waiting("b", "a")

    plan = '1. code("task a")\n2. code("task b")\n3. join()<END_OF_PLAN>'
    compiler = LLMCompiler(
        tools=[interpreter.python_tool(), interpreter.code_tool(ScriptedModel(programmer))],
        planner=ScriptedModel([plan]),
        joiner=ScriptedModel(["Thought: both ran.\nAction: Finish(ok)"]),
        max_replans=0,
    )
    result = await compiler.ainvoke("run both")
    assert result.error is None and result.answer == "ok"
    one, two = result.tasks[:2]
    assert one.observation.startswith("a saw b") and two.observation.startswith("b saw a")
    # (files are what changed in the shared folder while a cell ran: a.started may show under $2 too)
    assert "created file: a.started" in one.observation and "created file: b.started" in two.observation
    assert one.started_at < two.finished_at and two.started_at < one.finished_at
    assert [p.name for p in interpreter.created_files()] == ["a.started", "b.started"]


def test_extract_code_takes_the_last_python_block():
    assert extract_code("```python\nprint(1)\n```\nor better\n```py\nprint(2)\n```") == "print(2)\n"
    assert extract_code("```\nprint(3)\n```") == "print(3)\n"
    assert extract_code("```python\nprint(4)") == "print(4)\n"  # cut before its closing fence
    assert extract_code("print(5)") is None and extract_code("```python\n\n```") is None


# -- python(code) -----------------------------------------------------------------------------


async def test_python_fails_the_task_with_the_traceback_and_says_it_keeps_no_state(interpreter: Interpreter):
    python = interpreter.python_tool()
    assert "NO state is kept between python() calls" in python.description
    assert await python.func("open('a.txt', 'w').write('1')\nprint(6 * 7)") == "42\ncreated file: a.txt"
    with pytest.raises(ToolError) as failure:
        await python.func("x = 1\n1 / 0")
    assert str(failure.value).startswith("the code raised an exception\nTraceback")
    assert "ZeroDivisionError: division by zero" in str(failure.value)
    with pytest.raises(ToolError, match="timed out"):
        await interpreter.python_tool(timeout=0.5).func("while True: pass")


async def test_workspace_names_stay_inside_and_added_files_are_not_created_files(interpreter: Interpreter, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    [copy] = interpreter.add_files([tmp_path / "data" / ".." / "data" / "a.csv"])
    assert copy == interpreter.root / "a.csv"
    interpreter.add_text("stdin.txt", "piped")
    assert interpreter.created_files() == ()
    with pytest.raises(WorkspaceError, match="leaves the workspace"):
        interpreter.add_text("../escape.txt", "no")
    with pytest.raises(WorkspaceError, match="no such file"):
        interpreter.add_files([tmp_path / "missing.csv"])
    assert not (tmp_path / "escape.txt").exists()


# -- the code suite ---------------------------------------------------------------------------


async def test_the_code_suite_loads_by_name_its_examples_parse_and_the_context_closes_it(tmp_path: Path):
    suite = load_suite("code")
    assert suite.name == "code" and load_suite(Path(__file__).parent.parent / "configs" / "code").name == "code"
    planner_examples, joiner_examples = suite.prompts()
    assert "Action: Replan(" in joiner_examples and suite.react_examples()
    parsed = 0
    for example in planner_examples.split("###"):
        lines = [line for line in example.strip().splitlines() if line[:1].isdigit() or line.startswith("Thought:")]
        if lines:
            parser = PlanParser(["code", "python"])
            tasks = parser.feed("\n".join(lines) + "\n") + parser.close()
            assert tasks and all(t.error is None for t in tasks) and tasks[-1].is_join, example
            parsed += 1
    assert parsed == 4 and "$1" in planner_examples

    context = SuiteContext(model=ScriptedModel([]), interpreter_config=SUBPROCESS, workspace=tmp_path / "ws")
    tools = suite.tools(context)
    assert [t.name for t in tools] == ["python", "code"] and context.interpreter().root == (tmp_path / "ws").resolve()
    await context.aclose()
    with pytest.raises(InterpreterError, match="closed"):
        await tools[0].func("print(1)")


@pytest.mark.timeout(120)
async def test_on_jupyter_python_keeps_state_and_code_tasks_get_kernels_of_their_own(tmp_path: Path):
    def programmer(messages):
        name = "first" if "first" in messages[1].content else "second"
        return block(f"import os\nprint('{name}', os.getpid(), 'state' in dir())")

    async with Interpreter(config=InterpreterConfig(timeout=60), workspace=tmp_path / "ws") as interpreter:
        python = interpreter.python_tool()
        assert "shared by every python() call" in python.description and python.max_concurrency == 1
        assert await python.func("state = 41\nimport os\nos.getpid()") != ""
        shared = await python.func("print(state + 1, os.getpid())")
        code = interpreter.code_tool(ScriptedModel(programmer))
        first, second = await asyncio.gather(code.func("the first"), code.func("the second"))
    assert shared.split()[0] == "42"
    pids = {shared.split()[1], first.split()[1], second.split()[1]}
    assert len(pids) == 3  # the shared session and each code task: three kernels
    assert first.split()[2] == second.split()[2] == "False"  # a code task does not see the shared namespace
