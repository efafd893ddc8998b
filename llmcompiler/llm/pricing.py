"""Dollar cost of model calls, from a table of prices per million tokens.

The table holds list prices published by the providers (USD per 1M input / output tokens)
for the models the paper and our users run; a model name matches its longest listed
prefix (`gpt-4o-2024-08-06` -> `gpt-4o`). Pass your own `prices` (same shape) to override
or extend it — self-hosted models have no list price, and their cost is reported as
unknown (None), never as zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llmcompiler.llm.base import Usage


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float


PRICES: dict[str, Price] = {
    # the paper's models (Nov 2023 list prices)
    "gpt-3.5-turbo-1106": Price(1.00, 2.00),
    "gpt-4-1106-preview": Price(10.00, 30.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-4": Price(30.00, 60.00),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "o3-mini": Price(1.10, 4.40),
}


def price_for(model: str, prices: Mapping[str, Price] | None = None) -> Price | None:
    """The price of `model`: an exact entry, else the longest matching prefix, else None."""
    table = {**PRICES, **(prices or {})}
    if model in table:
        return table[model]
    matches = [name for name in table if model.startswith(name)]
    return table[max(matches, key=len)] if matches else None


def cost(usage: Usage, model: str, prices: Mapping[str, Price] | None = None) -> float | None:
    price = price_for(model, prices)
    if price is None:
        return None
    return (usage.input_tokens * price.input_per_million + usage.output_tokens * price.output_per_million) / 1_000_000
