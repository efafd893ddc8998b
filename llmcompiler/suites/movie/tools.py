"""Tools of the movie recommendation suite: one Wikipedia search."""

SEARCH_DESCRIPTION = (
    "Looks up one film on Wikipedia and returns the first paragraph of its page, which "
    "usually gives the year, country, genre, director and main cast. Pass exactly one title "
    "as a string, copied from the question. Every film of the question and every option "
    "needs its own call; issue all of them at once so that they run at the same time."
)


def get_tools(context):
    """The suite's tools; `context.wikipedia()` is the run's shared Wikipedia client."""
    return [context.wikipedia().as_tool(name="search", description=SEARCH_DESCRIPTION)]
