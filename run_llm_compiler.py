"""Run LLMCompiler or ReAct over a benchmark: `python run_llm_compiler.py --help`.

    python run_llm_compiler.py --benchmark_name hotpotqa --store results.json --stream

A thin wrapper around `llmcompiler bench`.
"""

import sys

from llmcompiler.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]], prog="run_llm_compiler.py"))
