"""The parallelqa benchmark suite (ParallelQA: parallel searches, one math per search, a final math).

`llmcompiler bench --benchmark_name parallelqa` loads it.
"""
