"""Score a benchmark results file, or compare two (the paper's entry point, kept).

    python evaluate_results.py --file results.json [--detail] [--k N]
    python evaluate_results.py --file compiler.json react.json

The logic lives in llmcompiler.evaluation (scoring, report, store).
"""

import sys

from llmcompiler.evaluation.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
