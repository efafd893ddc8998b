"""Tools of the ParallelQA suite: a Wikipedia search and a math tool that calls the model."""

SEARCH_DESCRIPTION = (
    "Looks up one entity (a lake, island, planet, building, river, country...) on Wikipedia "
    "and returns the first paragraph of its page, which often states its key figures: size, "
    "height, depth, length or population. Pass one name as a string; add a qualifier in "
    "parentheses, e.g. \"Mercury (planet)\", only when the bare name is ambiguous. Give every "
    "entity of the question its own call so that all searches run at the same time, and "
    "hand the results to math instead of reading numbers out of them yourself."
)

MATH_DESCRIPTION = (
    "Solves one calculation stated in words, e.g. \"the depth increased by 15%\", \"the "
    "ratio of the first area to the second\" or \"the largest of $6, $7 and $8\". `problem` "
    "is the calculation; `context` is an optional list of strings holding the numbers it "
    "needs, usually earlier results such as [\"$1\", \"$2\"] (whole search results are fine: "
    "the relevant figure is picked out of them). Returns the result of the calculation. Use "
    "math for every calculation, however simple, and never compute anything yourself. One "
    "calculation per call: independent calculations get their own calls, so they run in "
    "parallel, and a later call combines their results."
)


def get_tools(context):
    """The suite's tools; `context.wikipedia()` is the run's shared Wikipedia client and
    `context.model` the model the math tool asks."""
    from llmcompiler.tools.math import make_math_tool

    search = context.wikipedia().as_tool(name="search", description=SEARCH_DESCRIPTION)
    math = make_math_tool(context.model, name="math", description=MATH_DESCRIPTION)
    return [search, math]
