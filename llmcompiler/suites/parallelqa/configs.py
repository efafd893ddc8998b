"""Settings of the ParallelQA benchmark (look up several entities, then calculate)."""

CONFIGS = {
    "name": "parallelqa",
    "dataset": "parallelqa",
    "default_model": "gpt-3.5-turbo-1106",
    # Up to two extra rounds: a failed search, then a calculation that needed its result.
    "max_replans": 2,
    # Up to five searches, five calculations and a final one, plus the answer and spare steps.
    "react_max_steps": 16,
    "description": "ParallelQA: search every entity at once, run the independent calculations in parallel, then "
    "combine them.",
}
