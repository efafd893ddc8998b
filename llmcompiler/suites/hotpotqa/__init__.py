"""The hotpotqa benchmark suite (HotpotQA comparison questions: two searches at once, then join).

`llmcompiler bench --benchmark_name hotpotqa` loads it.
"""
