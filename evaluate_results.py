"""Score a benchmark results file, or compare two (the paper's entry point, kept).

    python evaluate_results.py --file results.json [--detail] [--k N]
    python evaluate_results.py --file compiler.json react.json

A thin wrapper around `llmcompiler evaluate`.
"""

import sys

from llmcompiler.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]], prog="evaluate_results.py"))
