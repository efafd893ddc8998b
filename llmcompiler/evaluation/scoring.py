"""Answer scoring, with the rules of the paper's evaluation (``evaluate_results.py``).

Facts of the original (``src/utils/evaluation_utils.py`` of SqueezeAILab/LLMCompiler),
reproduced here so that accuracies stay comparable with the paper:

* **Normalisation** (the SQuAD/HotpotQA recipe), in this order: lower-case; delete every
  character of ``string.punctuation`` (ASCII punctuation only: ``"U.S."`` -> ``"us"``,
  ``"1,000"`` -> ``"1000"``, ``"don't"`` -> ``"dont"``; curly quotes and dashes outside ASCII
  stay); replace the whole words ``a``, ``an``, ``the`` (regex ``\\b(a|an|the)\\b``) by a
  space; collapse runs of whitespace to one space and strip the ends.
* **Is the label a number?** Exactly when Python's ``float(label)`` accepts it: ``"12"``,
  ``" 3.5 "``, ``"1e3"``, ``"1_000"``, ``"nan"``, ``"inf"`` are numbers; ``"1,000"``,
  ``"$5"``, ``"5 km"`` are not (they are compared as normalised text).
* **Numeric label**: the answer must itself pass ``float(answer)`` -- no normalisation, no
  unit or thousands-separator stripping, so answer ``"1,000"`` against label ``"1000"`` is
  wrong -- and lie strictly inside 10% of the label: ``0.9*label < answer < 1.1*label``
  (both ends excluded, evaluated in floating point exactly so: label ``"10"`` rejects
  ``"9"`` and ``"11"``, but label ``"100"`` accepts ``"110"`` because ``100*1.1`` is
  ``110.00000000000001``).
* **Text label**: correct iff the normalised answer equals the normalised label (exact
  match, no substring or F1 credit).
* An answer of ``None`` is wrong.

Deliberate differences, none of which changes a score on the three reference datasets
(their numeric labels are all positive):

* The tolerance is taken on ``abs(label)``: the original's interval is empty for a negative
  label (``0.9*label > 1.1*label``), so it could never be met.
* A label of exactly zero, or an infinite one, is matched by an equal answer (the original's
  open interval around 0 is empty as well).
* Robustness: a ``None`` label is wrong rather than a crash; non-string answers and labels
  are compared through ``str()`` (numbers, e.g. ``42``, still go through ``float``); a
  boolean answer is never a number.
"""

from __future__ import annotations

import math
import re
import string
from typing import Any

__all__ = ["NUMERIC_TOLERANCE", "compare_answer", "is_number", "normalize_answer"]

NUMERIC_TOLERANCE = 0.10
_LOW, _HIGH = 0.9, 1.1  # the original's literals; computed factors could differ in the last bit

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: Any) -> str:
    """Lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    text = text.lower().translate(_PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    try:
        return float(value)
    except (ValueError, OverflowError):
        return None


def is_number(value: Any) -> bool:
    """True when ``float(value)`` accepts it (the original's test for a numeric label)."""
    return _as_float(value) is not None


def compare_answer(answer: Any, label: Any) -> bool:
    """Whether the agent's ``answer`` counts as correct for the ground truth ``label``.

    Numeric labels accept answers strictly within 10% of them; other labels need the
    normalised answer to equal the normalised label (see the module docstring).
    """
    if answer is None or label is None:
        return False
    expected = _as_float(label)
    if expected is not None:
        got = _as_float(answer)
        if got is None or math.isnan(got) or math.isnan(expected):
            return False
        if got == expected:
            return True
        low, high = expected * _LOW, expected * _HIGH
        if expected < 0:
            low, high = high, low
        # Written as the original's ``label * 0.9 < answer < label * 1.1``, bit for bit.
        return low < got < high
    return normalize_answer(answer) == normalize_answer(label)
