"""Settings of the code suite."""

CONFIGS = {
    "name": "code",
    "dataset": None,
    "default_model": "gpt-4o-mini",
    # a failed code task (after its own retries) gets one new plan, and one more for what that needed
    "max_replans": 2,
    "react_max_steps": 10,
    "description": "Questions answered by writing and running Python: files in, files out, independent code tasks "
    "in parallel.",
}
