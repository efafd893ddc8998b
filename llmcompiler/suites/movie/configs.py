"""Settings of the movie recommendation benchmark (pick the option most like four given films)."""

CONFIGS = {
    "name": "movie",
    "dataset": "movie",
    "default_model": "gpt-3.5-turbo-1106",
    # One extra round to retry a search that failed or found the wrong page.
    "max_replans": 1,
    # Eight searches (four films and four options) and an answer, with a few spare steps.
    "react_max_steps": 12,
    "description": "Movie recommendation: look up the four films and the four options at once, then pick the "
    "closest option.",
}
