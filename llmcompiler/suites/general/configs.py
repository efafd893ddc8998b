"""Settings of the general suite."""

CONFIGS = {
    "name": "general",
    "dataset": None,
    "default_model": "gpt-4o-mini",
    "max_replans": 2,
    "react_max_steps": 10,
    "description": "Open questions answered with Wikipedia lookups and arithmetic.",
}
