"""Command-line conventions every command keeps: `--long_flag` and `--long-flag` are one option
(shown once in --help), `--version`, help text on every option, and each command's usage
names it as a user types it."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import llmcompiler
from llmcompiler import cli
from llmcompiler._argparse import ArgumentParser
from llmcompiler.evaluation import bench, check, evaluate
from llmcompiler.memory import command as memory_command

ROOT = Path(__file__).resolve().parent.parent


def runtime_benchmark():
    spec = importlib.util.spec_from_file_location("_conventions_runtime_benchmark", ROOT / "benchmarks" / "runtime.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PARSERS = {
    "ask": cli._ask_parser,
    "trace": cli._trace_parser,
    "demo": cli._demo_parser,
    "serve": cli._serve_parser,
    "bench": lambda: bench.build_parser("llmcompiler bench"),
    "evaluate": lambda: evaluate.build_parser("llmcompiler evaluate"),
    "memory": lambda: memory_command._parser("llmcompiler memory"),
    "check-suite": check.build_parser,
    "bench runtime": lambda: runtime_benchmark().build_parser("llmcompiler bench runtime"),
    "python -m llmcompiler.demo": lambda: __import__("llmcompiler.demo", fromlist=["build_parser"]).build_parser(),
}


def walk(name: str, parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The parser and its subcommands' parsers."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, subparser in action.choices.items():
                yield from walk(f"{name} {sub}", subparser)


# Options of files this change did not own; the day they get help, strict xfail says to drop the mark.
AWAITING_HELP = {
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=AWAITING_HELP[name], strict=True))
        if name in AWAITING_HELP
        else name
        for name in PARSERS
    ],
)
def test_every_option_has_help(name):
    for where, parser in walk(name, PARSERS[name]()):
        missing = [
            "/".join(action.option_strings) or action.dest
            for action in parser._actions
            if not isinstance(action, argparse._SubParsersAction) and not action.help
        ]
        assert missing == [], f"{where}: options without help"


@pytest.mark.parametrize("name", PARSERS)
def test_every_parser_is_the_project_one_with_version(name):
    for where, parser in walk(name, PARSERS[name]()):
        assert isinstance(parser, ArgumentParser), where
        assert "--version" in parser._option_string_actions, where


def flag_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="llmcompiler thing")
    parser.add_argument("--max_replans", type=int, default=None, help="replans")
    parser.add_argument("--dag-sizes", default=None, help="sizes")
    parser.add_argument("--model_name", default=None, help="name")
    parser.add_argument("--model_type", default=None, help="type")
    parser.add_argument("--no_png", action="store_true", help="no picture")
    parser.add_argument("rest", nargs="*", help="the rest")
    return parser


def test_dashes_and_underscores_spell_the_same_flag():
    parser = flag_parser()
    both = [
        ["--max_replans", "3", "--dag-sizes", "1", "--model_name=m", "--no_png"],
        ["--max-replans", "3", "--dag_sizes", "1", "--model-name=m", "--no-png"],
    ]
    for words in both:
        options = parser.parse_args(words)
        assert (options.max_replans, options.dag_sizes, options.model_name, options.no_png) == (3, "1", "m", True)
    # abbreviations too, when they name one option
    assert parser.parse_args(["--max-rep", "2"]).max_replans == 2
    # nothing after `--` is an option, whatever its spelling
    assert parser.parse_args(["--", "--max-replans"]).rest == ["--max-replans"]


def test_each_flag_is_shown_once_in_help(capsys):
    with pytest.raises(SystemExit) as done:
        flag_parser().parse_args(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.count("--max_replans") == 2  # usage and the option's line
    assert "--max-replans" not in text and "--dag_sizes" not in text


def test_a_wrong_flag_is_still_one_line(capsys):
    with pytest.raises(SystemExit) as done:
        flag_parser().parse_args(["--max-replans", "x"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--max_replans" in err and "(see llmcompiler thing --help)" in err


def test_the_real_commands_take_both_spellings():
    options = cli._ask_parser().parse_args(["q", "--max-replans", "1", "--model-type", "scripted"])
    assert options.max_replans == 1 and options.model_type == "scripted"
    options = runtime_benchmark().build_parser().parse_args(["--dag_sizes", "10", "--no_plots"])
    assert options.dag_sizes == [10] and options.no_plots
    assert bench.build_parser().parse_args(["--store", "s.json", "--benchmark-name", "movie"]).benchmark_name == "movie"


def console(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("llmcompiler")
    return subprocess.run([str(script), *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_version_at_the_top_and_on_each_command(capsys):
    expected = f"llmcompiler {llmcompiler.__version__}"
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == expected
    for command in ("ask", "trace", "demo", "serve", "bench", "evaluate", "check-suite", "memory", "bench runtime"):
        with pytest.raises(SystemExit) as done:
            cli.main([*command.split(), "--version"])
        assert done.value.code == 0, command
        assert capsys.readouterr().out.strip() == expected, command
    done = console("--version")
    assert done.returncode == 0 and done.stdout.strip() == expected


def test_bench_runtime_help_names_the_command():
    done = console("bench", "runtime", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: llmcompiler bench runtime ")


def test_top_level_help_lists_check_suite_and_version(capsys):
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "check-suite PATH" in text and "--version" in text and "--long-flag" in text
