"""Settings of the HotpotQA comparison benchmark (two entities, a yes/no or name answer)."""

CONFIGS = {
    "name": "hotpotqa",
    "dataset": "hotpotqa",
    "default_model": "gpt-3.5-turbo-1106",
    # One extra round is enough to retry a failed or ambiguous search.
    "max_replans": 1,
    # Two searches and an answer, with room for a few retries.
    "react_max_steps": 8,
    "description": "HotpotQA comparison questions: look both entities up on Wikipedia at once, then compare.",
}
