"""`src.utils.evaluation_utils`: the answer normalisation and comparison, as scored here."""

from __future__ import annotations

from llmcompiler.evaluation.scoring import compare_answer, is_number, normalize_answer

__all__ = ["compare_answer", "is_number", "normalize_answer"]
