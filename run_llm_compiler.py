"""Run LLMCompiler or ReAct over a benchmark: `python run_llm_compiler.py --help`.

    python run_llm_compiler.py --benchmark_name hotpotqa --store results.json --stream
"""

import sys
from pathlib import Path

from llmcompiler.evaluation.bench import main

if __name__ == "__main__":
    sys.exit(main(configs_dir=Path(__file__).resolve().parent / "configs"))
