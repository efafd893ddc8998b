"""The movie benchmark suite (movie recommendation: eight searches at once, then join).

`llmcompiler bench --benchmark_name movie` loads it.
"""
