"""Tools of the general suite: Wikipedia search and a math tool that asks the run's model."""

SEARCH_DESCRIPTION = (
    "Looks up one entity (a person, place, work, organisation, thing) on Wikipedia and "
    "returns the first paragraph of its page. One entity per call; independent lookups go "
    "out at the same time."
)

MATH_DESCRIPTION = (
    "Computes one calculation described in words. `problem` says what to compute; `context` "
    "is an optional list of strings with the numbers it needs, often earlier results such as "
    '["$1", "$2"]. Use it for every calculation.'
)


def get_tools(context):
    from llmcompiler.tools.math import make_math_tool

    search = context.wikipedia().as_tool(name="search", description=SEARCH_DESCRIPTION)
    return [search, make_math_tool(context.model, name="math", description=MATH_DESCRIPTION)]
