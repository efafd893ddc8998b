"""Tools of the HotpotQA suite: one Wikipedia search."""

SEARCH_DESCRIPTION = (
    "Looks up one entity (a person, place, band, book, film, company, game...) on Wikipedia "
    "and returns the first paragraph of its page, which usually says what it is, where it "
    "comes from and its key dates. Pass the entity's name as one string, as it would appear "
    "as a page title; add a qualifier in parentheses, e.g. \"Mercury (planet)\", only when "
    "the bare name is ambiguous. One entity per call: give every entity of the question its "
    "own call so that all searches run at the same time."
)


def get_tools(context):
    """The suite's tools; `context.wikipedia()` is the run's shared Wikipedia client."""
    return [context.wikipedia().as_tool(name="search", description=SEARCH_DESCRIPTION)]
