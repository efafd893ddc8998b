"""Evaluation: benchmark datasets, answer scoring, result stores, reports.

    from llmcompiler.evaluation import load_dataset, ResultStore, summarize, format_summary

Nothing here imports ``llmcompiler.cli``, ``configs`` or ``benchmarks``.
"""

from llmcompiler.evaluation.datasets import (
    BENCHMARKS,
    DatasetError,
    DatasetSpec,
    cache_dir,
    dataset_path_for,
    load_dataset,
    validate_dataset,
)
from llmcompiler.evaluation.report import GroupStats, Summary, compare, format_summary, percentile, summarize
from llmcompiler.evaluation.scoring import compare_answer, is_number, normalize_answer
from llmcompiler.evaluation.store import ResultStore, StoreError, load_results
from llmcompiler.evaluation.suite import Suite, SuiteContext, load_suite

__all__ = [
    "BENCHMARKS",
    "DatasetError",
    "DatasetSpec",
    "GroupStats",
    "ResultStore",
    "StoreError",
    "Suite",
    "SuiteContext",
    "Summary",
    "cache_dir",
    "compare",
    "compare_answer",
    "dataset_path_for",
    "format_summary",
    "is_number",
    "load_dataset",
    "load_results",
    "load_suite",
    "normalize_answer",
    "percentile",
    "summarize",
    "validate_dataset",
]
